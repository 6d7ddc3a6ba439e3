"""Lazy cohorts: structure, laziness (no voxel reads before compute), subsetting, grids, acquisition."""

from __future__ import annotations

import dask
import numpy as np
import pytest
import SimpleITK as sitk

from radlab.datasets import CENTRES


class VoxelReads:
    """Counts SimpleITK voxel reads and forbids dask computation while active, unless allowed."""

    def __init__(self, monkeypatch):
        self.count, self.paths = 0, []
        original = sitk.ReadImage

        def counting(*args, **kwargs):
            self.count += 1
            self.paths.append(str(args[0]))
            return original(*args, **kwargs)

        monkeypatch.setattr(sitk, "ReadImage", counting)


def forbid_compute(dsk, keys, **kwargs):
    raise AssertionError("dask computed something while building lazy objects")


def test_opening_listing_subsetting_and_building_cases_reads_no_voxels(catalog, monkeypatch):
    reads = VoxelReads(monkeypatch)
    with dask.config.set(scheduler=forbid_compute):
        cohort = catalog["demo"]
        train = cohort.subset(split="train")
        datasets = [cohort.case(i) for i in cohort.ids]
        assert len(datasets) == 30
    assert reads.count == 0
    with dask.config.set(scheduler=forbid_compute):
        grid = train.to_grid(spacing=(3.0, 1.0, 1.0), shape=(8, 24, 24))
    # to_grid reads each case's ROI mask (to find its box and leave out empty ones) and no image
    assert grid.shape[0] == len(train) and reads.count == len(train)
    assert sorted(reads.paths) == sorted(train.case(i)["tumour_pre"].attrs["source"] for i in train.ids)
    reads.count = 0
    values = datasets[0]["T2w_pre"].compute()
    assert reads.count == 1
    ref = sitk.GetArrayFromImage(sitk.ReadImage(datasets[0]["T2w_pre"].attrs["source"]))
    np.testing.assert_array_equal(values.values, ref)


def test_case_dataset_has_images_masks_and_physical_coordinates(catalog):
    cohort = catalog["demo"]
    ds = cohort.case(cohort.ids[0])
    assert set(ds.data_vars) == {"T2w_pre", "ADC_pre", "tumour_pre", "T2w_post", "ADC_post", "tumour_post"}
    assert cohort.images == ["T2w_pre", "ADC_pre", "T2w_post", "ADC_post"]
    assert cohort.masks == ["tumour_pre", "tumour_post"]
    image = ds["T2w_pre"]
    assert image.dims == ("z", "y", "x")
    assert image.attrs["role"] == "image" and image.attrs["timepoint"] == "pre" and image.attrs["sequence"] == "T2w"
    assert ds["tumour_post"].attrs == {**ds["tumour_post"].attrs, "role": "mask", "image": "T2w_post"}
    sx, sy, sz = image.attrs["spacing"]
    np.testing.assert_allclose(np.diff(ds.z), sz)
    np.testing.assert_allclose(np.diff(ds.x), sx)
    assert float(ds.x[0]) == pytest.approx(image.attrs["origin"][0])
    assert ds.attrs == {"case": cohort.ids[0], "cohort": "demo"}


def test_clinical_outcomes_and_batches(catalog):
    cohort = catalog["demo"]
    clinical = cohort.clinical
    assert list(clinical.index) == cohort.ids and clinical.index.name == "case"
    assert cohort.outcomes == {"label": "pcr", "time": "os_months", "event": "os_event"}
    assert cohort.batch == ["centre", "scanner"]
    assert set(clinical.loc[clinical.split == "external", "centre"]) == {"D"}
    assert cohort.ground_truth["cases"].keys() == set(cohort.ids)


def test_subset_by_ids_column_and_query(catalog):
    cohort = catalog["demo"]
    a = cohort.subset(centre="A")
    assert len(a) and set(a.clinical.centre) == {"A"}
    ext = cohort.subset(split="external")
    assert len(ext) == 6
    old = cohort.subset(query="age >= 60")
    assert (old.clinical.age >= 60).all() and len(old) == int((cohort.clinical.age >= 60).sum())
    two = cohort.subset(cohort.ids[:2])
    assert two.ids == cohort.ids[:2] and two.case(cohort.ids[1]).attrs["case"] == cohort.ids[1]
    with pytest.raises(KeyError, match="no cases \\['zzz'\\]"):
        cohort.subset(["zzz"])
    with pytest.raises(KeyError, match="no clinical column 'hospital'"):
        cohort.subset(hospital="A")


