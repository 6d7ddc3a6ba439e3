"""Bad input at the DICOM readers: series folders, enhanced multi-frame images, RTSTRUCT and SEG masks.

The two demo DICOM cases are copied into a fresh cohort ``d`` (T2w series, RTSTRUCT ``GTV``, SEG ``tumour``); each
kind breaks the first case one way and asserts the exact outcome: a ReadError naming the file (``.file``) with the
key words, the case named by the cohort and by ``check()``, the other case still read voxel-exactly, and no voxel
value produced for the broken input. Skipped files (localizers, non-DICOM files) are recorded in
``Header.notes`` and the series still reads exactly.
"""

from __future__ import annotations

import math
import os
import shutil

import numpy as np
import pandas as pd
import pydicom
import pytest
import SimpleITK as sitk
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from radlab.catalog import Catalog
from radlab.cohort import CaseError
from radlab.io import read_header, read_mask_voxels
from radlab.io._header import ReadError

CATALOG = """
cohorts:
  d:
    images: {T2w: {path: "dicom/{case}/T2w", format: dicom}}
    masks:
      tumour_rt: {path: "dicom/{case}/rtstruct.dcm", format: rtstruct, roi: GTV, image: T2w}
      tumour_seg: {path: "dicom/{case}/seg.dcm", format: seg, roi: tumour, image: T2w}
    clinical: {path: clinical.csv}
"""


def write_catalog(root, text: str) -> None:
    (root / "catalog.yaml").write_text(text)


def open_m(root, name: str = "d"):
    """Cohort ``name`` of ``root/catalog.yaml`` (a new Catalog: nothing cached between opens)."""
    return Catalog(root / "catalog.yaml")[name]


@pytest.fixture
def dicom_messy(tmp_path, data_root):
    """The demo DICOM cases in a fresh cohort folder (catalog cohort ``d``); returns (folder, ids, data_root)."""
    src = data_root / "demo" / "dicom"
    clinical = pd.read_csv(src / "clinical.csv", dtype={"case_id": str})
    for case in clinical.case_id:
        shutil.copytree(src / case, tmp_path / "dicom" / case)
    clinical.to_csv(tmp_path / "clinical.csv", index=False)
    write_catalog(tmp_path, CATALOG)
    return tmp_path, list(clinical.case_id), data_root


def _slices(series):
    return sorted(series.glob("slice*.dcm"))


def _edit(path, fn):
    ds = pydicom.dcmread(path)
    fn(ds)
    ds.save_as(path)


def _copy_slice(src, dst, **changes):
    ds = pydicom.dcmread(src)
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    for key, value in changes.items():
        setattr(ds, key, value)
    ds.save_as(dst)
    return dst


def _expected(data_root, case):
    """(image, mask) arrays of the NIfTI files the DICOM case was written from."""
    read = lambda sub, name: sitk.GetArrayFromImage(sitk.ReadImage(str(data_root / "demo" / sub / case / name)))
    return read("images", "T2w_pre.nii.gz"), read("masks", "tumour_pre.nii.gz")


def _assert_reads_exactly(ds, data_root, case, masks=("tumour_rt", "tumour_seg")):
    image, mask = _expected(data_root, case)
    slope = float(pydicom.dcmread(next(iter(_slices(data_root / "demo" / "dicom" / case / "T2w")))).RescaleSlope)
    np.testing.assert_allclose(ds["T2w"].values, image, atol=slope / 2 + 1e-3)
    for var in masks:
        np.testing.assert_array_equal(ds[var].values, mask)


def _assert_only_problem(cohort, bad, path, words):
    problems = cohort.check(progress=False)
    assert list(problems.case) == [bad], problems
    text = problems.problem.iloc[0]
    assert str(path) in text and all(w in text for w in words), text


# ------------------------------------------------------------------ series folders: breaker(series) -> (file, words)
def _without(key, index):
    def breaker(series):
        path = _slices(series)[index]
        _edit(path, lambda ds: delattr(ds, key))
        return path, [f"image slice without {key}", "does not guess it"]
    return breaker


