"""DICOM readers against the NIfTI files the same demo case was written from."""

from __future__ import annotations

import shutil

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from radlab.io import detect_format, read_header
from radlab.io._readers import ReadError, read_mask_voxels


@pytest.fixture
def dicom_case(catalog, data_root):
    cohort = catalog["demo-dicom"]
    case = cohort.ids[0]
    nifti = data_root / "demo"
    return cohort, case, nifti / "images" / case / "T2w_pre.nii.gz", nifti / "masks" / case / "tumour_pre.nii.gz"


def test_series_matches_nifti_voxels_and_geometry(dicom_case):
    cohort, case, image_path, _ = dicom_case
    ds = cohort.case(case)
    ref = sitk.ReadImage(str(image_path))
    ref_array = sitk.GetArrayFromImage(ref)
    assert ds["T2w"].attrs["spacing"] == pytest.approx(ref.GetSpacing())
    assert ds["T2w"].attrs["origin"] == pytest.approx(ref.GetOrigin(), abs=1e-4)
    assert ds["T2w"].attrs["direction"] == pytest.approx(ref.GetDirection())
    slope = float(pydicom.dcmread(next((image_path.parents[2] / "dicom" / case / "T2w").iterdir())).RescaleSlope)
    # stored as int16 * RescaleSlope: values agree to half a quantisation step
    np.testing.assert_allclose(ds["T2w"].values, ref_array, atol=slope / 2 + 1e-3)


@pytest.mark.parametrize("mask", ["tumour_rt", "tumour_seg"])
def test_rtstruct_and_seg_rasterise_to_the_label_map(dicom_case, mask):
    cohort, case, _, mask_path = dicom_case
    expected = sitk.GetArrayFromImage(sitk.ReadImage(str(mask_path)))
    values = cohort.case(case)[mask].values
    # contours run between voxel centres, so even-odd polygon filling recovers the voxels exactly
    np.testing.assert_array_equal(values, expected)


def test_headers_carry_acquisition_parameters(dicom_case, catalog):
    cohort, case, _, _ = dicom_case
    header = read_header(cohort.case(case)["T2w"].attrs["source"])
    centre = cohort.clinical.at[case, "centre"]
    from radlab.datasets import CENTRES

    c = {x.name: x for x in CENTRES}[centre]
    assert header.meta["vendor"] == c.vendor and header.meta["model"] == c.model
    assert header.meta["field_strength"] == c.field_strength
    assert header.meta["repetition_time"] == pytest.approx(c.tr) and header.meta["echo_time"] == pytest.approx(c.te)
    assert header.meta["slice_thickness"] == pytest.approx(c.spacing[2])


def test_formats_are_detected(dicom_case, tmp_path):
    cohort, case, image_path, _ = dicom_case
    folder = image_path.parents[2] / "dicom" / case
    assert detect_format(folder / "T2w") == "dicom"
    assert detect_format(folder / "rtstruct.dcm") == "rtstruct"
    assert detect_format(folder / "seg.dcm") == "seg"
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ReadError, match="unknown image format"):
        detect_format(tmp_path / "notes.txt")
    with pytest.raises(ReadError, match="missing.dcm: file not found"):
        detect_format(tmp_path / "missing.dcm")


def test_missing_slice_is_reported(dicom_case, tmp_path):
    cohort, case, image_path, _ = dicom_case
    series = tmp_path / "series"
    shutil.copytree(image_path.parents[2] / "dicom" / case / "T2w", series)
    (series / "slice005.dcm").unlink()
    with pytest.raises(ReadError, match=f"{series}: missing or overlapping slices"):
        read_header(series)


def test_unknown_roi_lists_the_rois(dicom_case):
    cohort, case, _, _ = dicom_case
    ds = cohort.case(case)
    header = read_header(ds["T2w"].attrs["source"])
    with pytest.raises(ReadError, match=r"no ROI named 'CTV' \(ROIs: \['GTV'\]\)"):
        read_mask_voxels(ds["tumour_rt"].attrs["source"], "rtstruct", header, roi="CTV")
