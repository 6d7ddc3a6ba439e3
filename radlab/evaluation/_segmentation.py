"""Segmentation agreement in millimetres: Dice, Jaccard, HD95, average surface distance, surface Dice.

Inputs are two masks of the same shape: numpy arrays (with ``spacing`` in ITK (x, y, z) order, the
radlab convention, i.e. reversed relative to the array axes (z, y, x)) or radlab DataArrays carrying
``attrs["spacing"]``. A voxel belongs to the object when ``mask == label`` (default: any non-zero).
Surfaces are the object voxels with a 6-connected (face) neighbour outside the object; distances are
Euclidean between surface-voxel centres, in mm (``scipy.ndimage.distance_transform_edt`` with the
voxel spacing). Empty masks: two empty masks agree perfectly (Dice 1, distances 0); one empty mask
gives Dice 0 and infinite distances.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

__all__ = [
    "dice", "jaccard", "hausdorff_distance", "average_surface_distance", "surface_dice", "segmentation_metrics",
    "pairwise_agreement",
]


def _mask(m, label, name, owner):
    spacing = None
    if hasattr(m, "attrs") and hasattr(m, "values"):
        spacing = m.attrs.get("spacing")
        m = m.values
    arr = np.asarray(m)
    if arr.ndim not in (2, 3):
        raise ValueError(f"The '{name}' parameter of {owner} must be a 2-D or 3-D mask. Got shape {arr.shape}.")
    return (arr != 0 if label is None else arr == label), spacing


def _pair(a, b, spacing, label, owner):
    ma, sa = _mask(a, label, "a", owner)
    mb, sb = _mask(b, label, "b", owner)
    if ma.shape != mb.shape:
        raise ValueError(f"The masks given to {owner} must have the same shape. Got {ma.shape} and {mb.shape}.")
    if spacing is None:
        if sa is not None and sb is not None and not np.allclose(sa, sb, atol=1e-3):
            raise ValueError(f"The masks given to {owner} have different spacing: {tuple(sa)} and {tuple(sb)}.")
        spacing = sa if sa is not None else sb
    if spacing is None:
        spacing = (1.0,) * ma.ndim
    spacing = np.asarray(spacing, float)
    if spacing.shape != (ma.ndim,) or (spacing <= 0).any():
        raise ValueError(f"The 'spacing' parameter of {owner} must be {ma.ndim} positive values in ITK (x, y, z) "
                         f"order. Got {tuple(spacing)} instead.")
    return ma, mb, spacing[::-1]  # array-axis order


def _surface(m):
    from scipy.ndimage import binary_erosion, generate_binary_structure

    return m & ~binary_erosion(m, structure=generate_binary_structure(m.ndim, 1), border_value=0)


def _surface_distances(ma, mb, sampling):
    """Distances (mm) from each surface voxel of a to b's surface, and from b's to a's."""
    from scipy.ndimage import distance_transform_edt

    sa, sb = _surface(ma), _surface(mb)
    d_ab = distance_transform_edt(~sb, sampling=sampling)[sa]
    d_ba = distance_transform_edt(~sa, sampling=sampling)[sb]
    return d_ab, d_ba


def dice(a, b, *, label=None) -> float:
    """Dice coefficient 2|A and B| / (|A| + |B|).

    Examples
    --------
    >>> import numpy as np
    >>> a = np.zeros((4, 4), int); a[:2] = 1; b = np.zeros((4, 4), int); b[1:3] = 1
    >>> dice(a, b)
    0.5
    """
    ma, mb, _ = _pair(a, b, None, label, "dice")
    total = ma.sum() + mb.sum()
    return 1.0 if total == 0 else float(2 * (ma & mb).sum() / total)


def jaccard(a, b, *, label=None) -> float:
    """Jaccard index |A and B| / |A or B|."""
    ma, mb, _ = _pair(a, b, None, label, "jaccard")
    union = (ma | mb).sum()
    return 1.0 if union == 0 else float((ma & mb).sum() / union)


def _distances_or_none(ma, mb, sampling):
    if not ma.any() and not mb.any():
        return 0.0
    if not ma.any() or not mb.any():
        return np.inf
    return _surface_distances(ma, mb, sampling)


