"""Resampling to a target spacing (B-spline/linear for images, nearest neighbour for masks)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import xarray as xr

from radlab.io._geometry import from_sitk, to_sitk
from radlab.preprocessing._provenance import with_provenance

__all__ = ["resample", "resampled_shape", "modal_spacing"]

_INTERPOLATORS = ("bspline", "linear", "nearest")


def resampled_shape(shape_zyx, spacing_xyz, new_spacing_xyz) -> tuple[int, int, int]:
    """Grid size (z, y, x) after resampling the same physical extent to ``new_spacing_xyz``."""
    size_xyz = [max(1, int(round(n * s / t))) for n, s, t in zip(shape_zyx[::-1], spacing_xyz, new_spacing_xyz)]
    return tuple(size_xyz[::-1])


def resample(image: xr.DataArray, *, spacing=(1.0, 1.0, 1.0), interpolator: str = "bspline",
             default: float = 0.0) -> xr.DataArray:
    """Resample onto a grid of ``spacing`` (mm, x y z) covering the same extent, same origin and direction.

    Use ``interpolator="nearest"`` for masks (labels are kept).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> da = xr.DataArray(np.ones((4, 8, 8), np.float32), dims=("z", "y", "x"),
    ...                   attrs={"spacing": (0.5, 0.5, 2.0), "origin": (0, 0, 0), "direction": (1, 0, 0, 0, 1, 0, 0, 0, 1)})
    >>> out = resample(da, spacing=(1.0, 1.0, 1.0), interpolator="linear")
    >>> out.shape, out.attrs["spacing"], out.attrs["provenance"][0]["step"]
    ((8, 4, 4), (1.0, 1.0, 1.0), 'resample')
    """
    import SimpleITK as sitk

    if interpolator not in _INTERPOLATORS:
        raise ValueError(f"The 'interpolator' parameter of resample must be one of {_INTERPOLATORS}. Got {interpolator!r} instead.")
    spacing = tuple(float(s) for s in (spacing if np.ndim(spacing) else (spacing,) * 3))
    src = to_sitk(image)
    ref = sitk.Image([int(v) for v in resampled_shape(image.shape, image.attrs["spacing"], spacing)[::-1]], src.GetPixelID())
    ref.SetSpacing(spacing), ref.SetOrigin(src.GetOrigin()), ref.SetDirection(src.GetDirection())
    method = {"bspline": sitk.sitkBSpline, "linear": sitk.sitkLinear, "nearest": sitk.sitkNearestNeighbor}[interpolator]
    if interpolator != "nearest":
        src = sitk.Cast(src, sitk.sitkFloat32)
        ref = sitk.Cast(ref, sitk.sitkFloat32)
    out = from_sitk(sitk.Resample(src, ref, sitk.Transform(), method, float(default)))
    return with_provenance(out, image, "resample", spacing=spacing, interpolator=interpolator)


def modal_spacing(spacings) -> tuple[float, float, float]:
    """The most frequent spacing (x, y, z) of a cohort: a Cohort (reads headers) or spacing tuples.

    Examples
    --------
    >>> modal_spacing([(1, 1, 3), (0.5, 0.5, 3), (1, 1, 3)])
    (1.0, 1.0, 3.0)
    """
    if hasattr(spacings, "acquisition"):
        acq = spacings.acquisition()
        spacings = acq[["spacing_x", "spacing_y", "spacing_z"]].itertuples(index=False)
    counts = Counter(tuple(round(float(v), 4) for v in s) for s in spacings)
    return counts.most_common(1)[0][0]
