"""Bad input at the archive boundary: ``radlab index``, ``radlab deidentify``, ``radlab ibsi`` options and archives.

Each kind: the exact exit code and the key words of the one-line message; nothing written where the input was
refused. The problem table of a messy archive (kinds of problem found inside an archive) is tested in
tests/archive/test_index.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from radlab.cli import main
from radlab.io import deidentify, index_archive


@pytest.fixture
def small_archive(lung_ct_archive, tmp_path) -> Path:
    src = tmp_path / "archive"
    shutil.copytree(lung_ct_archive / "2", src / "2")
    return src


@pytest.fixture(scope="module")
def lung_ct_archive(data_root) -> Path:
    from radlab.datasets import build_lung_ct

    return build_lung_ct(data_root / "lung-ct") / "archive"


INDEX_CASES = {
    "roi-without-name": (["--roi", "GTV"], "must be NAME=PATTERN"),
    "roi-bad-regex": (["--roi", "GTV=GTV(["], "not a valid regular expression"),
    "roi-given-twice": (["--roi", "GTV=a", "GTV=b"], "is given twice"),
    "roi-name-not-a-word": (["--roi", "1GTV=GTV"], "must start with a letter"),
    "series-bad-regex": (["--series", "CT=CT:(["], "not a valid regular expression"),
    "clinical-missing-id-column": (["--clinical", "{tmp}/clinical.csv", "--id", "pid"], "no column 'pid'"),
    "clinical-not-found": (["--clinical", "{tmp}/none.csv"], "cannot read it as CSV"),
    "catalog-not-a-catalog": (["--catalog", "{tmp}/notes.yaml"], "not a catalog"),
}


@pytest.mark.parametrize("kind", list(INDEX_CASES))
def test_index_refuses_bad_options(kind, small_archive, tmp_path, capsys):
    args, words = INDEX_CASES[kind]
    (tmp_path / "clinical.csv").write_text("case_id,age\n2,70\n")
    (tmp_path / "notes.yaml").write_text("- just a list\n")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if "--catalog" not in args:
        args += ["--catalog", str(tmp_path / "c.yaml")]
    code = main(["index", str(small_archive), "--name", "x", *args])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("radlab index: ") and words in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "c.yaml").exists() and not (tmp_path / "x_files.csv").exists()


def test_index_of_a_missing_folder(tmp_path, capsys):
    assert main(["index", str(tmp_path / "nowhere"), "--name", "x", "--catalog", str(tmp_path / "c.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_index_of_a_folder_without_dicom_exits_3(tmp_path, capsys):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "README.txt").write_text("no images here\n")
    assert main(["index", str(tmp_path / "a"), "--name", "x", "--catalog", str(tmp_path / "c.yaml")]) == 3
    out, err = capsys.readouterr()
    assert "non-DICOM file" in out and "no patient has a usable series" in err and not (tmp_path / "c.yaml").exists()


def test_index_damaged_dicom_file_is_listed_and_the_rest_indexed(small_archive, tmp_path):
    victim = sorted(small_archive.rglob("*.dcm"))[5]
    data = victim.read_bytes()
    victim.write_bytes(data[:200])  # preamble and a few header bytes: a truncated file
    ix = index_archive(small_archive, name="x", rois={"GTV": "GTV.*"}, cache=False)
    # the file is named, and the series that lost a slice is not used: patient 2 is left out, nothing is written
    assert list(ix.problems.kind) == ["damaged DICOM file", "missing slices", "no usable series"]
    assert ix.problems.file[0].endswith(victim.name) and ix.files.empty


def test_index_roi_name_differs_between_patients(lung_ct_archive, tmp_path):
    """Structure sets naming the ROI differently per patient: each case's name goes to the files table's
    ``GTV_roi`` column (catalog ``roi_column``), every patient is indexed and each mask reads its own ROI."""
    import pydicom

    from radlab.catalog import Catalog

    src = tmp_path / "archive"
    for patient in ("2", "3", "4"):
        shutil.copytree(lung_ct_archive / patient, src / patient)
    rt = next((src / "4").rglob("*RTSTRUCT*/*.dcm"))
    ds = pydicom.dcmread(rt)
    ds.StructureSetROISequence[0].ROIName = "gtv-1"
    ds.save_as(rt)
    catalog = tmp_path / "catalog.yaml"
    ix = index_archive(src, name="x", rois={"GTV": "GTV.*"}, cache=False, catalog=catalog)
    assert list(ix.files.index) == ["2", "3", "4"] and ix.problems.empty
    assert list(ix.files["GTV_roi"]) == ["GTV-1", "GTV-1", "gtv-1"]
    assert ix.entry["masks"]["GTV"]["roi_column"] == "GTV_roi" and "roi" not in ix.entry["masks"]["GTV"]
    cohort = Catalog(catalog)["x"]
    assert cohort.ids == ["2", "3", "4"] and cohort.problems.empty
    ds4 = cohort.case("4")
    assert ds4["GTV"].attrs["roi"] == "gtv-1" and int(ds4["GTV"].values.sum()) > 0


DEID_CASES = {
    "mapping-inside-output": ("{dst}/map.csv", "must lie outside the output"),
    "output-inside-source": (None, "must lie outside the output"),
    "output-not-empty": (None, "is not empty"),
    "source-missing": (None, "no such folder"),
    "output-is-a-file": (None, "is not empty"),
    "mapping-exists": ("{tmp}/old.mapping.csv", "already exists"),
    "no-readable-dicom": (None, "no readable DICOM file"),
}


@pytest.mark.parametrize("kind", list(DEID_CASES))
def test_deidentify_refuses(kind, small_archive, tmp_path, capsys):
    mapping, words = DEID_CASES[kind]
    src, dst = small_archive, tmp_path / "out"
    if kind == "output-inside-source":
        dst = src / "out"
    elif kind == "output-not-empty":
        dst.mkdir()
        (dst / "old.txt").write_text("x")
    elif kind == "source-missing":
        src = tmp_path / "nowhere"
    elif kind == "output-is-a-file":
        dst.write_text("x")
    elif kind == "mapping-exists":
        (tmp_path / "old.mapping.csv").write_text("kind,original,pseudonym\n")
    elif kind == "no-readable-dicom":
        src = tmp_path / "notes"
        src.mkdir()
        (src / "readme.txt").write_text("not DICOM")
    mapping = mapping.format(dst=dst, tmp=tmp_path) if mapping else None
    args = ["deidentify", str(src), str(dst)] + (["--mapping", mapping] if mapping else [])
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2 and words in err and len(err.strip().splitlines()) == 1
    assert not any(dst.rglob("*.dcm")) if dst.is_dir() else True
    with pytest.raises(ValueError, match=words):
        deidentify(src, dst, mapping=mapping)


def test_deidentify_lists_a_damaged_file_and_copies_the_rest(small_archive, tmp_path, capsys):
    """A truncated DICOM file (pydicom reads it without a word, no SOPInstanceUID) is listed, not copied; the
    rest is de-identified; the exit code is 1."""
    files = sorted(small_archive.rglob("*.dcm"))
    files[0].write_bytes(files[0].read_bytes()[:200])
    dst = tmp_path / "out"
    code = main(["deidentify", str(small_archive), str(dst)])
    out = capsys.readouterr().out
    rel = str(files[0].relative_to(small_archive))
    assert code == 1 and f"damaged DICOM file, not copied: {rel} (" in out
    assert len(list(dst.rglob("*.dcm"))) == len(files) - 1


def test_ibsi_unknown_configuration_and_case(catalog, capsys):
    assert main(["ibsi", "--config", "F"]) == 2
    assert "invalid choice" in capsys.readouterr().err
    assert main(["--catalog", str(catalog.path), "ibsi", "--config", "A", "--case", "9"]) == 2
    assert "has no case '9'" in capsys.readouterr().err
