"""Dense lazy grids (case, channel, z, y, x) from cohorts whose cases differ in shape and spacing.

A case that cannot go on the grid (unreadable header, mask off its image's grid, empty or unreadable ROI mask)
is left out and listed in ``grid.attrs["problems"]``; the others are kept.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor

import dask
import dask.array as da
import numpy as np
import SimpleITK as sitk
import xarray as xr

from radlab.errors import RadlabError

__all__ = ["to_grid"]

log = logging.getLogger(__name__)

_INTERPOLATORS = {"linear": sitk.sitkLinear, "bspline": sitk.sitkBSpline, "nearest": sitk.sitkNearestNeighbor}


def _sitk(array: np.ndarray, geometry: dict) -> sitk.Image:
    image = sitk.GetImageFromArray(np.asarray(array, dtype=np.float32))
    image.SetSpacing(geometry["spacing"]), image.SetOrigin(geometry["origin"]), image.SetDirection(geometry["direction"])
    return image


def _roi_box(roi: np.ndarray, geometry: dict) -> tuple[np.ndarray, np.ndarray] | None:
    """Physical (x, y, z) low and high corners of the bounding box of a mask's nonzero voxels; None if it is empty."""
    mask = _sitk(roi, geometry)
    stats = sitk.LabelShapeStatisticsImageFilter()
    stats.Execute(sitk.Cast(mask > 0, sitk.sitkUInt8))
    if not stats.HasLabel(1):
        return None
    x0, y0, z0, sx, sy, sz = stats.GetBoundingBox(1)
    lo = np.array(mask.TransformContinuousIndexToPhysicalPoint((x0 - 0.5, y0 - 0.5, z0 - 0.5)))
    hi = np.array(mask.TransformContinuousIndexToPhysicalPoint((x0 + sx - 0.5, y0 + sy - 0.5, z0 + sz - 0.5)))
    return np.minimum(lo, hi), np.maximum(lo, hi)


def _resample_case(arrays, geometries, box, *, spacing, shape, crop, margin, kinds, interpolation):
    """Resample one case's channels onto a common target grid centred on its ROI box (or image)."""
    if crop == "roi":
        low, high = box[0] - margin, box[1] + margin
    else:
        ref = _sitk(arrays[0], geometries[0])
        corners = [ref.TransformContinuousIndexToPhysicalPoint([(-0.5 if c == 0 else s - 0.5) for c, s in zip(idx, ref.GetSize())])
                   for idx in np.ndindex(2, 2, 2)]
        low, high = np.min(corners, axis=0), np.max(corners, axis=0)
    size_xyz = np.array(shape[::-1], float)
    centre = (low + high) / 2
    step = np.array(spacing[::-1], float) if spacing is not None else (high - low) / size_xyz
    origin = centre - step * (size_xyz - 1) / 2
    target = sitk.Image([int(s) for s in size_xyz], sitk.sitkFloat32)
    target.SetSpacing(tuple(float(s) for s in step)), target.SetOrigin(tuple(float(o) for o in origin))
    out = np.empty((len(arrays),) + tuple(shape), np.float32)
    for i, (array, geometry, kind) in enumerate(zip(arrays, geometries, kinds)):
        method = _INTERPOLATORS["nearest" if kind == "mask" else interpolation]
        out[i] = sitk.GetArrayFromImage(sitk.Resample(_sitk(array, geometry), target, sitk.Transform(), method, 0.0))
    return out


