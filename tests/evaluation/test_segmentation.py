"""Segmentation agreement vs brute-force distances and SimpleITK filters, with anisotropic spacing."""

import numpy as np
import pytest
import SimpleITK as sitk
import xarray as xr
from scipy.ndimage import binary_erosion, generate_binary_structure
from scipy.spatial.distance import cdist

from radlab.evaluation import (
    average_surface_distance,
    dice,
    hausdorff_distance,
    jaccard,
    pairwise_agreement,
    segmentation_metrics,
    surface_dice,
)

SPACING = (0.7, 0.9, 2.5)  # ITK (x, y, z) mm


def ellipsoid(shape, centre, radii):
    z, y, x = np.indices(shape)
    return (((z - centre[0]) / radii[0]) ** 2 + ((y - centre[1]) / radii[1]) ** 2
            + ((x - centre[2]) / radii[2]) ** 2 <= 1).astype(np.uint8)


@pytest.fixture
def masks():
    a = ellipsoid((14, 30, 32), (7, 15, 15), (4, 9, 10))
    b = ellipsoid((14, 30, 32), (7.5, 16, 17), (4.5, 8, 11))
    return a, b


def brute_surface_distances(a, b, spacing_xyz):
    """Physical coordinates of surface voxels and all-pairs distances (no distance transform)."""
    st = generate_binary_structure(3, 1)
    scale = np.asarray(spacing_xyz)[::-1]

    def pts(m):
        surf = m.astype(bool) & ~binary_erosion(m.astype(bool), st, border_value=0)
        return np.argwhere(surf) * scale

    d = cdist(pts(a), pts(b))
    return d.min(1), d.min(0)


def test_overlap_matches_simpleitk(masks):
    a, b = masks
    f = sitk.LabelOverlapMeasuresImageFilter()
    f.Execute(sitk.GetImageFromArray(a), sitk.GetImageFromArray(b))
    assert dice(a, b) == pytest.approx(f.GetDiceCoefficient(), abs=1e-12)
    assert jaccard(a, b) == pytest.approx(f.GetJaccardCoefficient(), abs=1e-12)


def test_surface_distances_match_brute_force(masks):
    a, b = masks
    d_ab, d_ba = brute_surface_distances(a, b, SPACING)
    hd95 = max(np.percentile(d_ab, 95), np.percentile(d_ba, 95))
    # exact EDT vs exact pairwise distances: equal to float rounding
    assert hausdorff_distance(a, b, spacing=SPACING) == pytest.approx(hd95, abs=1e-9)
    assert hausdorff_distance(a, b, spacing=SPACING, percentile=100) == pytest.approx(max(d_ab.max(), d_ba.max()))
    assert average_surface_distance(a, b, spacing=SPACING) == pytest.approx(np.r_[d_ab, d_ba].mean(), abs=1e-9)
    tau = 1.5
    sd = ((d_ab <= tau).sum() + (d_ba <= tau).sum()) / (len(d_ab) + len(d_ba))
    assert surface_dice(a, b, tolerance=tau, spacing=SPACING) == pytest.approx(sd, abs=1e-12)
    allm = segmentation_metrics(a, b, spacing=SPACING, tolerance=tau)
    assert allm["hd95"] == pytest.approx(hd95) and allm["surface_dice"] == pytest.approx(sd)


def test_hausdorff_matches_simpleitk_on_shifted_box():
    # For a box and its shifted copy the farthest voxel lies on the surface, so SimpleITK's
    # all-voxel Hausdorff equals the surface Hausdorff.
    a = np.zeros((12, 20, 20), np.uint8)
    a[3:8, 5:12, 4:10] = 1
    b = np.roll(np.roll(a, 2, axis=0), 3, axis=2)
    ia, ib = sitk.GetImageFromArray(a), sitk.GetImageFromArray(b)
    ia.SetSpacing(SPACING)
    ib.SetSpacing(SPACING)
    f = sitk.HausdorffDistanceImageFilter()
    f.Execute(ia, ib)
    assert hausdorff_distance(a, b, spacing=SPACING, percentile=100) == pytest.approx(f.GetHausdorffDistance(),
                                                                                      abs=1e-9)
    assert f.GetHausdorffDistance() == pytest.approx(np.hypot(2 * 2.5, 3 * 0.7))


def test_spacing_order_and_dataarray(masks):
    a, b = masks
    attrs = {"spacing": SPACING, "origin": (0.0, 0.0, 0.0), "direction": (1, 0, 0, 0, 1, 0, 0, 0, 1)}
    da = xr.DataArray(a, dims=("z", "y", "x"), attrs=attrs)
    db = xr.DataArray(b, dims=("z", "y", "x"), attrs=attrs)
    assert hausdorff_distance(da, db) == pytest.approx(hausdorff_distance(a, b, spacing=SPACING))
    # z spacing 2.5 mm applies to axis 0: a one-slice shift is 2.5 mm, a one-column shift 0.7 mm
    box = np.zeros((8, 8, 8), np.uint8)
    box[2:5, 2:5, 2:5] = 1
    assert hausdorff_distance(box, np.roll(box, 1, 0), spacing=SPACING, percentile=100) == pytest.approx(2.5)
    assert hausdorff_distance(box, np.roll(box, 1, 2), spacing=SPACING, percentile=100) == pytest.approx(0.7)
    other = db.copy()
    other.attrs = {**attrs, "spacing": (1.0, 1.0, 1.0)}
    with pytest.raises(ValueError, match="different spacing"):
        dice(da, other)


def test_labels_and_edge_cases(masks):
    a, b = masks
    lab = a * 2 + (1 - a) * 0
    assert dice(lab, b * 2, label=2) == pytest.approx(dice(a, b))
    empty = np.zeros_like(a)
    assert dice(empty, empty) == 1.0 and hausdorff_distance(empty, empty) == 0.0
    assert dice(a, empty) == 0.0 and hausdorff_distance(a, empty) == np.inf
    assert surface_dice(a, empty, tolerance=1) == 0.0
    with pytest.raises(ValueError, match="same shape"):
        dice(a, b[:-1])
    with pytest.raises(ValueError, match="'spacing' parameter of hausdorff_distance must be 3 positive"):
        hausdorff_distance(a, b, spacing=(1, 1))
    single = np.zeros((3, 3, 3), np.uint8)
    single[1, 1, 1] = 1  # tiny object: one voxel is its own surface
    assert average_surface_distance(single, single) == 0.0


def test_pairwise_matrix(masks):
    a, b = masks
    c = ellipsoid(a.shape, (7, 14, 15), (4, 9, 9))
    mat = pairwise_agreement({"r1": a, "r2": b, "r3": c}, metric="hd95", spacing=SPACING)
    assert np.allclose(mat.values, mat.values.T) and (np.diag(mat.values) == 0).all()
    assert mat.loc["r1", "r3"] == pytest.approx(hausdorff_distance(a, c, spacing=SPACING))
    assert pairwise_agreement({"r1": a, "r2": b}).loc["r1", "r2"] == pytest.approx(dice(a, b))
    with pytest.raises(ValueError, match="'metric' parameter"):
        pairwise_agreement({"r1": a}, metric="volume")