def _odd_slice(key, value, index=4):
    def breaker(series):
        path = _slices(series)[index]
        _edit(path, lambda ds: setattr(ds, key, value))
        return path, [key, "differs from the rest of the series", str(series)]
    return breaker


def _tilted(ds):
    t = math.radians(5)
    ds.ImageOrientationPatient = [1, 0, 0, 0, math.cos(t), math.sin(t)]


def _tilted_slice(series):
    path = _slices(series)[6]
    _edit(path, _tilted)
    return path, ["ImageOrientationPatient", "differs from the rest of the series"]


def _damaged_file(series):
    path = series / "slice100.dcm"
    path.write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00garbage" * 40)
    return path, ["damaged DICOM file", "replace it with an intact copy"]


def _truncated_header(series):
    path = _slices(series)[7]
    path.write_bytes(path.read_bytes()[:1000])
    return path, ["image slice without", "incomplete or damaged"]


def _mixed_modalities(series):
    _edit(_slices(series)[3], lambda ds: setattr(ds, "Modality", "CT"))
    return series, ["several modalities", f"'MR': {len(_slices(series)) - 1}", "'CT': 1"]


def _two_series(series):
    uid = generate_uid()
    for i, f in enumerate(_slices(series)):
        _copy_slice(f, series / f"dwi{i:03d}.dcm", SeriesInstanceUID=uid, SeriesDescription="DWI b1000")
    first, n = pydicom.dcmread(_slices(series)[0]), len(_slices(series))
    return series, ["holds 2 DICOM series", f"{first.SeriesInstanceUID} ('T2w TSE', {n} files)", f"{uid} ('DWI b1000', {n} files)"]


def _duplicate_position(series):
    _copy_slice(_slices(series)[5], series / "slice005_copy.dcm")
    return series, ["lie at the same position", "slice005.dcm and", "slice005_copy.dcm"]


def _missing_slice(series):
    _slices(series)[5].unlink()
    return series, ["missing or overlapping slices", "slice004.dcm and", "slice006.dcm", "restore the missing slices"]


def _gantry_tilt(series):
    for k, f in enumerate(_slices(series)):
        _edit(f, lambda ds: setattr(ds, "ImagePositionPatient",
                                    [ds.ImagePositionPatient[0], ds.ImagePositionPatient[1] + 0.5 * k, ds.ImagePositionPatient[2]]))
    return series, ["not stacked along their normal", "gantry tilt"]


def _multiframe(series, out):
    import highdicom as hd

    legacy = [pydicom.dcmread(f) for f in _slices(series)]
    hd.legacy.LegacyConvertedEnhancedMRImage(legacy_datasets=legacy, series_instance_uid=generate_uid(), series_number=9,
                                             sop_instance_uid=generate_uid(), instance_number=1).save_as(out)
    return out


def _multiframe_and_slices(series):
    _multiframe(series, series / "enhanced.dcm")
    return series, ["multi-frame image (enhanced.dcm)", f"{len(_slices(series))} other image files", "one series per folder"]


def _truncated_pixels(series):
    path = _slices(series)[8]
    path.write_bytes(path.read_bytes()[:-1000])
    return path, ["damaged DICOM file", "pixel data cannot be read"]


SERIES_KINDS = {  # id: (breaker, "header": the case cannot be built / "voxels": its image cannot be computed)
    "slice-without-position": (_without("ImagePositionPatient", 5), "header"),
    "first-slice-without-position": (_without("ImagePositionPatient", 0), "header"),
    "slice-without-orientation": (_without("ImageOrientationPatient", 9), "header"),
    "slice-without-pixel-spacing": (_without("PixelSpacing", 3), "header"),
    "slice-other-matrix": (_odd_slice("Rows", 48), "header"),
    "slice-other-pixel-spacing": (_odd_slice("PixelSpacing", [2.0, 2.0]), "header"),
    "slice-tilted": (_tilted_slice, "header"),
    "damaged-file": (_damaged_file, "header"),
    "truncated-slice-header": (_truncated_header, "header"),
    "mixed-modalities": (_mixed_modalities, "header"),
    "two-series-in-folder": (_two_series, "header"),
    "duplicate-slice-position": (_duplicate_position, "header"),
    "missing-slice": (_missing_slice, "header"),
    "gantry-tilt-shear": (_gantry_tilt, "header"),
    "multiframe-among-slices": (_multiframe_and_slices, "header"),
    "truncated-pixel-data": (_truncated_pixels, "voxels"),
}


