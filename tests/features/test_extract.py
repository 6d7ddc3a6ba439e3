"""extract(): pairs and prefixes, error table, on-disk cache, provenance, parameter validation."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from radlab.features import errors, extract, load_params, param_hash

SMALL = {"setting": {"binCount": 16, "label": 1}, "imageType": {"Original": {}},
         "featureClass": {"firstorder": ["Mean", "Maximum"], "shape": ["VoxelVolume"]}}


def test_every_image_on_the_mask_grid_is_extracted_with_prefixes(synthetic_case):
    ds = synthetic_case(0, two_sequences=True)
    df = extract([("c0", ds)], SMALL, scheduler="sync", cache=False, progress=False)
    assert sorted(df.columns) == sorted(f"{img}__tumour__original_{f}" for img in ("T2w", "ADC")
                                        for f in ("firstorder_Mean", "firstorder_Maximum", "shape_VoxelVolume"))
    inside = ds["tumour"].values == 1
    for img in ("T2w", "ADC"):  # reference: numpy on the same voxels
        assert df.loc["c0", f"{img}__tumour__original_firstorder_Mean"] == pytest.approx(ds[img].values[inside].mean(), rel=1e-6)
    # voxel volume in mm3 = count x 1 x 1 x 2
    assert df.loc["c0", "T2w__tumour__original_shape_VoxelVolume"] == inside.sum() * 2.0


def test_explicit_pairs(synthetic_case):
    df = extract([("c0", synthetic_case(0, two_sequences=True))], SMALL, pairs=[("ADC", "tumour")],
                 scheduler="sync", cache=False, progress=False)
    assert {c.split("__")[0] for c in df.columns} == {"ADC"}


class _Cohort:
    """A cohort-like object whose case() may raise, as radlab.cohort.Cohort does for bad files."""

    def __init__(self, cases):
        self.cases = cases

    @property
    def ids(self):
        return list(self.cases)

    def case(self, case_id):
        value = self.cases[case_id]
        if isinstance(value, Exception):
            raise value
        return value


def test_failing_cases_go_to_the_error_table_and_others_complete(synthetic_case, tmp_path):
    good = synthetic_case(1)
    empty = synthetic_case(2)
    empty["tumour"].values[:] = 0
    empty["tumour"].attrs["source"] = "/data/p2/mask.nii.gz"
    shifted = synthetic_case(3)
    shifted["tumour"].attrs["origin"] = (5.0, 0.0, 0.0)
    shifted["tumour"].attrs["source"] = "/data/p3/mask.nii.gz"
    cohort = _Cohort({"p1": good, "p2": empty, "p3": shifted,
                      "p4": OSError("cohort 'x', case 'p4': cannot read /data/p4/T2w.nii.gz: truncated file")})
    df = extract(cohort, SMALL, scheduler="sync", cache=tmp_path, progress=False)
    assert list(df.index) == ["p1"]
    table = errors(df).set_index("case")
    assert list(table.index) == ["p2", "p3", "p4"]
    assert table.loc["p2", "file"] == "/data/p2/mask.nii.gz" and "empty" in table.loc["p2", "message"]
    assert table.loc["p3", "file"] == "/data/p3/mask.nii.gz" and "origin" in table.loc["p3", "message"]
    assert table.loc["p4", "file"] == "/data/p4/T2w.nii.gz"
    assert len(list(tmp_path.glob("*/*.json"))) == 2  # params.json + p1; failures are not cached


def test_cache_rerun_recomputes_nothing_and_params_change_recomputes(synthetic_case, tmp_path):
    cases = [(f"c{i}", synthetic_case(i)) for i in range(3)]
    first = extract(cases, SMALL, scheduler="sync", cache=tmp_path, progress=False)
    assert sorted(first.attrs["provenance"]["computed"]) == ["c0", "c1", "c2"]
    again = extract(cases, SMALL, scheduler="sync", cache=tmp_path, progress=False)
    assert again.attrs["provenance"]["computed"] == [] and sorted(again.attrs["provenance"]["cached"]) == ["c0", "c1", "c2"]
    assert again.equals(first)
    other = {**SMALL, "setting": {"binCount": 8, "label": 1}}
    assert sorted(extract(cases, other, scheduler="sync", cache=tmp_path, progress=False).attrs["provenance"]["computed"]) == ["c0", "c1", "c2"]
    changed = cases[0][1].copy(deep=True)
    changed["T2w"].values[0, 0, 0] += 1.0  # different voxels -> different record
    assert extract([("c0", changed)], SMALL, scheduler="sync", cache=tmp_path, progress=False).attrs["provenance"]["computed"] == ["c0"]


def test_provenance_and_source_hashes(sample_case, pyradiomics_samples, tmp_path):
    import hashlib

    df = extract([("brain2", sample_case("brain2"))], SMALL, scheduler="sync", cache=tmp_path, progress=False)
    prov = df.attrs["provenance"]
    assert prov["extractor"] == "pyradiomics" and prov["version"].startswith("3.0.1")
    assert prov["param_hash"] == param_hash(load_params(SMALL), backend="pyradiomics", version=prov["version"])
    label = pyradiomics_samples / "brain2_label.nrrd"
    assert prov["sources"]["brain2"]["label"] == {"file": str(label), "sha256": hashlib.sha256(label.read_bytes()).hexdigest()}
    record = json.loads(next(p for p in (tmp_path / prov["param_hash"]).glob("brain2-*.json")).read_text())
    assert record["features"] == pytest.approx(df.loc["brain2"].to_dict())


def test_presets_load_and_cover_the_issue_feature_set():
    ct, mr, demo = load_params("ct"), load_params("mr"), load_params("demo")
    for p in (ct, mr):
        assert set(p["imageType"]) == {"Original", "LoG", "Wavelet"} and p["imageType"]["LoG"]["sigma"] == [2.0, 3.0, 4.0, 5.0]
        assert set(p["featureClass"]) == {"shape", "firstorder", "glcm", "glrlm", "glszm", "gldm", "ngtdm"}
    assert ct["setting"]["binWidth"] == 25 and mr["setting"]["binCount"] == 64
    assert list(demo["imageType"]) == ["Original"]


def test_bad_arguments_name_the_parameter(synthetic_case):
    with pytest.raises(ValueError, match="The 'params' parameter of extract must be a preset name"):
        extract([("c", synthetic_case(0))], "nonexistent-preset", scheduler="sync", cache=False)
    with pytest.raises(ValueError, match="The 'backend' parameter of extract must be one of"):
        extract([("c", synthetic_case(0))], SMALL, backend="other", scheduler="sync", cache=False)
    df = extract([("c", synthetic_case(0))], SMALL, pairs=[("T2w", "nope")], scheduler="sync", cache=False, progress=False)
    assert "The 'pairs' parameter of extract names variable 'nope'" in errors(df).message[0]


def test_lazy_cohort_case(catalog, tmp_path):
    """On the lead's demo cohort (lazy Datasets from NIfTI files): both sequences and timepoints are extracted."""
    cohort = catalog["demo"]
    ids = cohort.ids[:2]
    df = extract(cohort, SMALL, ids=ids, scheduler="sync", cache=tmp_path, progress=False)
    assert list(df.index) == ids and errors(df).empty
    prefixes = {tuple(c.split("__")[:2]) for c in df.columns}
    assert prefixes == {("T2w_pre", "tumour_pre"), ("ADC_pre", "tumour_pre"), ("T2w_post", "tumour_post"),
                        ("ADC_post", "tumour_post")}
    assert np.isfinite(df.to_numpy()).all()
    ds = cohort.case(ids[0])
    mask = ds["tumour_pre"].values == 1
    assert df.loc[ids[0], "T2w_pre__tumour_pre__original_firstorder_Mean"] == pytest.approx(ds["T2w_pre"].values[mask].mean(), rel=1e-5)
    assert isinstance(ds, xr.Dataset)
