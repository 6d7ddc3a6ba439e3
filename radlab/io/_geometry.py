"""Conversion between SimpleITK images and radlab's xarray image convention.

radlab images are ``xarray.DataArray`` objects with dims ``("z", "y", "x")``.
Coordinates are physical positions in millimetres along each index axis
(``origin + index * spacing`` in the image's own frame), and the attrs carry the
full ITK geometry in ITK (x, y, z) order so an image can always be rebuilt
exactly:

``spacing``   (sx, sy, sz) in mm
``origin``    (ox, oy, oz) in mm
``direction`` 9 direction cosines, row-major, as SimpleITK gives them
``source``    the file (or folder) the voxels come from, when read from disk
"""

from __future__ import annotations

from typing import Any

import numpy as np
import SimpleITK as sitk
import xarray as xr

__all__ = ["from_sitk", "to_sitk", "geometry_attrs", "coords_from_geometry", "same_geometry"]


def coords_from_geometry(size_xyz, spacing, origin) -> dict[str, np.ndarray]:
    """Physical coordinates (mm) of each index along z, y and x."""
    sx, sy, sz = (int(s) for s in size_xyz)
    return {
        "z": origin[2] + spacing[2] * np.arange(sz),
        "y": origin[1] + spacing[1] * np.arange(sy),
        "x": origin[0] + spacing[0] * np.arange(sx),
    }


def geometry_attrs(image: sitk.Image | sitk.ImageFileReader) -> dict[str, Any]:
    """Geometry of a SimpleITK image (or a reader after ``ReadImageInformation``)."""
    return {
        "spacing": tuple(float(v) for v in image.GetSpacing()),
        "origin": tuple(float(v) for v in image.GetOrigin()),
        "direction": tuple(float(v) for v in image.GetDirection()),
    }


def from_sitk(image: sitk.Image, *, name: str | None = None, **attrs: Any) -> xr.DataArray:
    """Wrap a 3-D SimpleITK image as a DataArray with physical coordinates.

    Examples
    --------
    >>> import SimpleITK as sitk
    >>> img = sitk.Image(4, 3, 2, sitk.sitkInt16)
    >>> img.SetSpacing((0.5, 0.5, 3.0))
    >>> da = from_sitk(img, name="T2w")
    >>> da.dims, da.shape, da.attrs["spacing"]
    (('z', 'y', 'x'), (2, 3, 4), (0.5, 0.5, 3.0))
    >>> float(da.z[1])
    3.0
    """
    if image.GetDimension() != 3:
        raise ValueError(f"radlab images are 3-D; got a {image.GetDimension()}-D image ({name or 'unnamed'}).")
    geo = geometry_attrs(image)
    coords = coords_from_geometry(image.GetSize(), geo["spacing"], geo["origin"])
    return xr.DataArray(
        sitk.GetArrayFromImage(image), dims=("z", "y", "x"), coords=coords, name=name, attrs={**geo, **attrs}
    )


def to_sitk(da: xr.DataArray) -> sitk.Image:
    """Rebuild a SimpleITK image from a radlab DataArray (computes it if lazy).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> da = xr.DataArray(np.zeros((2, 3, 4), np.float32), dims=("z", "y", "x"),
    ...                   attrs={"spacing": (1.0, 1.0, 2.5), "origin": (0.0, 0.0, 0.0),
    ...                          "direction": (1, 0, 0, 0, 1, 0, 0, 0, 1)})
    >>> to_sitk(da).GetSize(), to_sitk(da).GetSpacing()
    ((4, 3, 2), (1.0, 1.0, 2.5))
    """
    if tuple(da.dims) != ("z", "y", "x"):
        raise ValueError(f"The 'da' parameter must have dims ('z', 'y', 'x'). Got {tuple(da.dims)} instead.")
    missing = [k for k in ("spacing", "origin", "direction") if k not in da.attrs]
    if missing:
        raise ValueError(f"The 'da' parameter must carry geometry attrs; {missing} missing on {da.name!r}.")
    image = sitk.GetImageFromArray(np.asarray(da.values))
    image.SetSpacing(tuple(float(v) for v in da.attrs["spacing"]))
    image.SetOrigin(tuple(float(v) for v in da.attrs["origin"]))
    image.SetDirection(tuple(float(v) for v in da.attrs["direction"]))
    return image


def same_geometry(a: dict[str, Any], b: dict[str, Any], *, shape_a=None, shape_b=None, atol: float = 1e-3) -> list[str]:
    """Differences between two geometries (attrs dicts); an empty list means they agree.

    ``atol`` is in mm for spacing and origin and unitless for direction cosines.
    """
    if all(tuple(a[k]) == tuple(b[k]) for k in ("spacing", "origin", "direction")) and (
            shape_a is None or shape_b is None or tuple(shape_a) == tuple(shape_b)):
        return []  # identical: the common case, decided without numpy
    problems = []
    if shape_a is not None and shape_b is not None and tuple(shape_a) != tuple(shape_b):
        problems.append(f"size {tuple(shape_a)} != {tuple(shape_b)}")
    for key in ("spacing", "origin", "direction"):
        va, vb = np.asarray(a[key], float), np.asarray(b[key], float)
        if va.shape != vb.shape or not np.allclose(va, vb, atol=atol, rtol=0):
            problems.append(f"{key} {[round(float(v), 4) for v in va]} != {[round(float(v), 4) for v in vb]}")
    return problems