@pytest.mark.parametrize("kind", list(SERIES_KINDS))
def test_broken_series_names_case_and_file_and_the_rest_completes(dicom_messy, kind):
    root, ids, data_root = dicom_messy
    series = root / "dicom" / ids[0] / "T2w"
    breaker, level = SERIES_KINDS[kind]
    path, words = breaker(series)
    cohort = open_m(root, "d")
    if level == "header":
        with pytest.raises(CaseError) as err:
            cohort.case(ids[0])
        assert f"case '{ids[0]}'" in str(err.value)
        with pytest.raises(ReadError) as err:
            read_header(series)
    else:
        with pytest.raises(ReadError) as err:
            cohort.case(ids[0])["T2w"].values  # no number comes out of the broken series
    assert err.value.file == str(path)
    message = str(err.value)
    assert f"{path}: " in message and all(w in message for w in words), message
    _assert_only_problem(cohort, ids[0], path, words)
    _assert_reads_exactly(cohort.case(ids[1]), data_root, ids[1])


# ------------------------------------------------------------------ skipped and noted: the series still reads exactly
def _localizer(series):
    _copy_slice(_slices(series)[0], series / "localizer.dcm", ImageType=["ORIGINAL", "PRIMARY", "LOCALIZER"],
                SeriesInstanceUID=generate_uid(), ImageOrientationPatient=[0, 1, 0, 0, 0, -1])
    return ("skipped 1 localizer slice: localizer.dcm",)


def _lone_sagittal(series):
    _copy_slice(_slices(series)[0], series / "scout.dcm", ImageOrientationPatient=[0, 1, 0, 0, 0, -1])
    return ("skipped 1 localizer slice: scout.dcm",)


def _non_dicom_files(series):
    (series / "README.txt").write_text("exported by the PACS\n")
    (series / ".DS_Store").write_bytes(b"\0\0\0\1Bud1" + b"\0" * 200)
    return ("skipped 2 non-DICOM files: .DS_Store, README.txt",)


def _non_image_objects(series):
    shutil.copy(series.parent / "rtstruct.dcm", series / "rtstruct.dcm")
    directory = pydicom.dcmread(series.parent / "rtstruct.dcm")  # a DICOMDIR: a directory record, no image
    directory.file_meta.MediaStorageSOPClassUID = directory.SOPClassUID = "1.2.840.10008.1.3.10"
    for key in ("ROIContourSequence", "StructureSetROISequence", "Modality"):
        delattr(directory, key)
    directory.save_as(series / "DICOMDIR")
    return ("skipped 2 non-image DICOM objects: DICOMDIR (Media Storage Directory Storage), "
            "rtstruct.dcm (RT Structure Set Storage)",)


NOTED_KINDS = {
    "localizer-image-type": _localizer,
    "lone-slice-other-orientation": _lone_sagittal,
    "non-dicom-files": _non_dicom_files,
    "non-image-dicom-objects": _non_image_objects,
}


@pytest.mark.parametrize("kind", list(NOTED_KINDS))
def test_skipped_files_are_noted_and_the_series_reads_exactly(dicom_messy, kind):
    root, ids, data_root = dicom_messy
    series = root / "dicom" / ids[0] / "T2w"
    n = len(_slices(series))
    notes = NOTED_KINDS[kind](series)
    header = read_header(series)
    assert header.notes == notes and header.files == tuple(str(f) for f in _slices(series)[:n])
    cohort = open_m(root, "d")
    _assert_reads_exactly(cohort.case(ids[0]), data_root, ids[0])
    problems = cohort.check(progress=False)  # the note is listed, so nothing is skipped silently
    assert list(problems.case) == [ids[0]] and problems.problem.iloc[0] == notes[0]


