"""Torch datasets over lazy cohort grids and a per-sequence normaliser fitted on training cases."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
import xarray as xr
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["ChannelNormalizer", "SliceDataset", "BoxDataset"]

GRID_DIMS = ("case", "channel", "z", "y", "x")


def _check_grid(grid, name: str = "grid") -> xr.DataArray:
    if not isinstance(grid, xr.DataArray) or tuple(grid.dims) != GRID_DIMS:
        dims = getattr(grid, "dims", type(grid).__name__)
        raise ValueError(f"The '{name}' parameter must be an xarray.DataArray with dims {GRID_DIMS}. "
                         f"Got {dims!r} instead.")
    return grid


class ChannelNormalizer(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Z-score each channel (sequence) with a mean and SD fitted on training cases only.

    Works on a cohort grid ``DataArray`` (case, channel, z, y, x) -- lazily, nothing is computed until
    the result is -- and on any array whose axis 1 is the channel axis (2D arrays: one channel per column).

    Parameters
    ----------
    eps : float
        Added to the SD so that a constant channel does not divide by zero.

    Attributes
    ----------
    mean_, scale_ : ndarray of shape (n_channels,)
    n_features_in_ : int
        Number of channels.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 10.0], [2.0, 30.0]])
    >>> ChannelNormalizer().fit(X).transform(X).round(6)
    array([[-1., -1.],
           [ 1.,  1.]])
    """

    _parameter_constraints = {"eps": [float]}

    def __init__(self, eps: float = 1e-8):
        self.eps = eps

    def fit(self, X, y=None):
        self._validate_params()
        if isinstance(X, xr.DataArray):
            _check_grid(X, "X")
            other = [d for d in X.dims if d != "channel"]
            mean = X.mean(other).compute().values.astype(float)
            sd = X.std(other).compute().values.astype(float)
            self.n_features_in_ = X.sizes["channel"]
            self.channels_ = np.asarray(X["channel"].values) if "channel" in X.coords else None
        else:
            X = validate_data(self, X, allow_nd=True, ensure_min_samples=2)
            axes = tuple(a for a in range(X.ndim) if a != 1)
            mean, sd = X.mean(axis=axes), X.std(axis=axes)
        self.mean_ = mean
        self.scale_ = sd + self.eps
        return self

    def transform(self, X):
        check_is_fitted(self)
        if isinstance(X, xr.DataArray):
            _check_grid(X, "X")
            if X.sizes["channel"] != self.n_features_in_:
                raise ValueError(f"The 'X' parameter of ChannelNormalizer.transform must have "
                                 f"{self.n_features_in_} channels. Got {X.sizes['channel']} instead.")
            mean = xr.DataArray(self.mean_.astype(X.dtype), dims="channel")
            scale = xr.DataArray(self.scale_.astype(X.dtype), dims="channel")
            return ((X - mean) / scale).assign_attrs(X.attrs)
        X = validate_data(self, X, allow_nd=True, reset=False)
        shape = (1, -1) + (1,) * (X.ndim - 2)
        return (X - self.mean_.reshape(shape)) / self.scale_.reshape(shape)

    def transform_array(self, x: np.ndarray) -> np.ndarray:
        """Normalise one case's array (channel, ...) in numpy (used by the datasets)."""
        shape = (-1,) + (1,) * (x.ndim - 1)
        return ((x - self.mean_.reshape(shape)) / self.scale_.reshape(shape)).astype(np.float32)


class _GridDataset(torch.utils.data.Dataset):
    """Shared part: case selection, labels, per-case loading with a cache, normalisation."""

    def __init__(self, grid, labels=None, *, cases=None, normalizer=None, cache=True):
        self.grid = _check_grid(grid)
        all_cases = [str(c) for c in grid["case"].values]
        self.cases = list(all_cases if cases is None else [str(c) for c in cases])
        missing = sorted(set(self.cases) - set(all_cases))
        if missing:
            raise KeyError(f"The 'cases' parameter names cases not in the grid: {missing[:5]}")
        if labels is not None:
            labels = pd.Series(labels)
            labels.index = labels.index.astype(str)
            absent = [c for c in self.cases if c not in labels.index]
            if absent:
                raise KeyError(f"The 'labels' parameter has no label for cases {absent[:5]}")
            labels = labels.loc[self.cases].astype(float)
        self.labels = labels
        self.normalizer = normalizer
        self.cache = cache
        self._store: dict[str, np.ndarray] = {}

    def volume(self, case: str) -> np.ndarray:
        """The (normalised) array (channel, z, y, x) of one case."""
        if case in self._store:
            return self._store[case]
        x = np.asarray(self.grid.sel(case=case).values, dtype=np.float32)
        if self.normalizer is not None:
            x = self.normalizer.transform_array(x)
        if self.cache:
            self._store[case] = x
        return x

    def _label(self, case: str) -> torch.Tensor:
        return torch.tensor(np.nan if self.labels is None else self.labels[case], dtype=torch.float32)

    @property
    def case_labels(self) -> pd.Series:
        """Label per case (NaN without labels)."""
        if self.labels is None:
            return pd.Series(np.nan, index=self.cases)
        return self.labels


