"""radlab.io.index_archive / ``radlab index``: a messy archive gives the right cohort and problem table; the
lung-ct archive gives the cohort ``make data`` builds; reruns read no header again."""

from __future__ import annotations

import os

import pandas as pd
import pytest
import yaml

from .messy import mask_sum
from radlab.catalog import Catalog
from radlab.cli import main
from radlab.io import index_archive

# (patient, kind, words of the problem) of the messy archive (tests/archive/conftest.py)
EXPECTED = [
    ("", "non-DICOM file", "3 file(s) without the DICOM preamble skipped: .DS_Store, README.txt, notes.pdf"),
    ("", "variable left out", "mask 'GTV_seg' (SEG matching 'GTV') found for 1 of 3 patients"),
    ("1", "localizer skipped", "series 'Scout' (2 files) is a localizer/scout"),
    ("1", "mixed modalities", "MR series besides the indexed CT: not indexed"),
    ("2", "missing slices", "6 mm between"),
    ("2", "no usable series", "no usable CT series for image 'CT': patient left out"),
    ("3", "ROI matches no pattern", "not indexed: Lung-Left"),
    ("3", "references another patient", "structure set of patient '3' references series of patient '2'"),
    ("4", "several ROIs match", "2 RTSTRUCT ROIs match mask 'GTV' ('GTV-1' in"),
    ("MR1", "mixed modalities", "MR series besides the indexed CT"),
    ("MR1", "no usable series", "no usable CT series"),
]


@pytest.fixture(scope="module")
def messy_index(messy_archive, tmp_path_factory):
    out = tmp_path_factory.mktemp("messy-index")
    return index_archive(messy_archive, name="m", catalog=out / "catalog.yaml", rois=["GTV=GTV.*|gtv-1"]), out


def test_messy_archive_gives_the_cohort_and_problem_table(messy_index, messy_archive):
    ix, out = messy_index
    assert [(p, k) for p, k, _ in EXPECTED] == list(zip(ix.problems.patient, ix.problems.kind))
    for (_, _, words), text in zip(EXPECTED, ix.problems.problem):
        assert words in text
    assert list(ix.files.index) == ["1", "3"] and list(ix.files.columns) == ["CT", "GTV"]
    roles = ix.series.set_index(["patient", "modality", "description"]).role
    assert roles["1", "CT", ""] == "image CT" and roles["1", "CT", "Scout"] == "localizer"
    assert roles["2", "CT", ""] == "unusable" and roles["3", "SEG", "GTV"] == "on image CT"
    assert ix.counts["files"] == 251 and ix.counts["dicom"] == 248 and ix.counts["patients"] == 5
    entry = yaml.safe_load((out / "catalog.yaml").read_text())["cohorts"]["m"]
    assert entry["masks"] == {"GTV": {"column": "GTV", "format": "rtstruct", "roi": "GTV-1", "image": "CT"}}
    assert entry["images"] == {"CT": {"column": "CT", "format": "dicom"}}
    # the structure set linked to patient 3 is its own (found by UID), not patient 2's copy lying in its folder
    rt3 = ix.files.loc["3", "GTV"]
    assert os.path.dirname(rt3) != os.path.dirname(ix.files.loc["3", "CT"])


def test_messy_cohort_opens_and_passes_check(messy_index, messy_archive):
    ix, out = messy_index
    cohort = Catalog(out / "catalog.yaml")["m"]
    assert cohort.ids == ["1", "3"] and cohort.problems.empty
    assert cohort.check(voxels=True, progress=False).empty
    assert int(cohort.case("1").GTV.sum()) == 125256  # IBSI: int_mask_vox_count_init_roi of PAT1
    root = (out / ix.entry["root"]).resolve()  # the files table's paths start there
    files = pd.read_csv(out / "m_files.csv", dtype=str)
    assert mask_sum(root / files.GTV[1], "GTV-1", root / files.CT[1]) == int(cohort.case("3").GTV.sum()) > 0


