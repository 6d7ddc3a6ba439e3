"""Crops around the ROI: bounding box with a margin, fixed-size slice stacks, per-slice VOI datasets."""

from __future__ import annotations

import numpy as np
import xarray as xr

from radlab.preprocessing._provenance import with_provenance

__all__ = ["crop_to_roi", "roi_stack", "voi_slices"]


def _bbox(mask: xr.DataArray, margin_vox=(0, 0, 0)) -> tuple[slice, slice, slice]:
    idx = np.argwhere(np.asarray(mask.values) > 0)
    if not len(idx):
        raise ValueError(f"The 'mask' parameter is empty (no voxel > 0) ({mask.attrs.get('source', mask.name)}).")
    lo, hi = idx.min(0), idx.max(0) + 1
    return tuple(slice(max(0, int(a - m)), min(n, int(b + m))) for a, b, m, n in zip(lo, hi, margin_vox, mask.shape))


def crop_to_roi(image: xr.DataArray, mask: xr.DataArray, *, margin: float = 0.0) -> xr.DataArray:
    """The ROI bounding box plus ``margin`` mm on each side (origin moved accordingly).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> geo = {"spacing": (1.0, 1.0, 2.0), "origin": (0.0, 0.0, 0.0), "direction": (1, 0, 0, 0, 1, 0, 0, 0, 1)}
    >>> m = xr.DataArray(np.zeros((5, 10, 10), np.uint8), dims=("z", "y", "x"), attrs=geo)
    >>> m.values[2, 4:6, 3:5] = 1
    >>> out = crop_to_roi(m.astype(float), m, margin=1.0)
    >>> out.shape, out.attrs["origin"]
    ((3, 4, 4), (2.0, 3.0, 2.0))
    """
    sx, sy, sz = image.attrs["spacing"]
    margin_vox = [int(np.ceil(margin / s)) for s in (sz, sy, sx)]
    box = _bbox(mask, margin_vox)
    out = image[box]
    start = np.array([box[2].start, box[1].start, box[0].start], float)  # x y z
    direction = np.asarray(image.attrs["direction"], float).reshape(3, 3)
    origin = np.asarray(image.attrs["origin"], float) + direction @ (start * np.array([sx, sy, sz]))
    out = out.copy()
    out.attrs = {**image.attrs, "origin": tuple(float(v) for v in origin)}
    return with_provenance(out, out, "crop_to_roi", margin=margin)


def _resize2d(plane: np.ndarray, size, order: int) -> np.ndarray:
    from skimage.transform import resize

    return resize(plane, size, order=order, preserve_range=True, anti_aliasing=False, mode="edge")


def roi_stack(image: xr.DataArray, mask: xr.DataArray, *, size=(112, 112), depth: int = 20,
              margin: float = 0.0, order: int = 1) -> xr.DataArray:
    """Per-slice crop to the ROI box, each slice resized to ``size`` and stacked to ``depth`` slices (zero
    padding, or the central ``depth`` slices when the ROI is deeper) -> dims (slice, row, col)."""
    cropped = crop_to_roi(image, mask, margin=margin)
    planes = [_resize2d(np.asarray(p, float), size, order) for p in cropped.values]
    if len(planes) > depth:
        start = (len(planes) - depth) // 2
        planes = planes[start:start + depth]
    stack = np.zeros((depth, *size), np.float32)
    offset = (depth - len(planes)) // 2
    stack[offset:offset + len(planes)] = planes
    out = xr.DataArray(stack, dims=("slice", "row", "col"), attrs=dict(image.attrs))
    return with_provenance(out, image, "roi_stack", size=list(size), depth=depth, margin=margin)


def voi_slices(image: xr.DataArray, mask: xr.DataArray, *, size=(224, 224), case: str = "", margin: float = 0.0,
               min_voxels: int = 1, order: int = 1) -> xr.DataArray:
    """Every slice with at least ``min_voxels`` ROI voxels, cropped to the ROI box and resized to ``size``:
    dims (slice, row, col) with coords ``case`` (the same for every slice) and ``z`` (slice position)."""
    cropped, cmask = crop_to_roi(image, mask, margin=margin), crop_to_roi(mask, mask, margin=margin)
    keep = [i for i in range(cropped.shape[0]) if int((cmask.values[i] > 0).sum()) >= min_voxels]
    planes = np.stack([_resize2d(np.asarray(cropped.values[i], float), size, order) for i in keep]).astype(np.float32)
    out = xr.DataArray(planes, dims=("slice", "row", "col"),
                       coords={"case": ("slice", [case] * len(keep)), "z": ("slice", cropped.z.values[keep])},
                       attrs=dict(image.attrs))
    return with_provenance(out, image, "voi_slices", size=list(size), margin=margin, min_voxels=min_voxels)
