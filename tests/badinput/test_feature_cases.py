"""Bad cases at feature extraction: each goes to the error table (case, file, a message naming the case and
saying what is wrong), the other cases complete with the right values, and no number is produced for it."""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pytest
import xarray as xr

from radlab.errors import EXIT_FAILED_CASES, RadlabError
from radlab.features import errors, extract
from radlab.features._case import CaseFailure

GEO = {"spacing": (1.0, 1.0, 1.0), "origin": (0.0, 0.0, 0.0), "direction": (1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0)}
SMALL = {"setting": {"binCount": 16, "label": 1}, "imageType": {"Original": {}},
         "featureClass": {"firstorder": ["Mean"], "glcm": ["Contrast"], "shape": ["VoxelVolume"]}}
MEAN = "T2w__tumour__original_firstorder_Mean"


def _case(name: str, seed: int = 0) -> xr.Dataset:
    """A small case whose variables name their (notional) source files."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((8, 10, 10), np.uint8)
    mask[2:6, 3:7, 3:7] = 1
    image = rng.normal(100, 10, mask.shape).astype(np.float32)
    return xr.Dataset({
        "T2w": (("z", "y", "x"), image, {"role": "image", "source": f"/data/{name}/T2w.nii.gz", **GEO}),
        "tumour": (("z", "y", "x"), mask, {"role": "mask", "image": "T2w", "source": f"/data/{name}/tumour.nii.gz",
                                           **GEO})})


def _mask(ds: xr.Dataset, values: np.ndarray) -> xr.Dataset:
    ds["tumour"] = ds["tumour"].copy(data=values)
    return ds


def _roi(shape_slices) -> np.ndarray:
    out = np.zeros((8, 10, 10), np.uint8)
    out[shape_slices] = 1
    return out


def _labels_2_and_3(ds):
    values = ds["tumour"].values * 2
    values[2, 3, 3] = 3
    return _mask(ds, values)


def _probability(ds):
    return _mask(ds, ds["tumour"].values * np.float32(0.8) + np.float32(0.1))


def _nan_in_mask(ds):
    values = ds["tumour"].values.astype(np.float32)
    values[0, 0, 0] = np.nan
    return _mask(ds, values)


def _with_image_value(value):
    def edit(ds):
        image = ds["T2w"].values.copy()
        image[3, 4, 4] = value  # inside the ROI
        image[0, 0, 0] = value
        ds["T2w"] = ds["T2w"].copy(data=image)
        return ds
    return edit


def _unreadable(ds):
    def read():
        raise OSError("/data/bad/T2w.nii.gz: gzip stream ends early (truncated file)")
    ds["T2w"] = ds["T2w"].copy(data=da.from_delayed(dask.delayed(read, pure=True)(), shape=ds["T2w"].shape,
                                                    dtype=np.float32))
    return ds


# id -> (edit of case "bad", the file at fault, words the message must contain)
BAD_CASES = {
    "label-absent": (_labels_2_and_3, "tumour", ["no voxel with label 1", "labels present: [2, 3]"]),
    "empty-mask": (lambda ds: _mask(ds, np.zeros((8, 10, 10), np.uint8)), "tumour", ["is empty"]),
    "single-voxel-roi": (lambda ds: _mask(ds, _roi((3, 4, 4))), "tumour",
                         ["has 1 voxel(s), too few", "single voxel", "check the mask"]),
    "one-dimensional-roi": (lambda ds: _mask(ds, _roi((3, 4, slice(2, 7)))), "tumour",
                            ["has 5 voxel(s), too few", "too few dimensions", "minimumROIDimensions"]),
    "probability-mask": (_probability, "tumour", ["not whole numbers", "0.9", "threshold"]),
    "nan-in-mask": (_nan_in_mask, "tumour", ["1 voxels that are not whole numbers", "nan"]),
    "nan-image-voxels": (_with_image_value(np.nan), "T2w", ["2 NaN or infinite voxels", "1 inside the ROI"]),
    "inf-image-voxels": (_with_image_value(np.inf), "T2w", ["2 NaN or infinite voxels"]),
    "unreadable-image": (_unreadable, "T2w", ["cannot read 'T2w' from /data/bad/T2w.nii.gz", "truncated"]),
}


@pytest.mark.parametrize("kind", list(BAD_CASES))
def test_bad_case(kind):
    edit, variable, words = BAD_CASES[kind]
    good = {name: _case(name, seed) for seed, name in enumerate(("a", "b"))}
    cases = [("a", good["a"]), ("bad", edit(_case("bad", 7))), ("b", good["b"])]
    df = extract(cases, SMALL, scheduler="sync", cache=False, progress=False)
    assert list(df.index) == ["a", "b"]  # no number for the bad case
    for name, ds in good.items():  # the others, right
        inside = ds["tumour"].values == 1
        assert df.loc[name, MEAN] == pytest.approx(ds["T2w"].values[inside].mean(), rel=1e-6)
    table = errors(df)
    assert table.case.tolist() == ["bad"]
    row = table.iloc[0]
    assert row.file == f"/data/bad/{variable}.nii.gz"
    assert row.message.startswith("case 'bad': ")
    for word in words:
        assert word in row.message
    assert "Traceback" not in row.message


def test_pyradiomics_messages_name_the_case_and_both_files():
    df = extract([("bad", _mask(_case("bad"), _roi((3, 4, 4))))], SMALL, scheduler="sync", cache=False,
                 progress=False)
    message = errors(df).message[0]
    assert message.startswith("case 'bad': pyradiomics cannot extract image 'T2w' (/data/bad/T2w.nii.gz) with mask "
                              "'tumour': the ROI (label 1) has 1 voxel(s)")
    assert errors(df).file[0] == "/data/bad/tumour.nii.gz"


@pytest.mark.parametrize("cases, ids, words", [
    (lambda: [("a", _case("a")), ("a", _case("a", 3))], None, ["case id 'a' is given more than once"]),
    (lambda: [("a", _case("a")), ("bad", _case("bad")["T2w"])], None, ["is a DataArray, not an xarray.Dataset"]),
    (lambda: [("a", _case("a"))], ["a", "bad"], ["case 'bad' (in 'ids') is not among the cases given"]),
], ids=["duplicate-case-id", "not-a-dataset", "unknown-id"])
def test_bad_case_list(cases, ids, words):
    df = extract(cases(), SMALL, ids=ids, scheduler="sync", cache=False, progress=False)
    assert list(df.index) == ["a"]
    inside = _case("a")["tumour"].values == 1
    assert df.loc["a", MEAN] == pytest.approx(_case("a")["T2w"].values[inside].mean(), rel=1e-6)  # the first 'a'
    table = errors(df)
    assert len(table) == 1 and all(word in table.message[0] for word in words)


def test_every_case_failing_gives_an_empty_table_with_every_error():
    """What ``radlab extract`` exits 3 for: no row, every case in the error table."""
    cases = [(name, _mask(_case(name), np.zeros((8, 10, 10), np.uint8))) for name in ("a", "b", "c")]
    df = extract(cases, SMALL, scheduler="sync", cache=False, progress=False)
    assert df.empty and len(df) == 0 and df.index.name == "case"
    assert errors(df).case.tolist() == ["a", "b", "c"]
    assert errors(df).file.tolist() == [f"/data/{n}/tumour.nii.gz" for n in "abc"]
    assert df.attrs["provenance"]["computed"] == [] and df.attrs["provenance"]["nan_features"] == {}


def test_case_failure_is_a_radlab_error():
    exc = CaseFailure("mask 'tumour' is empty", "/data/x/tumour.nii.gz", case="x")
    assert isinstance(exc, RadlabError) and exc.exit_code == EXIT_FAILED_CASES
    assert (exc.file, exc.case) == ("/data/x/tumour.nii.gz", "x")


def test_one_case_id_given_as_a_string_is_one_case():
    """``ids="p10"`` is one case id, not the ids "p", "1" and "0" (each would be an unknown-case error row)."""
    cases = [("p10", _case("p10")), ("p", _case("p", seed=1))]
    df = extract(cases, SMALL, ids="p10", scheduler="sync", cache=False, progress=False)
    assert list(df.index) == ["p10"] and errors(df).empty
    assert df.loc["p10", MEAN] == extract(cases[:1], SMALL, scheduler="sync", cache=False, progress=False).loc["p10", MEAN]