def test_rerun_reads_no_header_and_a_changed_file_is_read_again(messy_archive, messy_index, tmp_path):
    again = index_archive(messy_archive, name="m", rois={"GTV": "GTV.*|gtv-1"})
    assert again.counts["read"] == 0 and again.counts["cached"] == 251
    pd.testing.assert_frame_equal(again.problems, messy_index[0].problems)
    readme = next(messy_archive.rglob("README.txt"))
    readme.write_text("changed\n")
    assert index_archive(messy_archive, name="m", rois={"GTV": "GTV.*"}).counts["read"] == 1


def test_lung_ct_index_is_the_default_catalogs_cohort(lung_ct, catalog):
    written = Catalog(lung_ct / "catalog.yaml").spec("lung-ct").model_dump(exclude={"root", "description"})
    assert written == catalog.spec("lung-ct").model_dump(exclude={"root", "description"})
    cohort = catalog["lung-ct"]
    assert cohort.ids == ["1", "2", "3", "4"] and cohort.images == ["CT"] and cohort.masks == ["GTV"]
    assert cohort.check(voxels=True, progress=False).empty
    acq = cohort.acquisition(progress=False).set_index("case")
    assert list(acq.vendor) == ["CMS, Inc.", "CMS, Inc.", "CMS, Inc.", "SIEMENS"]
    assert acq.loc["1", ["nx", "ny", "nz"]].tolist() == [204, 201, 60]  # the IBSI CT phantom's grid


def test_lung_ct_extracts_with_the_ct_preset(catalog):
    from radlab.features import errors, extract, load_params

    params = load_params("ct")
    params["imageType"] = {"Original": {}}  # the preset's settings, its filtered images left out for time
    cohort = catalog["lung-ct"].subset(["2", "3"])
    df = extract(cohort, params, scheduler="sync", cache=False, progress=False)
    assert errors(df).empty and list(df.index) == ["2", "3"]
    volume = df["CT__GTV__original_shape_VoxelVolume"]
    assert volume["2"] == pytest.approx(2256 * 0.977 ** 2 * 3, rel=0.05)  # voxel count x voxel volume


def test_clinical_table_joins_on_patient_id(lung_ct, tmp_path):
    (tmp_path / "clinical.csv").write_text("pid,age\n1,61\n2,70\n4,55\n9,80\n")
    ix = index_archive(lung_ct / "archive", name="c", catalog=tmp_path / "catalog.yaml", rois={"GTV": "GTV.*"},
                       clinical=tmp_path / "clinical.csv", id_column="pid")
    assert list(ix.files.index) == ["1", "2", "4"]
    assert list(zip(ix.problems.patient, ix.problems.kind)) == [("3", "no clinical row"),
                                                                ("9", "clinical row without images")]
    cohort = Catalog(tmp_path / "catalog.yaml")["c"]
    assert cohort.ids == ["1", "2", "4"] and cohort.clinical.age.tolist() == [61, 70, 55]


def test_cli_index_prints_the_problems_and_exits_1(messy_archive, tmp_path, capsys):
    code = main(["index", str(messy_archive), "--name", "m", "--catalog", str(tmp_path / "c.yaml"),
                 "--roi", "GTV=GTV.*"])
    out = capsys.readouterr().out
    assert code == 1
    assert "cohort 'm': 2 cases; images ['CT'], masks ['GTV']" in out and "references another patient" in out
    assert Catalog(tmp_path / "c.yaml").names == ["m"]


def test_cli_index_exits_3_when_no_case_is_usable(lung_ct, tmp_path, capsys):
    code = main(["index", str(lung_ct / "archive"), "--name", "x", "--catalog", str(tmp_path / "c.yaml"),
                 "--roi", "GTV=liver"])
    assert code == 3
    err = capsys.readouterr().err
    assert "radlab index:" in err and "no patient has a usable series" in err and not (tmp_path / "c.yaml").exists()
