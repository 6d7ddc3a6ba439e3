"""Cohort-level versions of the image functions: ``preprocess(cohort, func, **params)`` gives a cohort whose
cases apply ``func`` lazily (one dask task per variable, run when computed)."""

from __future__ import annotations

from collections.abc import Callable

import dask
import dask.array as da
import numpy as np
import xarray as xr

from radlab.preprocessing._resample import resampled_shape

__all__ = ["PreprocessedCohort", "preprocess"]

_GRID_KEEPING = {"n4_correct", "window", "discretise"}


class PreprocessedCohort:
    """A cohort view: same ids and clinical table; ``case(id)`` applies the step to its image variables
    (``roles=("image",)``) lazily. Masks follow resampling with nearest-neighbour interpolation."""

    def __init__(self, cohort, func: Callable, params: dict, variables=None):
        name = getattr(func, "__name__", "")
        if name not in _GRID_KEEPING | {"resample"}:
            raise ValueError(f"The 'func' parameter of preprocess must be one of resample, {', '.join(sorted(_GRID_KEEPING))}. "
                             f"Got {name!r} instead.")
        self.cohort, self.func, self.params, self.variables = cohort, func, params, variables

    def __getattr__(self, name):  # ids, clinical, outcomes, batch, ... come from the wrapped cohort
        return getattr(self.cohort, name)

    def __len__(self):
        return len(self.cohort)

    def case(self, case_id: str) -> xr.Dataset:
        ds = self.cohort.case(case_id)
        out = {}
        for var in ds.data_vars:
            arr = ds[var]
            role = arr.attrs.get("role")
            chosen = (role == "image") if self.variables is None else var in self.variables
            if chosen:
                out[var] = self._lazy(arr, self.func, self.params)
            elif role == "mask" and self.func.__name__ == "resample":
                out[var] = self._lazy(arr, self.func, {**self.params, "interpolator": "nearest"})
            else:
                out[var] = arr
        return _assemble(out, ds.attrs)

    @staticmethod
    def _lazy(arr: xr.DataArray, func, params) -> xr.DataArray:
        from radlab.preprocessing._provenance import with_provenance

        if func.__name__ == "resample":
            spacing = tuple(float(s) for s in (params.get("spacing", (1.0, 1.0, 1.0))))
            shape = resampled_shape(arr.shape, arr.attrs["spacing"], spacing)
            geo = {**arr.attrs, "spacing": spacing}
            dtype = arr.dtype if params.get("interpolator") == "nearest" else np.float32
        else:
            shape, geo, dtype = arr.shape, dict(arr.attrs), (np.int32 if func.__name__ == "discretise" else np.float32)

        def run(values, attrs, name):
            src = xr.DataArray(values, dims=("z", "y", "x"), attrs=attrs, name=name)
            return np.asarray(func(src, **params).values, dtype)

        task = dask.delayed(run, pure=True)(arr.data, dict(arr.attrs), arr.name)
        data = da.from_delayed(task, shape=shape, dtype=dtype)
        out = xr.DataArray(data, dims=("z", "y", "x"), attrs=geo, name=arr.name)
        return with_provenance(out, arr, func.__name__, **{k: v for k, v in params.items()})


def _assemble(variables: dict[str, xr.DataArray], attrs) -> xr.Dataset:
    """Variables on different grids get their own dims (as Cohort.case does)."""
    grids, out = [], {}
    for name, arr in variables.items():
        key = (arr.shape, tuple(arr.attrs.get("spacing", ())), tuple(arr.attrs.get("origin", ())))
        if key not in [g[0] for g in grids]:
            grids.append((key, ("z", "y", "x") if not grids else tuple(f"{d}_{name}" for d in "zyx")))
        dims = next(d for k, d in grids if k == key)
        out[name] = xr.Variable(dims, arr.data, attrs=arr.attrs)
    return xr.Dataset(out, attrs=attrs)


def preprocess(cohort, func: Callable, *, variables=None, **params) -> PreprocessedCohort:
    """Apply an image-level function (``resample``, ``n4_correct``, ``window``, ``discretise``) to every case
    of ``cohort`` lazily; the result works wherever a cohort does (e.g. :func:`radlab.features.extract`)."""
    return PreprocessedCohort(cohort, func, params, variables)
