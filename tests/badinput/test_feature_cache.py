"""The feature cache under messy conditions: records keyed by the sources' bytes (a file changed with the same
size and mtime is recomputed), corrupt or partial records reported, deleted and recomputed, interrupted runs
that keep every finished case, a preprocessed cohort never served the raw cohort's records, NaN kept as NaN."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sys

import dask
import dask.array as da
import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
import xarray as xr

import radlab.features._extract as ex
from radlab.errors import InputError
from radlab.features import errors, extract
from radlab.catalog import Catalog
from radlab.features._case import fingerprint, record_name, source_sha256

GEO = {"spacing": (1.0, 1.0, 2.0), "origin": (0.0, 0.0, 0.0), "direction": (1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0)}
SMALL = {"setting": {"binCount": 16, "label": 1}, "imageType": {"Original": {}},
         "featureClass": {"firstorder": ["Mean"], "glcm": ["Contrast"], "shape": ["VoxelVolume"]}}
VOLUME, MEAN = "T2w__tumour__original_shape_VoxelVolume", "T2w__tumour__original_firstorder_Mean"


def open_m(root):
    """Cohort ``m`` of the ``messy`` folder, opened anew."""
    return Catalog(root / "catalog.yaml")["m"]


def _run(cases, cache, **kwargs) -> pd.DataFrame:
    return extract(cases, SMALL, scheduler="sync", cache=cache, progress=False, **kwargs)


def _case(seed: int) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    mask = np.zeros((6, 10, 10), np.uint8)
    mask[1:5, 3:7, 2:8] = 1
    image = (100 + 30 * mask + rng.normal(0, 10, mask.shape)).astype(np.float32)
    return xr.Dataset({"T2w": (("z", "y", "x"), image, {"role": "image", **GEO}),
                       "tumour": (("z", "y", "x"), mask, {"role": "mask", "image": "T2w", **GEO})})


CASES = [(f"c{i}", _case(i)) for i in range(4)]


def _record(cache, case: str):
    (path,) = [p for p in cache.glob(f"*/{case}-*.json")]
    return path


def _same_size_and_mtime(path, write) -> None:
    """Rewrite ``path`` with ``write`` and give it back its size and mtime."""
    before = path.stat()
    write()
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


def test_a_mask_rewritten_with_the_same_size_and_mtime_is_recomputed(messy, tmp_path):
    root, ids = messy
    for case in ids:  # uncompressed masks: other voxels, same number of bytes
        mask = root / "masks" / case / "tumour_pre.nii.gz"
        sitk.WriteImage(sitk.ReadImage(str(mask)), str(mask.with_suffix("")))
        mask.unlink()
    catalog = root / "catalog.yaml"
    catalog.write_text(catalog.read_text().replace("tumour_pre.nii.gz", "tumour_pre.nii"))
    cache = tmp_path / "cache"
    first = _run(open_m(root), cache)
    mask = root / "masks" / ids[0] / "tumour_pre.nii"
    image = sitk.ReadImage(str(mask))
    voxels = sitk.GetArrayFromImage(image)
    voxels[np.flatnonzero(voxels.any(axis=(1, 2)))[0]] = 0  # drop the ROI's first slice

    def write():
        edited = sitk.GetImageFromArray(voxels)
        edited.CopyInformation(image)
        sitk.WriteImage(edited, str(mask))

    _same_size_and_mtime(mask, write)
    again = _run(open_m(root), cache)
    prov = again.attrs["provenance"]
    assert prov["computed"] == [ids[0]] and prov["cached"] == ids[1:]
    fresh = _run(open_m(root), False)
    pd.testing.assert_frame_equal(again, fresh)  # the new values, not the cached ones
    assert again.loc[ids[0], VOLUME] < first.loc[ids[0], VOLUME]
    pd.testing.assert_frame_equal(again.iloc[1:], first.iloc[1:])
    # provenance reuses the fingerprint's hash: sha256sum of the file that was read
    assert prov["sources"][ids[0]]["tumour"] == {"file": str(mask),
                                                 "sha256": hashlib.sha256(mask.read_bytes()).hexdigest()}


def test_a_dicom_slice_rewritten_with_the_same_size_and_mtime_changes_the_record(data_root, tmp_path):
    series = next((data_root / "demo" / "dicom").glob("*/T2w"))
    folder = shutil.copytree(series, tmp_path / "T2w")
    ds = _case(0)
    ds["T2w"].attrs["source"] = str(folder)
    before = record_name("c0", fingerprint(ds, ["T2w", "tumour"]))
    digest = source_sha256(str(folder))
    slice_file = sorted(folder.iterdir())[len(list(folder.iterdir())) // 2]
    data = bytearray(slice_file.read_bytes())
    data[-1] ^= 0xFF  # one pixel byte of one slice
    _same_size_and_mtime(slice_file, lambda: slice_file.write_bytes(bytes(data)))
    assert source_sha256(str(folder)) != digest
    assert record_name("c0", fingerprint(ds, ["T2w", "tumour"])) != before
    slice_file.rename(slice_file.with_name("zz-" + slice_file.name))  # same bytes, another file name
    assert source_sha256(str(folder)) not in (digest, None)


def test_a_source_shared_by_several_masks_is_hashed_once(tmp_path, monkeypatch):
    import radlab.features._case as case_module

    labels = tmp_path / "labels.nii.gz"
    sitk.WriteImage(sitk.GetImageFromArray(_case(0)["tumour"].values), str(labels))
    ds = _case(0)
    ds["edema"] = ds["tumour"].copy()
    ds["tumour"].attrs |= {"source": str(labels), "label": 1}
    ds["edema"].attrs |= {"source": str(labels), "label": 2}
    hashed = []
    real = case_module.source_sha256
    monkeypatch.setattr(case_module, "source_sha256", lambda path: hashed.append(path) or real(path))
    fp = fingerprint(ds, ["T2w", "tumour", "edema"])
    assert hashed == [str(labels)]
    assert fp["tumour"]["sha256"] == fp["edema"]["sha256"] == hashlib.sha256(labels.read_bytes()).hexdigest()
    assert fp["tumour"]["token"] != fp["edema"]["token"]  # another label of the same file: another record


def test_metaimage_data_file_rewritten_with_the_same_size_and_mtime_changes_the_hash(tmp_path):
    header = tmp_path / "T2w.mhd"
    sitk.WriteImage(sitk.GetImageFromArray(_case(0)["T2w"].values), str(header))
    raw = tmp_path / "T2w.raw"
    assert raw.exists()
    digest = source_sha256(str(header))
    data = bytearray(raw.read_bytes())
    data[:4] = b"\x00\x00\x80\x7f"
    _same_size_and_mtime(raw, lambda: raw.write_bytes(bytes(data)))
    assert source_sha256(str(header)) != digest


def test_a_preprocessed_cohort_is_not_served_the_raw_cohorts_records(messy, tmp_path):
    """Preprocessed variables keep their source file: their record is keyed by the derivation too."""
    from radlab.preprocessing import preprocess, resample

    root, ids = messy
    cache = tmp_path / "cache"
    raw = _run(open_m(root), cache, ids=ids[:2])
    resampled = preprocess(open_m(root), resample, spacing=(2.0, 2.0, 2.0))
    df = _run(resampled, cache, ids=ids[:2])
    assert df.attrs["provenance"]["computed"] == ids[:2]
    pd.testing.assert_frame_equal(df, _run(resampled, False, ids=ids[:2]))
    assert not np.allclose(df[MEAN], raw[MEAN])
    assert _run(resampled, cache, ids=ids[:2]).attrs["provenance"]["cached"] == ids[:2]


def _truncate(text):
    return text[: len(text) // 2]


def _without(key):
    return lambda text: json.dumps({k: v for k, v in json.loads(text).items() if k != key})


def _replace(**fields):
    return lambda text: json.dumps({**json.loads(text), **fields})


CORRUPT = {
    "truncated": (_truncate, "unreadable"),
    "empty-file": (lambda text: "", "unreadable"),
    "not-json": (lambda text: "<html>502 Bad Gateway</html>", "unreadable"),
    "not-utf8": (lambda text: b"\xff\xfe\x00{", "unreadable"),
    "json-list": (lambda text: "[1, 2]", "not a record (a JSON list)"),
    "missing-features": (_without("features"), "missing features"),
    "missing-case": (_without("case"), "missing case"),
    "another-cases-record": (_replace(case="c3"), "the record of another case ('c3')"),
    "features-not-a-mapping": (_replace(features=[1.0, 2.0]), "not a mapping of features and sources"),
    "feature-as-text": (_replace(features={MEAN: "130.2"}), "a feature value that is not a number"),
}


@pytest.mark.parametrize("kind", list(CORRUPT))
def test_a_corrupt_record_is_reported_deleted_and_recomputed(kind, tmp_path, caplog):
    corrupt, words = CORRUPT[kind]
    cache = tmp_path / "cache"
    first = _run(CASES, cache)
    path = _record(cache, "c1")
    damaged = corrupt(path.read_text())
    path.write_bytes(damaged if isinstance(damaged, bytes) else damaged.encode())
    with caplog.at_level(logging.WARNING, logger="radlab.features"):
        again = _run(CASES, cache)
    (warning,) = [r.getMessage() for r in caplog.records if "cache record" in r.getMessage()]
    assert str(path) in warning and "case 'c1'" in warning and words in warning and "recomputing" in warning
    prov = again.attrs["provenance"]
    assert prov["computed"] == ["c1"] and prov["cached"] == ["c0", "c2", "c3"]
    pd.testing.assert_frame_equal(again, first)
    assert errors(again).empty
    assert json.loads(path.read_text())["case"] == "c1"  # rewritten whole
    assert _run(CASES, cache).attrs["provenance"]["computed"] == []


class _Finished:
    """A finished dask future (what as_completed yields) holding compute_case's value."""

    status = "finished"

    def __init__(self, value):
        self.value = value

    def result(self):
        return self.value