def test_enhanced_multiframe_image_reads_like_its_series(dicom_messy):
    root, ids, data_root = dicom_messy
    series = root / "dicom" / ids[0] / "T2w"
    classic = read_header(series)
    folder = root / "dicom" / ids[0] / "enhanced"
    folder.mkdir()
    _multiframe(series, folder / "enhanced.dcm")
    header = read_header(folder)
    assert header.shape == classic.shape and header.files == (str(folder / "enhanced.dcm"),)
    for key in ("spacing", "origin", "direction"):
        np.testing.assert_allclose(getattr(header, key), getattr(classic, key), atol=1e-4)
    write_catalog(root, CATALOG.replace("dicom/{case}/T2w", "dicom/{case}/enhanced"))
    cohort = open_m(root, "d")
    ds = cohort.case(ids[0])
    assert ds["T2w"].dtype == ds["T2w"].values.dtype == np.float32
    _assert_reads_exactly(ds, data_root, ids[0], masks=("tumour_rt",))
    with pytest.raises(ReadError, match="this SEG does not belong to image .*enhanced: it references series"):
        ds["tumour_seg"].values  # the SEG references the single-frame series, a series of its own


def test_unsigned_16_bit_series_keeps_its_values_and_declared_dtype(dicom_messy):
    root, ids, data_root = dicom_messy
    series = root / "dicom" / ids[0] / "T2w"

    def unsigned(ds):
        values = np.clip(ds.pixel_array.astype(np.int32) + 33000, 0, 65535)  # beyond int16
        ds.PixelRepresentation, ds.RescaleSlope, ds.RescaleIntercept = 0, 1, 0
        ds.PixelData = values.astype(np.uint16).tobytes()
    originals = [np.clip(pydicom.dcmread(f).pixel_array.astype(np.int32) + 33000, 0, 65535) for f in _slices(series)]
    for f in _slices(series):
        _edit(f, unsigned)
    header = read_header(series)
    assert header.dtype == "uint16"
    assert header.meta["patient_id"] == ids[0] and header.meta["series_uid"] == str(pydicom.dcmread(_slices(series)[0]).SeriesInstanceUID)
    assert {"study_uid", "frame_of_reference_uid"} <= set(header.meta)
    image = open_m(root, "d").case(ids[0])["T2w"]
    values = image.values
    assert image.dtype == values.dtype == np.uint16
    np.testing.assert_array_equal(values, np.stack(originals))


# ------------------------------------------------------------------ RTSTRUCT and SEG: breaker(case folder, header)
def _rt_other_frame(case, header, data_root):
    uid = generate_uid()

    def change(ds):
        ds.ReferencedFrameOfReferenceSequence[0].FrameOfReferenceUID = uid
        ds.StructureSetROISequence[0].ReferencedFrameOfReferenceUID = uid
    _edit(case / "rtstruct.dcm", change)
    return "tumour_rt", case / "rtstruct.dcm", ["does not belong to image", f"frame of reference {uid}",
                                                 header.meta["frame_of_reference_uid"]]


def _rt_other_series(case, header, data_root):
    uid = generate_uid()

    def change(ds):
        series, study = Dataset(), Dataset()
        series.SeriesInstanceUID = uid
        study.RTReferencedSeriesSequence = [series]
        ds.ReferencedFrameOfReferenceSequence[0].RTReferencedStudySequence = [study]
    _edit(case / "rtstruct.dcm", change)
    return "tumour_rt", case / "rtstruct.dcm", ["does not belong to image", f"references series {uid}",
                                                 f"the image is series {header.meta['series_uid']}"]


def _other_patient(var, name):
    def breaker(case, header, data_root):
        _edit(case / name, lambda ds: setattr(ds, "PatientID", "P-999"))
        return var, case / name, ["does not belong to image", "patient P-999", f"the image is patient {header.meta['patient_id']}"]
    return breaker