def test_acquisition_table_from_sidecars_and_dicom(catalog):
    cohort = catalog["demo"]
    acq = cohort.acquisition()
    assert len(acq) == 4 * len(cohort)
    centres = {c.name: c for c in CENTRES}
    for _, row in acq.iterrows():
        centre = centres[cohort.clinical.at[row.case, "centre"]]
        assert row.vendor == centre.vendor and row.model == centre.model
        assert row.field_strength == centre.field_strength
        assert row.repetition_time == pytest.approx(centre.tr) and row.echo_time == pytest.approx(centre.te)
        assert (row.spacing_x, row.spacing_z) == pytest.approx((centre.spacing[0], centre.spacing[2]))
    dicom = catalog["demo-dicom"].acquisition()
    assert set(dicom.format) == {"dicom"} and dicom.vendor.notna().all()


def test_to_grid_centres_the_roi(catalog):
    cohort = catalog["demo"].subset(split="train")
    grid = cohort.to_grid(spacing=(3.0, 1.0, 1.0), shape=(12, 40, 40), images=["T2w_pre", "ADC_pre"], include_mask=True)
    assert grid.dims == ("case", "channel", "z", "y", "x")
    assert list(grid.channel.values) == ["T2w_pre", "ADC_pre", "tumour_pre"]
    values = grid.isel(case=slice(0, 3)).compute()
    for case in values.case.values:
        mask = values.sel(case=case, channel="tumour_pre")
        assert mask.sum() > 0
        # the centre of the ROI box sits at the grid centre, within a voxel
        for dim, step in zip("zyx", (3.0, 1.0, 1.0)):
            inside = mask[dim].values[(mask.sum([d for d in "zyx" if d != dim]) > 0).values]
            assert abs((inside.min() + inside.max()) / 2) <= step
    # crop-and-resize: the ROI box plus margin fills the grid
    resized = cohort.to_grid(spacing=None, shape=(8, 32, 32), margin=0.0, include_mask=True, images=["T2w_pre"])
    mask = resized.isel(case=0).sel(channel="tumour_pre").compute()
    assert mask.isel(x=slice(0, 2)).sum() > 0 and mask.isel(x=slice(-2, None)).sum() > 0


def test_to_grid_rejects_bad_arguments(catalog):
    cohort = catalog["demo"]
    with pytest.raises(ValueError, match="The 'crop' parameter of to_grid must be 'roi' or None. Got 'box'"):
        cohort.to_grid(crop="box")
    with pytest.raises(ValueError, match="'spacing' parameter of to_grid may be None only with crop='roi'"):
        cohort.to_grid(spacing=None, crop=None)


def test_pyradiomics_samples_open_lazily_with_matching_masks(catalog):
    cohort = catalog["pyradiomics-samples"]
    assert cohort.ids == ["brain1", "brain2", "breast1", "lung1", "lung2"]
    ds = cohort.case("lung1")
    assert ds["label"].dims == ds["image"].dims == ("z", "y", "x")
    assert ds["image"].attrs["format"] == "nrrd"
    label = ds["label"].values
    assert label.max() >= 1 and label.shape == ds["image"].shape


def test_header_cache_is_reused(catalog, monkeypatch):
    import radlab.io._index as index

    cohort = catalog["demo"]
    cohort.headers(progress=False)
    calls = []
    monkeypatch.setattr(index, "read_header", lambda *a: calls.append(a))
    cohort.headers(progress=False)
    assert calls == []


def test_header_cache_saves_periodically_and_reloads(catalog, tmp_path, monkeypatch):
    from radlab.io._index import HeaderIndex

    monkeypatch.setenv("RADLAB_CACHE", str(tmp_path))
    cohort = catalog["demo"]
    paths = [f.path for case in cohort.ids[:3] for f in cohort._files(case) if f.kind == "image"]
    index = HeaderIndex(cohort.root, save_every=2)  # saves while adding: must not deadlock
    headers = [index.get(p, "nifti") for p in paths]
    index.save()
    reloaded = HeaderIndex(cohort.root)
    assert [reloaded.get(p, "nifti") for p in paths] == headers
    assert reloaded._dirty == 0  # everything came from the file


def test_cases_on_one_grid_share_read_only_coordinates(catalog):
    cohort = catalog["demo"]
    by_centre = cohort.clinical.groupby("centre").groups
    a, b = (cohort.case(i) for i in list(by_centre["A"])[:2])
    assert a.z.equals(b.z)
    with pytest.raises(ValueError, match="read-only"):
        a["z"].values[0] = 99.0
    a.z.attrs["note"] = 1
    assert "note" not in b.z.attrs
