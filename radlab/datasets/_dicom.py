"""Write a demo case as DICOM: an MR image series, an RTSTRUCT and a DICOM SEG of its tumour mask."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pydicom
import SimpleITK as sitk
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
RTSTRUCT_STORAGE = "1.2.840.10008.5.1.4.1.1.481.3"


def _base(sop_class: str, patient_id: str, study_uid: str, modality: str) -> FileDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, meta.MediaStorageSOPInstanceUID
    ds.PatientID, ds.PatientName = patient_id, f"Demo^{patient_id}"
    ds.PatientBirthDate, ds.PatientSex = "", "O"
    ds.StudyInstanceUID, ds.StudyID, ds.AccessionNumber = study_uid, "1", ""
    ds.StudyDate = ds.SeriesDate = "20240101"
    ds.StudyTime = ds.SeriesTime = "120000"
    ds.ReferringPhysicianName = ""
    ds.Modality = modality
    return ds


def write_series(image: sitk.Image, out: Path, *, patient_id: str, study_uid: str, acquisition: dict) -> list[FileDataset]:
    """Write a 3-D image as one MR slice per file, with realistic acquisition headers."""
    out.mkdir(parents=True, exist_ok=True)
    array = sitk.GetArrayFromImage(image).astype(np.float32)
    slope = max(float(array.max()) / 30000.0, 1e-3)
    series_uid, frame_uid = generate_uid(), generate_uid()
    direction = np.array(image.GetDirection()).reshape(3, 3)
    slices = []
    for k in range(array.shape[0]):
        ds = _base(MR_IMAGE_STORAGE, patient_id, study_uid, "MR")
        ds.SeriesInstanceUID, ds.FrameOfReferenceUID, ds.SeriesNumber, ds.InstanceNumber = series_uid, frame_uid, 1, k + 1
        ds.SeriesDescription = "T2w TSE"
        ds.Manufacturer = acquisition["Manufacturer"]
        ds.ManufacturerModelName = acquisition["ManufacturerModelName"]
        ds.MagneticFieldStrength = acquisition["MagneticFieldStrength"]
        ds.RepetitionTime = acquisition["RepetitionTime"] * 1000.0
        ds.EchoTime = acquisition["EchoTime"] * 1000.0
        ds.SliceThickness = image.GetSpacing()[2]
        ds.PixelSpacing = [image.GetSpacing()[1], image.GetSpacing()[0]]
        ds.ImageOrientationPatient = list(direction[:, 0]) + list(direction[:, 1])
        ds.ImagePositionPatient = list(image.TransformIndexToPhysicalPoint((0, 0, k)))
        ds.SliceLocation = ds.ImagePositionPatient[2]
        ds.Rows, ds.Columns = array.shape[1], array.shape[2]
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleSlope, ds.RescaleIntercept = slope, 0.0
        ds.PixelData = np.round(array[k] / slope).astype(np.int16).tobytes()
        ds.save_as(out / f"slice{k:03d}.dcm", enforce_file_format=True)
        slices.append(ds)
    return slices


def write_rtstruct(mask: sitk.Image, slices: list[FileDataset], path: Path, *, roi_name: str = "GTV") -> None:
    """An RTSTRUCT with one closed-planar contour per connected region per slice."""
    from skimage import measure

    first = slices[0]
    ds = _base(RTSTRUCT_STORAGE, str(first.PatientID), first.StudyInstanceUID, "RTSTRUCT")
    ds.SeriesInstanceUID, ds.SeriesNumber, ds.InstanceNumber = generate_uid(), 2, 1
    ds.StructureSetLabel, ds.StructureSetDate, ds.StructureSetTime = "radlab", "20240101", "120000"
    ds.Manufacturer = "radlab"
    ref_frame = Dataset()
    ref_frame.FrameOfReferenceUID = first.FrameOfReferenceUID
    ds.ReferencedFrameOfReferenceSequence = [ref_frame]
    roi = Dataset()
    roi.ROINumber, roi.ReferencedFrameOfReferenceUID, roi.ROIName, roi.ROIGenerationAlgorithm = 1, first.FrameOfReferenceUID, roi_name, "MANUAL"
    ds.StructureSetROISequence = [roi]
    array = sitk.GetArrayFromImage(mask)
    contours = []
    for k in range(array.shape[0]):
        if not array[k].any():
            continue
        # contours at 0.5 on a zero-padded slice run through the boundary between voxel centres
        padded = np.pad(array[k], 1)
        for c in measure.find_contours(padded.astype(float), 0.5):
            c = c - 1  # back to unpadded (row, col) index
            points = [mask.TransformContinuousIndexToPhysicalPoint((float(col), float(row), float(k))) for row, col in c[:-1]]
            item = Dataset()
            item.ContourGeometricType = "CLOSED_PLANAR"
            item.NumberOfContourPoints = len(points)
            item.ContourData = [round(v, 4) for p in points for v in p]
            image_ref = Dataset()
            image_ref.ReferencedSOPClassUID, image_ref.ReferencedSOPInstanceUID = MR_IMAGE_STORAGE, slices[k].SOPInstanceUID
            item.ContourImageSequence = [image_ref]
            contours.append(item)
    roi_contour = Dataset()
    roi_contour.ReferencedROINumber, roi_contour.ROIDisplayColor, roi_contour.ContourSequence = 1, [255, 0, 0], contours
    ds.ROIContourSequence = [roi_contour]
    observation = Dataset()
    observation.ObservationNumber, observation.ReferencedROINumber, observation.RTROIInterpretedType = 1, 1, "GTV"
    observation.ROIInterpreter = ""
    ds.RTROIObservationsSequence = [observation]
    ds.save_as(path, enforce_file_format=True)


def write_seg(mask: sitk.Image, slices: list[FileDataset], path: Path, *, label: str = "tumour") -> None:
    """A binary DICOM SEG of the mask referencing the image series (via highdicom)."""
    import highdicom as hd
    from pydicom.sr.codedict import codes

    description = hd.seg.SegmentDescription(
        segment_number=1, segment_label=label,
        segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
        segmented_property_type=codes.SCT.Neoplasm, algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
    )
    seg = hd.seg.Segmentation(
        source_images=slices,
        pixel_array=sitk.GetArrayFromImage(mask).astype(bool),
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY, segment_descriptions=[description],
        series_instance_uid=generate_uid(), series_number=3, sop_instance_uid=generate_uid(), instance_number=1,
        manufacturer="radlab", manufacturer_model_name="demo", software_versions="radlab",
        device_serial_number="0", omit_empty_frames=True,
    )
    seg.save_as(path)


def write_dicom_case(image_path: Path, mask_path: Path, sidecar: Path, out: Path, *, patient_id: str) -> None:
    image, mask = sitk.ReadImage(str(image_path)), sitk.ReadImage(str(mask_path))
    acquisition = json.loads(Path(sidecar).read_text())
    study_uid = generate_uid()
    slices = write_series(image, out / "T2w", patient_id=patient_id, study_uid=study_uid, acquisition=acquisition)
    slices = [pydicom.dcmread(out / "T2w" / f"slice{k:03d}.dcm") for k in range(len(slices))]
    write_rtstruct(mask, slices, out / "rtstruct.dcm")
    write_seg(mask, slices, out / "seg.dcm")