def _seg_other_frame(case, header, data_root):
    uid = generate_uid()
    _edit(case / "seg.dcm", lambda ds: setattr(ds, "FrameOfReferenceUID", uid))
    return "tumour_seg", case / "seg.dcm", ["does not belong to image", f"frame of reference {uid}"]


def _seg_other_series(case, header, data_root):
    uid = generate_uid()
    _edit(case / "seg.dcm", lambda ds: setattr(ds.ReferencedSeriesSequence[0], "SeriesInstanceUID", uid))
    return "tumour_seg", case / "seg.dcm", ["does not belong to image", f"series {uid}", header.meta["series_uid"]]


def _add_roi(ds, number, name, contours=None):
    roi = Dataset()
    roi.ROINumber, roi.ROIName = number, name
    roi.ReferencedFrameOfReferenceUID = ds.StructureSetROISequence[0].ReferencedFrameOfReferenceUID
    ds.StructureSetROISequence.append(roi)
    if contours is not None:
        item = Dataset()
        item.ReferencedROINumber, item.ContourSequence = number, contours
        ds.ROIContourSequence.append(item)


def _roi_catalog(case, roi, other_cases_roi=None):
    """Set the structure set's ``roi`` in the catalog; the other cases' ROI is renamed ``other_cases_roi``."""
    write_catalog(case.parents[1], CATALOG.replace("roi: GTV, ", roi))
    for other in case.parent.iterdir():
        if other != case and other_cases_roi:
            _edit(other / "rtstruct.dcm", lambda ds: setattr(ds.StructureSetROISequence[0], "ROIName", other_cases_roi))


def _no_exact_match(case, header, data_root):
    _roi_catalog(case, "roi: Gtv, ", "Gtv")
    return "tumour_rt", case / "rtstruct.dcm", ["no ROI named 'Gtv'", "(ROIs: ['GTV'])", "names must match exactly",
                                                 "did you mean 'GTV'?"]


def _roi_unset_several(case, header, data_root):
    _edit(case / "rtstruct.dcm", lambda ds: _add_roi(ds, 2, "CTV", list(ds.ROIContourSequence[0].ContourSequence)))
    _roi_catalog(case, "")
    return "tumour_rt", case / "rtstruct.dcm", ["holds 2 ROIs (['CTV', 'GTV'])", "set `roi:`"]


def _roi_named_twice(case, header, data_root):
    _edit(case / "rtstruct.dcm", lambda ds: _add_roi(ds, 2, "GTV ", list(ds.ROIContourSequence[0].ContourSequence)))
    return "tumour_rt", case / "rtstruct.dcm", ["2 ROIs are named 'GTV' (numbers [1, 2])", "set `roi:` to the number"]


def _roi_without_contours(case, header, data_root):
    _edit(case / "rtstruct.dcm", lambda ds: _add_roi(ds, 2, "CTV"))
    _roi_catalog(case, "roi: CTV, ", "CTV")
    return "tumour_rt", case / "rtstruct.dcm", ["ROI 'CTV' has no contours", "never drawn"]


def _shift_contours(offset, words):
    """Move every contour by ``offset(header)`` mm."""
    def breaker(case, header, data_root):
        def change(ds):
            for contour in ds.ROIContourSequence[0].ContourSequence:
                points = np.array(contour.ContourData, float).reshape(-1, 3) + offset(header)
                contour.ContourData = [round(float(v), 4) for v in points.ravel()]
        _edit(case / "rtstruct.dcm", change)
        return "tumour_rt", case / "rtstruct.dcm", ["ROI 'GTV' has a contour", *words]
    return breaker


def _point_roi(case, header, data_root):
    _edit(case / "rtstruct.dcm", lambda ds: setattr(ds.ROIContourSequence[0].ContourSequence[0], "ContourGeometricType", "POINT"))
    return "tumour_rt", case / "rtstruct.dcm", ["POINT contour", "not a closed outline"]