def to_grid(cohort, *, spacing=(1.0, 1.0, 1.0), shape=(32, 64, 64), crop: str | None = "roi", margin: float = 0.0,
            images: list[str] | None = None, mask: str | None = None, include_mask: bool = False,
            interpolation: str = "linear") -> xr.DataArray:
    """Resample every case onto a common grid: a lazy ``DataArray`` (case, channel, z, y, x).

    Parameters
    ----------
    cohort : Cohort
    spacing : (dz, dy, dx) in mm, or None
        Target voxel size. With ``None`` (and ``crop="roi"``) the ROI box plus ``margin`` is resized to
        ``shape``, so each case gets its own spacing (the "crop and resize" recipe).
    shape : (nz, ny, nx)
    crop : "roi" or None
        "roi" centres the grid on the bounding box of ``mask``; None centres it on the image.
    margin : float
        mm added around the ROI box (used when ``spacing`` is None).
    images : image variables to stack as channels (default: all images of the cohort; for a mask-only cohort, mask
        variables, resampled nearest-neighbour).
    mask : the mask variable giving the ROI (default: the cohort's first mask).
    include_mask : add the ROI mask (nearest-neighbour) as a last channel.
    interpolation : "linear" or "bspline" for images; masks always use nearest neighbour.

    With ``crop="roi"`` each case's ROI mask is read now (in threads) to find its box: the case axis is fixed
    here, so only a box found now lets an empty or unreadable mask leave its case out (found on compute, it could
    only fail the whole grid). The read moves from compute to here rather than adding one (the mask is read again
    on compute only as an ``include_mask`` channel); on the demo it is about 30 ms a case, half an image's read.
    Images are read only when the result is computed, each case one dask chunk. ``z, y, x`` coordinates are mm
    offsets from the grid centre when ``spacing`` is given (indices otherwise).

    A case that cannot go on the grid (an unreadable header, a mask off its image's grid, an empty or unreadable
    ROI mask) is left out, logged and listed in ``attrs["problems"]`` (records of case, file, problem); if no
    case is left, :class:`~radlab.cohort.CaseError`.
    """
    from radlab.cohort import PROBLEM_COLUMNS, CaseError

    if crop not in ("roi", None):
        raise ValueError(f"The 'crop' parameter of to_grid must be 'roi' or None. Got {crop!r} instead.")
    if spacing is None and crop != "roi":
        raise ValueError("The 'spacing' parameter of to_grid may be None only with crop='roi'.")
    if interpolation not in ("linear", "bspline"):
        raise ValueError(f"The 'interpolation' parameter of to_grid must be 'linear' or 'bspline'. Got {interpolation!r} instead.")
    if not cohort.ids:
        raise CaseError(f"cohort {cohort.name!r} has no cases to put on a grid")
    image_vars, mask_vars = cohort.images, cohort.masks  # each lists the cohort's cases: once, not per case
    images = list(images or image_vars)
    mask = mask or (mask_vars[0] if mask_vars else None)
    if crop == "roi" and mask is None:
        raise ValueError(f"cohort {cohort.name!r} has no mask to crop around; use crop=None")
    if not image_vars:  # a mask-only cohort: the channels are masks
        include_mask = include_mask or not images
    channels = images + ([mask] if include_mask else [])
    kinds = ["image" if v in image_vars else "mask" for v in images] + (["mask"] if include_mask else [])
    shape = tuple(int(s) for s in shape)
    datasets, problems = {}, []
    for case in cohort.ids:
        try:
            ds = cohort.case(case)
        except RadlabError as exc:
            problems.append((case, exc.file, f"{exc}: case left out"))
            continue
        missing = [v for v in channels + ([mask] if mask else []) if v not in ds]
        absent = [v for v in missing if v in mask_vars]  # optional masks this case lacks
        if absent and len(absent) == len(missing):
            problems.append((case, "", f"cohort {cohort.name!r}, case {case!r} has no mask {absent[0]!r} (an optional "
                                       "mask absent for this case): case left out"))
            continue
        if missing:
            raise KeyError(f"cohort {cohort.name!r}, case {case!r} has no variables {missing} (has {list(ds.data_vars)})")
        datasets[case] = ds
    boxes = {}
    if crop == "roi":
        with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
            found = list(pool.map(lambda case: _case_box(cohort.name, case, datasets[case], mask), datasets))
        for case, (box, problem) in zip(list(datasets), found):
            if problem is None:
                boxes[case] = box
            else:
                problems.append((case, *problem))
                del datasets[case]
    for case, file, problem in problems:
        log.warning("to_grid: %s (%s)", problem, file)
    if not datasets:
        first = f"; first: {problems[0][2]}" if problems else ""
        raise CaseError(f"cohort {cohort.name!r}: no case can go on the grid ({len(problems)} left out{first})",
                        file=problems[0][1] if problems else "")
    blocks = []
    for case, ds in datasets.items():
        geo = lambda v: {k: ds[v].attrs[k] for k in ("spacing", "origin", "direction")}  # noqa: E731
        block = dask.delayed(_resample_case, pure=True)(
            [ds[v].data for v in channels], [geo(v) for v in channels], boxes.get(case),
            spacing=spacing, shape=shape, crop=crop, margin=margin, kinds=kinds, interpolation=interpolation)
        blocks.append(da.from_delayed(block, shape=(len(channels),) + shape, dtype=np.float32))
    if spacing is not None:
        coords = {d: (np.arange(n) - (n - 1) / 2) * s for d, n, s in zip("zyx", shape, spacing)}
    else:
        coords = {d: np.arange(n) for d, n in zip("zyx", shape)}
    return xr.DataArray(
        da.stack(blocks), dims=("case", "channel", "z", "y", "x"),
        coords={"case": list(datasets), "channel": channels, **coords},
        attrs={"cohort": cohort.name, "spacing_zyx": spacing if spacing is not None else "per case (crop and resize)",
               "crop": str(crop), "margin": margin, "roi": str(mask), "interpolation": interpolation,
               "problems": [dict(zip(PROBLEM_COLUMNS, p)) for p in problems]},
        name=f"{cohort.name}-grid",
    )


def _case_box(cohort: str, case: str, ds: xr.Dataset, mask: str):
    """(ROI box, None) for one case, or (None, (file, problem)) when its mask cannot be read or is empty."""
    source = ds[mask].attrs.get("source", "")
    try:
        roi = np.asarray(ds[mask].compute(scheduler="synchronous").values)
    except RadlabError as exc:
        return None, (exc.file or source, f"{exc}: case left out")
    except Exception as exc:  # a library's surprise on a damaged file: this case only
        return None, (source, f"cohort {cohort!r}, case {case!r}: unexpected {type(exc).__name__} reading mask "
                              f"{mask!r}: {exc}: case left out")
    box = _roi_box(roi, {k: ds[mask].attrs[k] for k in ("spacing", "origin", "direction")})
    if box is None:
        return None, (source, f"cohort {cohort!r}, case {case!r}: ROI mask {mask!r} is empty, so there is nothing to "
                              "crop around: case left out")
    return box, None