class BoxDataset(_GridDataset):
    """One item per case: the 3D box (channel, z, y, x) and its label.

    Parameters
    ----------
    grid : DataArray (case, channel, z, y, x)
        A cohort grid (lazy or in memory), e.g. ``cohort.to_grid(...)``.
    labels : Series indexed by case id, optional
    cases : case ids to use (default: all in the grid)
    normalizer : fitted ChannelNormalizer, optional
    cache : keep loaded cases in memory

    Attributes
    ----------
    items : DataFrame with the case of each item (``case``; ``z`` is -1 for boxes).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> grid = xr.DataArray(np.zeros((2, 1, 4, 8, 8), "float32"), dims=GRID_DIMS, coords={"case": ["a", "b"]})
    >>> x, y = BoxDataset(grid)[1]
    >>> tuple(x.shape)
    (1, 4, 8, 8)
    """

    dim = 3

    def __init__(self, grid, labels=None, *, cases=None, normalizer=None, cache=True):
        super().__init__(grid, labels, cases=cases, normalizer=normalizer, cache=cache)
        self.items = pd.DataFrame({"case": self.cases, "z": -1})

    def __len__(self) -> int:
        return len(self.cases)

    def __getitem__(self, i: int):
        case = self.cases[i]
        return torch.from_numpy(self.volume(case)), self._label(case)


class SliceDataset(_GridDataset):
    """One item per axial slice (channel, y, x); every slice keeps its case id in ``items``.

    Parameters
    ----------
    grid : DataArray (case, channel, z, y, x)
    labels : Series indexed by case id, optional
    cases : case ids to use (default: all in the grid)
    mask : DataArray (case, [channel,] z, y, x), optional
        When given, only slices with at least ``min_mask_voxels`` ROI voxels are used.
    min_mask_voxels : int
    normalizer : fitted ChannelNormalizer, optional
    cache : keep loaded cases in memory

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> grid = xr.DataArray(np.zeros((2, 1, 4, 8, 8), "float32"), dims=GRID_DIMS, coords={"case": ["a", "b"]})
    >>> ds = SliceDataset(grid)
    >>> len(ds), tuple(ds[5][0].shape), ds.items.case[5]
    (8, (1, 8, 8), 'b')
    """

    dim = 2

    def __init__(self, grid, labels=None, *, cases=None, mask=None, min_mask_voxels: int = 1, normalizer=None,
                 cache=True):
        super().__init__(grid, labels, cases=cases, normalizer=normalizer, cache=cache)
        rows = []
        for case in self.cases:
            if mask is None:
                zs = range(grid.sizes["z"])
            else:
                m = np.asarray(mask.sel(case=case).values) > 0
                m = m.reshape((-1,) + m.shape[-3:]).any(axis=0)
                zs = np.flatnonzero(m.sum(axis=(1, 2)) >= min_mask_voxels)
            rows += [(case, int(z)) for z in zs]
        self.items = pd.DataFrame(rows, columns=["case", "z"])

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        case, z = self.items.iloc[i]
        return torch.from_numpy(self.volume(case)[:, z]), self._label(case)


def make_dataset(grid, labels=None, *, dim: int, cases: Sequence[str] | None = None, mask=None,
                 normalizer=None):
    """A :class:`SliceDataset` (``dim=2``) or :class:`BoxDataset` (``dim=3``)."""
    if dim == 2:
        return SliceDataset(grid, labels, cases=cases, mask=mask, normalizer=normalizer)
    if dim == 3:
        return BoxDataset(grid, labels, cases=cases, normalizer=normalizer)
    raise ValueError(f"The 'dim' parameter must be 2 or 3. Got {dim!r} instead.")
