"""radlab.io.deidentify / ``radlab deidentify``: PS3.15 Table E.1-1 actions, tag by tag, for the attributes present;
no original identifier left; references stay valid; indexing and features identical to the originals."""

from __future__ import annotations

import shutil
from collections import Counter

import numpy as np
import pandas as pd
import pydicom
import pytest

from radlab.cli import main
from radlab.io import deidentify, index_archive
from radlab.io._deid import _shift
from radlab.io._deid_table import OPTIONS, TABLE

ALL_OPTIONS = dict.fromkeys(OPTIONS, True)
TEXT_VRS = {"AE", "AS", "CS", "DA", "DT", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI", "UT"}
PATIENTS = ("2", "3")


@pytest.fixture(scope="module")
def deid(lung_ct, tmp_path_factory):
    src = tmp_path_factory.mktemp("deid-src") / "archive"
    for patient in PATIENTS:
        shutil.copytree(lung_ct / "archive" / patient, src / patient)
    (src / "README.txt").write_text("not DICOM\n")
    out = tmp_path_factory.mktemp("deid-out")
    return src, out, deidentify(src, out / "deid", salt="test-salt")


def _elements(ds):
    """(keyword, VR, value) of every element, nested sequences included."""
    for elem in ds.iterall():
        yield elem.keyword, elem.VR, elem.value


def _expected(keyword: str) -> str:
    basic, *by_option = TABLE[keyword]
    return next((a for a in by_option if a is not None), basic)  # every option is on


def _check(before, after, uids: dict, offset: int, checked: Counter) -> None:
    """Every element of ``before`` (nested items too) against its Table E.1-1 action in ``after``."""
    for elem in before:
        kw, present = elem.keyword, elem.keyword in after
        action = _expected(kw) if kw in TABLE else {"PN": "X", "UI": "U", "DA": "C", "DT": "C"}.get(elem.VR, "K")
        if elem.tag.is_private:
            assert elem.tag not in after
            action = "private"
        elif action == "X":
            assert not present, kw
        elif action == "Z":
            assert str(after[kw].value) in ("", after.get("PatientID")), kw
        elif action == "K" and elem.VR == "SQ":
            assert len(after[kw].value) == len(elem.value), kw
            for item_before, item_after in zip(elem.value, after[kw].value):
                _check(item_before, item_after, uids, offset, checked)
        elif action == "K":
            assert after[kw].value == elem.value, kw
        elif action == "U":
            assert str(after[kw].value) == uids.get(str(elem.value), str(elem.value)), kw
            assert str(elem.value).startswith("1.2.840.10008") or after[kw].value != elem.value, kw
        elif action == "C" and elem.VR in ("DA", "DT"):
            assert after[kw].value == _shift(elem.value, elem.VR, offset), kw
        elif action == "C":
            assert present, kw
        elif action == "D":
            assert after[kw].value != elem.value or elem.value in ("", None), kw
        checked[action] += 1


def test_table_actions_tag_by_tag(deid):
    src, out, result = deid
    mapping = result.mapping
    offsets = {k: int(v) for k, v in mapping[mapping.kind == "date_offset_days"][["original", "pseudonym"]].values}
    uids = dict(mapping[mapping.kind == "uid"][["original", "pseudonym"]].values)
    checked = Counter()
    for source, target in zip(result.files.source, result.files.target):
        before = pydicom.dcmread(src / source, stop_before_pixels=True)
        after = pydicom.dcmread(out / "deid" / target, stop_before_pixels=True)
        assert after.PatientID == after.PatientName == result.files.set_index("source").patient[source]
        _check(before, after, uids, offsets[str(before.PatientID)], checked)
        assert after.file_meta.MediaStorageSOPInstanceUID == after.SOPInstanceUID == uids[str(before.SOPInstanceUID)]
        assert after.PatientIdentityRemoved == "YES" and after.LongitudinalTemporalInformationModified == "MODIFIED"
        assert [c.CodeValue for c in after.DeidentificationMethodCodeSequence] == \
            ["113100", "113109", "113108", "113107", "113105"]
    # 88 files of patients 2 and 3: every element checked (nested items included)
    assert checked == {"K": 2454, "U": 627, "Z": 536, "C": 362, "X": 89}


def test_no_original_identifier_is_left(deid):
    src, out, result = deid
    originals = set()
    for source in result.files.source:
        ds = pydicom.dcmread(src / source, stop_before_pixels=True)
        originals |= {str(v) for kw, vr, v in _elements(ds) if vr in ("UI", "DA", "DT", "PN") and v
                      and not str(v).startswith("1.2.840.10008")}
        originals |= {str(ds.PatientID), str(ds.PatientName)}
    for target in result.files.target:
        ds = pydicom.dcmread(out / "deid" / target, stop_before_pixels=True)
        values = {str(v) for kw, vr, v in _elements(ds) if vr in TEXT_VRS and v is not None}
        values |= {str(ds.file_meta.MediaStorageSOPInstanceUID)}
        assert not values & originals, target
    assert result.skipped == ["README.txt"]
    kinds = result.mapping.kind.value_counts()
    assert kinds["patient"] == kinds["date_offset_days"] == 2 and kinds["uid"] > 2 * 40


def test_deidentified_archive_indexes_and_extracts_identically(deid, tmp_path):
    from radlab.catalog import Catalog
    from radlab.features import errors, extract, load_params

    src, out, result = deid
    params = load_params("ct")
    params["imageType"] = {"Original": {}}
    tables = {}
    for name, root in (("orig", src), ("deid", out / "deid")):
        ix = index_archive(root, name=name, catalog=tmp_path / "catalog.yaml", rois={"GTV": "GTV.*"})
        assert list(ix.problems.kind) == (["non-DICOM file"] if name == "orig" else []) and len(ix.files) == 2
        df = extract(Catalog(tmp_path / "catalog.yaml")[name], params, scheduler="sync", cache=False, progress=False)
        assert errors(df).empty
        tables[name] = df
    pseudonym = dict(result.mapping[result.mapping.kind == "patient"][["original", "pseudonym"]].values)
    renamed = tables["orig"].rename(index=pseudonym).loc[tables["deid"].index]
    pd.testing.assert_frame_equal(renamed.astype(float), tables["deid"].astype(float), check_exact=True)
    assert np.isfinite(tables["deid"].to_numpy(float)).all()


def test_cli_deidentify_and_mapping_kept_apart(lung_ct, tmp_path, capsys):
    src = tmp_path / "src"
    shutil.copytree(lung_ct / "archive" / "2", src / "2")
    assert main(["deidentify", str(src), str(tmp_path / "out"), "--salt", "s"]) == 0
    out = capsys.readouterr().out
    assert "42 DICOM files of 1 patients" in out and str(tmp_path / "out.mapping.csv") in out
    assert main(["deidentify", str(src), str(tmp_path / "out2"), "--mapping", str(tmp_path / "out2" / "m.csv")]) == 2
    assert "must lie outside the output" in capsys.readouterr().err