def _seg(case, name, arrays, labels, **kwargs):
    """A SEG of ``arrays`` (one per segment) on the case's series, like the demo's."""
    import highdicom as hd
    from pydicom.sr.codedict import codes

    slices = [pydicom.dcmread(f) for f in _slices(case / "T2w")]
    descriptions = [hd.seg.SegmentDescription(
        segment_number=i + 1, segment_label=label, segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
        segmented_property_type=codes.SCT.Neoplasm, algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL)
        for i, label in enumerate(labels)]
    pixels = np.stack(arrays, axis=-1) if len(arrays) > 1 else arrays[0]
    hd.seg.Segmentation(
        source_images=slices, pixel_array=pixels, segment_descriptions=descriptions, series_instance_uid=generate_uid(),
        series_number=3, sop_instance_uid=generate_uid(), instance_number=1, manufacturer="radlab",
        manufacturer_model_name="test", software_versions="0", device_serial_number="0", **kwargs,
    ).save_as(case / name)


def _fractional_seg(case, header, data_root):
    import highdicom as hd

    _, mask = _expected(data_root, case.name)
    _seg(case, "seg.dcm", [mask * 0.8], ["tumour"], segmentation_type=hd.seg.SegmentationTypeValues.FRACTIONAL)
    return "tumour_seg", case / "seg.dcm", ["FRACTIONAL SEG holds probabilities", "set `threshold:`"]


def _two_segment_seg(case, header, data_root):
    import highdicom as hd

    _, mask = _expected(data_root, case.name)
    _seg(case, "seg.dcm", [mask.astype(bool), np.roll(mask, 2, axis=2).astype(bool)], ["tumour", "oedema"],
         segmentation_type=hd.seg.SegmentationTypeValues.BINARY)
    write_catalog(case.parents[1], CATALOG.replace("roi: tumour, ", ""))
    return "tumour_seg", case / "seg.dcm", ["holds 2 segments (['oedema', 'tumour'])", "set `roi:`"]


def _seg_frame_off_grid(case, header, data_root):
    def change(ds):
        position = ds.PerFrameFunctionalGroupsSequence[2].PlanePositionSequence[0]
        position.ImagePositionPatient = [position.ImagePositionPatient[0] + header.spacing[0] / 2,
                                         *position.ImagePositionPatient[1:]]
    _edit(case / "seg.dcm", change)
    return "tumour_seg", case / "seg.dcm", ["segment frame at", "does not lie on the grid"]


MASK_KINDS = {
    "rtstruct-other-frame-of-reference": _rt_other_frame,
    "rtstruct-other-series": _rt_other_series,
    "rtstruct-other-patient": _other_patient("tumour_rt", "rtstruct.dcm"),
    "seg-other-frame-of-reference": _seg_other_frame,
    "seg-other-series": _seg_other_series,
    "seg-other-patient": _other_patient("tumour_seg", "seg.dcm"),
    "roi-no-exact-match": _no_exact_match,
    "roi-unset-several-rois": _roi_unset_several,
    "roi-named-twice": _roi_named_twice,
    "roi-without-contours": _roi_without_contours,
    "contour-between-slices": _shift_contours(lambda h: np.array([0.0, 0.0, 0.4 * h.spacing[2]]),
                                              ["between the slices", "slice index"]),
    "contour-outside-image": _shift_contours(lambda h: np.array([0.0, 0.0, 1000.0]), ["outside the image"]),
    "contour-outside-in-plane": _shift_contours(lambda h: np.array([1000.0, 0.0, 0.0]), ["outside the image"]),
    "point-roi": _point_roi,
    "seg-fractional-without-threshold": _fractional_seg,
    "seg-several-segments-unset": _two_segment_seg,
    "seg-frame-off-grid": _seg_frame_off_grid,
}


