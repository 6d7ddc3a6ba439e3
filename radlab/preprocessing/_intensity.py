"""Intensity steps without learned state: N4 bias-field correction, CT windowing, discretisation, ADC."""

from __future__ import annotations

import numpy as np
import xarray as xr

from radlab.io._geometry import from_sitk, to_sitk
from radlab.preprocessing._provenance import with_provenance

__all__ = ["n4_correct", "window", "discretise", "adc"]


def n4_correct(image: xr.DataArray, mask: xr.DataArray | None = None, *, shrink: int = 2,
               iterations=(50, 50, 30), fitting_levels: int = 3) -> xr.DataArray:
    """N4 bias-field correction (SimpleITK) estimated on a shrunk image, applied at full resolution.

    ``mask`` restricts the estimate (default: Otsu foreground). It should cover the body: a small mask (e.g.
    the tumour) leaves the field unconstrained elsewhere and distorts the rest of the image.
    """
    import SimpleITK as sitk

    img = sitk.Cast(to_sitk(image), sitk.sitkFloat32)
    msk = sitk.OtsuThreshold(img, 0, 1, 200) if mask is None else sitk.Cast(to_sitk(mask) > 0, sitk.sitkUInt8)
    small, small_mask = sitk.Shrink(img, [shrink] * 3), sitk.Shrink(msk, [shrink] * 3)
    n4 = sitk.N4BiasFieldCorrectionImageFilter()
    n4.SetMaximumNumberOfIterations([int(i) for i in iterations][:fitting_levels])
    n4.Execute(small, small_mask)
    log_field = n4.GetLogBiasFieldAsImage(img)
    out = from_sitk(img / sitk.Exp(log_field))
    return with_provenance(out, image, "n4_correct", shrink=shrink, iterations=list(iterations)[:fitting_levels])


def window(image: xr.DataArray, *, width: float, level: float) -> xr.DataArray:
    """Clip to the window ``[level - width/2, level + width/2]`` (CT lung: width 1500, level -600).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> da = xr.DataArray(np.array([[[-2000.0, -600.0, 500.0]]]), dims=("z", "y", "x"))
    >>> window(da, width=1500, level=-600).values.ravel().tolist()
    [-1350.0, -600.0, 150.0]
    """
    lo, hi = level - width / 2, level + width / 2
    return with_provenance(image.clip(lo, hi), image, "window", width=width, level=level)


def discretise(image: xr.DataArray, mask: xr.DataArray | None = None, *, bin_width: float | None = None,
               bin_count: int | None = None) -> xr.DataArray:
    """Grey levels 1, 2, ... by fixed bin width (edges at multiples of the width, as pyradiomics) or fixed bin
    count (equal bins between the ROI minimum and maximum, IBSI FBN); 0 outside ``mask``.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> da = xr.DataArray(np.array([[[0.0, 24.0, 25.0, 99.0]]]), dims=("z", "y", "x"))
    >>> discretise(da, bin_width=25).values.ravel().tolist()
    [1, 1, 2, 4]
    >>> discretise(da, bin_count=2).values.ravel().tolist()
    [1, 1, 1, 2]
    """
    if (bin_width is None) == (bin_count is None):
        raise ValueError(f"discretise needs exactly one of 'bin_width' and 'bin_count'. Got bin_width={bin_width!r}, "
                         f"bin_count={bin_count!r} instead.")
    values = np.asarray(image.values, float)
    roi = np.ones(values.shape, bool) if mask is None else np.asarray(mask.values) > 0
    lo, hi = values[roi].min(), values[roi].max()
    if bin_width is not None:
        first = np.floor(lo / bin_width) * bin_width
        levels = np.floor((values - first) / bin_width).astype(int) + 1
        params = {"bin_width": bin_width}
    else:
        scaled = np.floor(bin_count * (values - lo) / (hi - lo)) if hi > lo else np.zeros_like(values)
        levels = np.clip(scaled, 0, bin_count - 1).astype(int) + 1
        params = {"bin_count": bin_count}
    out = image.copy(data=np.where(roi, levels, 0).astype(np.int32))
    return with_provenance(out, image, "discretise", **params)


def adc(images: dict[float, xr.DataArray], *, min_signal: float = 1e-6) -> xr.DataArray:
    """Apparent diffusion coefficient (mm2/s) by a log-linear least-squares fit of S(b) = S0 exp(-b ADC)
    over two or more b-values (s/mm2) on the same grid.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> s = {b: xr.DataArray(np.full((1, 1, 2), 1000 * np.exp(-b * 1.5e-3)), dims=("z", "y", "x")) for b in (0, 500, 1000)}
    >>> float(adc(s).values[0, 0, 0])
    0.0015
    """
    if len(images) < 2:
        raise ValueError(f"The 'images' parameter of adc needs at least two b-values. Got {sorted(images)} instead.")
    bvals = np.array(sorted(images), float)
    logs = np.stack([np.log(np.maximum(np.asarray(images[b].values, float), min_signal)) for b in bvals])
    bc = bvals - bvals.mean()
    slope = np.tensordot(bc, logs - logs.mean(axis=0), axes=1) / (bc**2).sum()
    first = images[bvals[0]]
    out = first.copy(data=np.round(-slope, 12))
    return with_provenance(out, first, "adc", b_values=bvals.tolist())