@pytest.mark.parametrize("kind", ["truncated", "another-cases-record", "missing-features"])
def test_a_record_corrupt_when_read_back_from_a_worker_is_replaced_by_the_workers_value(kind, tmp_path, caplog):
    corrupt, words = CORRUPT[kind]
    first = _run(CASES[:2], tmp_path)
    path = _record(tmp_path, "c1")
    record = json.loads(path.read_text())
    path.write_text(corrupt(path.read_text()))
    with caplog.at_level(logging.WARNING, logger="radlab.features"):
        out = ex._outcome(_Finished(record), "c1", str(path))
    assert out == record and out["features"] == pytest.approx(first.loc["c1"].to_dict())
    (warning,) = [r.getMessage() for r in caplog.records]
    assert str(path) in warning and "case 'c1'" in warning and words in warning
    assert json.loads(path.read_text()) == record


def _interrupting(ds: xr.Dataset) -> xr.Dataset:
    """The case with a T2w whose read is interrupted (as Ctrl-C during a read)."""
    def read():
        raise KeyboardInterrupt

    out = ds.copy()
    out["T2w"] = ds["T2w"].copy(data=da.from_delayed(dask.delayed(read)(), shape=ds["T2w"].shape, dtype=np.float32))
    return out


def test_an_interrupted_run_keeps_every_finished_case(tmp_path, caplog):
    cache = tmp_path / "cache"
    cases = [(f"c{i}", _case(i)) for i in range(5)]
    with caplog.at_level(logging.WARNING, logger="radlab.features"), pytest.raises(KeyboardInterrupt):
        _run(cases[:3] + [("c3", _interrupting(cases[3][1]))] + cases[4:], cache)
    assert "interrupted after 3 of 5 cases" in caplog.text
    assert sorted(p.name.split("-")[0] for p in cache.glob("*/c*.json")) == ["c0", "c1", "c2"]
    assert not list(cache.glob("*/*.tmp"))
    again = _run(cases, cache)
    prov = again.attrs["provenance"]
    assert prov["cached"] == ["c0", "c1", "c2"] and prov["computed"] == ["c3", "c4"]
    pd.testing.assert_frame_equal(again, _run(cases, False))


