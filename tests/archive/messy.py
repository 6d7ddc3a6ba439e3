"""A messy DICOM archive, built from the four real lung CTs (cohort lung-ct) and the demo DICOM writer.

Patients and what is wrong with them:

- ``1``: PAT1 CT + its RTSTRUCT, plus a 2-slice scout series (ImageType LOCALIZER) and an MR series
  (written by the demo DICOM writer) of the same patient; a folder with non-DICOM files (README.txt, .DS_Store,
  notes.pdf).
- ``2``: its CT misses a slice in the middle (unusable), its RTSTRUCT is fine.
- ``3``: CT + RTSTRUCT with an extra ROI ``Lung-Left``; a SEG of its GTV (demo writer, via highdicom); and a
  copy of patient 2's structure set relabelled as patient 3 (it references patient 2's series).
- ``4``: CT + an RTSTRUCT whose GTV is duplicated as ``GTV-2``.
- ``MR1``: a demo MR case (series, RTSTRUCT, SEG): no CT at all.

Everything sits in nested folders with random names (the RTSTRUCTs apart from their series).
"""

from __future__ import annotations

import copy
import json
import random
import shutil
import warnings
from pathlib import Path

import numpy as np
import pydicom
import SimpleITK as sitk
from pydicom.uid import generate_uid

from radlab.datasets._dicom import write_dicom_case, write_seg, write_series
from radlab.io import read_header, read_mask_voxels


def _series_files(archive: Path, patient: str) -> tuple[list[Path], Path]:
    """(CT slice files, RTSTRUCT file) of one lung-ct patient."""
    ct = sorted(next(archive.glob(f"{patient}/*/*-CT-*")).glob("*.dcm"))
    rt = next(archive.glob(f"{patient}/*/*-RTSTRUCT-*/*.dcm"))
    return ct, rt


class _Names:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    def __call__(self, ext: str = "") -> str:
        return f"{self.rng.getrandbits(40):010x}{ext}"


def _add_roi(ds, name: str, *, copy_of: int | None = None) -> None:
    """Add ROI ``name`` to a structure set: empty, or with the contours of ROI ``copy_of``."""
    number = max(int(r.ROINumber) for r in ds.StructureSetROISequence) + 1
    item = copy.deepcopy(ds.StructureSetROISequence[0])
    item.ROINumber, item.ROIName = number, name
    ds.StructureSetROISequence.append(item)
    if copy_of is not None:
        contour = copy.deepcopy(next(c for c in ds.ROIContourSequence if int(c.ReferencedROINumber) == copy_of))
        contour.ReferencedROINumber = number
        ds.ROIContourSequence.append(contour)


def build_messy(lung_archive: Path, demo: Path, out: Path) -> Path:
    name = _Names(15)
    site = out / "export" / "site-A"
    folders = {}
    for patient in ("1", "2", "3", "4"):
        ct, rt = _series_files(lung_archive, patient)
        folders[patient] = site / name() / name()
        series = folders[patient] / name()
        series.mkdir(parents=True)
        for i, f in enumerate(ct):
            if patient == "2" and i == len(ct) // 2:
                continue  # a slice lost in the middle of the stack
            shutil.copy(f, series / name(".dcm" if i % 2 else ""))
        ds = pydicom.dcmread(rt)
        first = int(ds.StructureSetROISequence[0].ROINumber)
        if patient == "3":
            _add_roi(ds, "Lung-Left")
        if patient == "4":
            _add_roi(ds, "GTV-2", copy_of=first)
        rt_folder = site / name() / name()
        rt_folder.mkdir(parents=True)
        ds.save_as(rt_folder / name(".dcm"))
    # patient 1: a scout series and an MR series (demo writer) of the same patient; non-DICOM files
    ct1, _ = _series_files(lung_archive, "1")
    scout_uid, scout = generate_uid(), folders["1"] / name()
    scout.mkdir()
    for k in range(2):
        ds = pydicom.dcmread(ct1[k])
        ds.SeriesInstanceUID, ds.SOPInstanceUID = scout_uid, generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.ImageType, ds.SeriesDescription, ds.SeriesNumber = ["ORIGINAL", "PRIMARY", "LOCALIZER"], "Scout", 99
        ds.ImageOrientationPatient = [0, 1, 0, 0, 0, -1]
        ds.save_as(scout / name(".dcm"))
    first = pydicom.dcmread(ct1[0], stop_before_pixels=True)
    case = sorted(p.name for p in (demo / "images").iterdir())[0]
    acquisition = json.loads((demo / "images" / case / "T2w_pre.json").read_text())
    write_series(sitk.ReadImage(str(demo / "images" / case / "T2w_pre.nii.gz")), folders["1"] / name(), patient_id="1",
                 study_uid=str(first.StudyInstanceUID), acquisition=acquisition)
    junk = site / name()
    junk.mkdir()
    (junk / "README.txt").write_text("exported by a PACS\n")
    (junk / ".DS_Store").write_bytes(b"\0\0\0\1Bud1" + bytes(100))
    (junk / "notes.pdf").write_bytes(b"%PDF-1.4\n" + bytes(200))
    # patient 3: a SEG of its GTV (demo writer) and patient 2's structure set relabelled as patient 3
    ct3, rt3 = _series_files(lung_archive, "3")
    header = read_header(next(lung_archive.glob("3/*/*-CT-*")))
    mask = sitk.GetImageFromArray(read_mask_voxels(str(rt3), "rtstruct", header, roi="GTV-1"))
    mask.SetSpacing(header.spacing), mask.SetOrigin(header.origin), mask.SetDirection(header.direction)
    slices = [pydicom.dcmread(f) for f in ct3]
    slices.sort(key=lambda d: float(d.ImagePositionPatient[2]))
    seg_folder = site / name()
    seg_folder.mkdir()
    with warnings.catch_warnings():  # highdicom: the lung CTs' PatientName "PAT3" has one component
        warnings.filterwarnings("ignore", "The string .* is unlikely to represent", UserWarning)
        write_seg(sitk.Cast(mask, sitk.sitkUInt8), slices, seg_folder / name(".dcm"), label="GTV")
    _, rt2 = _series_files(lung_archive, "2")
    ds = pydicom.dcmread(rt2)
    ds.PatientID, ds.PatientName = "3", "PAT3"
    ds.SeriesInstanceUID, ds.SOPInstanceUID = generate_uid(), generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.save_as(folders["3"] / name(".dcm"))
    # a demo MR case (series + RTSTRUCT + SEG): no CT
    write_dicom_case(demo / "images" / case / "T2w_pre.nii.gz", demo / "masks" / case / "tumour_pre.nii.gz",
                     demo / "images" / case / "T2w_pre.json", site / name() / name(), patient_id="MR1")
    return out / "export"


def mask_sum(path, roi, image) -> int:
    return int(np.sum(read_mask_voxels(str(path), "rtstruct", read_header(image), roi=roi)))