@pytest.mark.parametrize("kind", list(MASK_KINDS))
def test_broken_mask_names_case_and_file_and_the_rest_completes(dicom_messy, kind):
    root, ids, data_root = dicom_messy
    case = root / "dicom" / ids[0]
    header = read_header(case / "T2w")
    breaker = MASK_KINDS[kind]
    var, path, words = breaker(case, header, data_root)
    cohort = open_m(root, "d")
    ds = cohort.case(ids[0])
    with pytest.raises(ReadError) as err:
        ds[var].values  # no mask comes out
    assert err.value.file == str(path)
    message = str(err.value)
    assert f"{path}: " in message and all(w in message for w in words), message
    _assert_only_problem(cohort, ids[0], path, words)
    _assert_reads_exactly(cohort.case(ids[1]), data_root, ids[1])
    assert np.isfinite(ds["T2w"].values).all()  # the case's image is fine


def test_exact_roi_name_is_chosen_among_similar_names(dicom_messy):
    root, ids, data_root = dicom_messy
    case = root / "dicom" / ids[0]

    def similar(ds):
        first = list(ds.ROIContourSequence[0].ContourSequence)[:1]  # a different (smaller) region
        for number, name in ((2, "GTV-1"), (3, "gtv"), (4, "GTV_2")):
            _add_roi(ds, number, name, first)
        ds.StructureSetROISequence = list(ds.StructureSetROISequence)[::-1]  # the exact match listed last
    _edit(case / "rtstruct.dcm", similar)
    _assert_reads_exactly(open_m(root, "d").case(ids[0]), data_root, ids[0])


def test_fractional_seg_with_threshold_gives_the_mask(dicom_messy):
    import highdicom as hd

    root, ids, data_root = dicom_messy
    case = root / "dicom" / ids[0]
    _, mask = _expected(data_root, ids[0])
    _seg(case, "seg.dcm", [mask * 0.8], ["tumour"], segmentation_type=hd.seg.SegmentationTypeValues.FRACTIONAL)
    values = read_mask_voxels(str(case / "seg.dcm"), "seg", read_header(case / "T2w"), roi="tumour", threshold=0.5)
    assert values.dtype == np.uint8
    np.testing.assert_array_equal(values, mask)


def test_rtstruct_on_a_nifti_image_is_placed_without_a_uid_check(dicom_messy):
    """A NIfTI image carries no UIDs: the structure set is placed by its coordinates (documented), even when its
    frame of reference would not match the DICOM series the NIfTI was converted from."""
    root, ids, data_root = dicom_messy
    case = root / "dicom" / ids[0]
    _rt_other_frame(case, read_header(case / "T2w"), data_root)
    shutil.copy(data_root / "demo" / "images" / ids[0] / "T2w_pre.nii.gz", case / "T2w.nii.gz")
    nifti = read_header(case / "T2w.nii.gz")
    values = read_mask_voxels(str(case / "rtstruct.dcm"), "rtstruct", nifti, roi="GTV")
    np.testing.assert_array_equal(values, _expected(data_root, ids[0])[1])


def test_slice_rewritten_with_same_size_and_mtime_is_read_again(dicom_messy, monkeypatch, tmp_path_factory):
    """The header cache keys a DICOM folder by its listing and each file's size, mtime and first 8 KiB."""
    monkeypatch.setenv("RADLAB_CACHE", str(tmp_path_factory.mktemp("cache")))
    root, ids, _ = dicom_messy
    series = root / "dicom" / ids[0] / "T2w"
    assert open_m(root, "d").headers(progress=False)[ids[0]]["T2w"].meta["patient_id"] == ids[0]
    stamps = {p: (p.stat().st_atime_ns, p.stat().st_mtime_ns) for p in [series, *_slices(series)]}
    renamed = "X" + ids[0][1:]  # same length: every file keeps its size
    for f in _slices(series):
        f.write_bytes(f.read_bytes().replace(ids[0].encode(), renamed.encode()))
    for p, ns in stamps.items():
        os.utime(p, ns=ns)
    assert {p: (p.stat().st_atime_ns, p.stat().st_mtime_ns) for p in stamps} == stamps
    assert open_m(root, "d").headers(progress=False)[ids[0]]["T2w"].meta["patient_id"] == renamed