@pytest.mark.slow
@pytest.mark.cluster
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers are forked on Linux only")
def test_an_interrupted_cluster_run_closes_its_cluster_and_keeps_finished_records(tmp_path, monkeypatch):
    from distributed.core import Status

    clusters, seen = [], []
    make, outcome = ex.local_cluster, ex._outcome

    def recording_cluster(*args, **kwargs):
        clusters.append(make(*args, **kwargs))
        return clusters[-1]

    def interrupt_on_the_third(future, case, path):
        seen.append(case)
        if len(seen) == 3:
            raise KeyboardInterrupt
        return outcome(future, case, path)

    monkeypatch.setattr(ex, "local_cluster", recording_cluster)
    monkeypatch.setattr(ex, "_outcome", interrupt_on_the_third)
    monkeypatch.delenv("RADLAB_SCHEDULER", raising=False)
    cases = [(f"c{i}", _case(i)) for i in range(6)]
    with pytest.raises(KeyboardInterrupt):
        extract(cases, SMALL, n_workers=1, cache=tmp_path, progress=False)
    assert clusters[0].status == Status.closed
    finished = {p.name.split("-")[0] for p in tmp_path.glob("*/c*.json")}
    assert set(seen) <= finished and len(seen) == 3  # the three seen are finished (and perhaps more were)
    monkeypatch.undo()
    again = _run(cases, tmp_path)
    assert set(again.attrs["provenance"]["cached"]) == finished
    assert set(again.attrs["provenance"]["computed"]) == {c for c, _ in cases} - finished
    pd.testing.assert_frame_equal(again, _run(cases, False))