def hausdorff_distance(a, b, *, spacing=None, percentile: float = 95, label=None) -> float:
    """Symmetric percentile Hausdorff distance (mm): max of the two directed ``percentile``-th surface distances.

    ``percentile=95`` gives HD95 (as MONAI / DeepMind surface-distance), 100 the classical Hausdorff distance.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.zeros((1, 10, 10), int); a[0, 2:5, 2:5] = 1; b = np.roll(a, 3, axis=2)
    >>> hausdorff_distance(a, b, spacing=(0.5, 1.0, 2.0), percentile=100)
    1.5
    """
    ma, mb, sampling = _pair(a, b, spacing, label, "hausdorff_distance")
    d = _distances_or_none(ma, mb, sampling)
    if np.isscalar(d):
        return float(d)
    return float(max(np.percentile(d[0], percentile), np.percentile(d[1], percentile)))


def average_surface_distance(a, b, *, spacing=None, label=None) -> float:
    """Average symmetric surface distance (mm): mean of all surface-to-surface distances in both directions."""
    ma, mb, sampling = _pair(a, b, spacing, label, "average_surface_distance")
    d = _distances_or_none(ma, mb, sampling)
    return float(d) if np.isscalar(d) else float(np.concatenate(d).mean())


def surface_dice(a, b, *, tolerance: float, spacing=None, label=None) -> float:
    """Surface Dice at ``tolerance`` mm (Nikolov et al. 2021): share of both surfaces within tolerance of
    the other, counted over surface voxels (not surface-element areas as in DeepMind's implementation)."""
    if tolerance < 0:
        raise ValueError(f"The 'tolerance' parameter of surface_dice must be >= 0. Got {tolerance} instead.")
    ma, mb, sampling = _pair(a, b, spacing, label, "surface_dice")
    d = _distances_or_none(ma, mb, sampling)
    if np.isscalar(d):
        return 1.0 if d == 0 else 0.0
    return float(((d[0] <= tolerance).sum() + (d[1] <= tolerance).sum()) / (len(d[0]) + len(d[1])))


def segmentation_metrics(a, b, *, spacing=None, tolerance: float = 1.0, label=None) -> dict:
    """All agreement metrics at once (surface distances computed once).

    Examples
    --------
    >>> import numpy as np
    >>> a = np.zeros((6, 6, 6), int); a[1:4, 1:4, 1:4] = 1
    >>> segmentation_metrics(a, a)["dice"], segmentation_metrics(a, a)["hd95"]
    (1.0, 0.0)
    """
    ma, mb, sampling = _pair(a, b, spacing, label, "segmentation_metrics")
    total, union = ma.sum() + mb.sum(), (ma | mb).sum()
    inter = (ma & mb).sum()
    out = {"dice": 1.0 if total == 0 else float(2 * inter / total),
           "jaccard": 1.0 if union == 0 else float(inter / union)}
    d = _distances_or_none(ma, mb, sampling)
    if np.isscalar(d):
        out.update(hd95=float(d), hausdorff=float(d), assd=float(d), surface_dice=1.0 if d == 0 else 0.0)
    else:
        out.update(hd95=float(max(np.percentile(d[0], 95), np.percentile(d[1], 95))),
                   hausdorff=float(max(d[0].max(), d[1].max())), assd=float(np.concatenate(d).mean()),
                   surface_dice=float(((d[0] <= tolerance).sum() + (d[1] <= tolerance).sum())
                                      / (len(d[0]) + len(d[1]))))
    out["tolerance"] = tolerance
    return out


def pairwise_agreement(masks: dict, *, metric: str = "dice", spacing=None, tolerance: float = 1.0,
                       label=None) -> pd.DataFrame:
    """Symmetric matrix of one metric between every pair of observers' masks (dict name -> mask).

    ``metric``: "dice", "jaccard", "hd95", "hausdorff", "assd" or "surface_dice". The diagonal holds the
    self-agreement (1 for overlaps, 0 for distances).

    Examples
    --------
    >>> import numpy as np
    >>> a = np.zeros((5, 5), int); a[1:3, 1:3] = 1; b = a.copy(); b[3, 1] = 1
    >>> pairwise_agreement({"r1": a, "r2": b}).round(3).loc["r1", "r2"]
    np.float64(0.889)
    """
    names = list(masks)
    valid = {"dice", "jaccard", "hd95", "hausdorff", "assd", "surface_dice"}
    if metric not in valid:
        raise ValueError(f"The 'metric' parameter of pairwise_agreement must be one of {sorted(valid)}. "
                         f"Got {metric!r} instead.")
    mat = pd.DataFrame(np.nan, index=pd.Index(names, name="observer"), columns=names)
    for i, j in itertools.combinations_with_replacement(range(len(names)), 2):
        v = segmentation_metrics(masks[names[i]], masks[names[j]], spacing=spacing, tolerance=tolerance,
                                 label=label)[metric]
        mat.iloc[i, j] = mat.iloc[j, i] = v
    return mat