def test_nan_features_stay_nan_and_are_listed_in_provenance(tmp_path, monkeypatch, caplog):
    """pyradiomics sets a feature whose computation fails to NaN: radlab keeps NaN (never 0) and says which."""
    from radiomics.glcm import RadiomicsGLCM

    def fails(self):
        raise ArithmeticError("no co-occurrences")

    monkeypatch.setattr(RadiomicsGLCM, "getContrastFeatureValue", fails)
    contrast = "T2w__tumour__original_glcm_Contrast"
    for attempt in ("computed", "cached"):
        with caplog.at_level(logging.WARNING, logger="radlab.features"):
            df = _run(CASES[:2], tmp_path)
        assert df.attrs["provenance"][attempt] == ["c0", "c1"]
        assert df[contrast].isna().all() and df[MEAN].notna().all() and not (df[contrast] == 0).any()
        assert df.attrs["provenance"]["nan_features"] == {"c0": [contrast], "c1": [contrast]}
        assert "2 case(s) have NaN or infinite feature values" in caplog.text
        caplog.clear()


def test_a_cache_folder_that_cannot_be_created_is_bad_input(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    with pytest.raises(InputError, match="feature cache folder .*not-a-folder.* cannot be written") as info:
        _run(CASES, blocker)
    assert info.value.file.startswith(str(blocker)) and "--no-cache" in str(info.value)


def test_a_record_that_cannot_be_written_is_reported_and_the_features_still_returned(tmp_path, monkeypatch, caplog):
    def full(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("pathlib.Path.write_text", full)
    monkeypatch.setattr(ex, "_cache_folder", lambda cache, key, meta: tmp_path)
    with caplog.at_level(logging.WARNING, logger="radlab.features"):
        df = _run(CASES[:2], tmp_path)
    monkeypatch.undo()
    pd.testing.assert_frame_equal(df, _run(CASES[:2], False))
    assert caplog.text.count("No space left on device") == 2 and "the case is not cached" in caplog.text
    assert not list(tmp_path.glob("*"))
