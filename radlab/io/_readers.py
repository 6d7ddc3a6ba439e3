"""Readers: headers without voxels, voxels on demand.

Every reader comes in two halves so cohorts can stay lazy: ``read_header`` returns the
geometry (and acquisition metadata where the format has it) without touching voxel
data, and ``read_voxels`` returns the (z, y, x) array. Formats:

``nifti``/``nrrd``/``mha``  single files read through SimpleITK (``.nii[.gz]``, ``.nrrd``/``.nhdr``, ``.mha``/``.mhd``)
``dicom``                   a folder holding one DICOM image series (slices sorted along the slice normal)
``rtstruct``                a DICOM RTSTRUCT file; one ROI (by name) is rasterised onto its image's grid
``seg``                     a DICOM SEG file; one segment (by number or label) is placed onto its image's grid
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import SimpleITK as sitk

from radlab.errors import RadlabError

__all__ = ["Header", "ReadError", "detect_format", "read_header", "read_voxels", "read_mask_voxels"]

IMAGE_FORMATS = ("nifti", "nrrd", "mha", "dicom")
MASK_FORMATS = IMAGE_FORMATS + ("rtstruct", "seg")

# BIDS sidecar / DICOM keyword -> acquisition column
ACQUISITION_KEYS = {
    "Manufacturer": "vendor",
    "ManufacturerModelName": "model",
    "MagneticFieldStrength": "field_strength",
    "SliceThickness": "slice_thickness",
    "RepetitionTime": "repetition_time",
    "EchoTime": "echo_time",
    "ConvolutionKernel": "kernel",
    "Modality": "modality",
}


class ReadError(RadlabError, OSError):
    """A file could not be read; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Header:
    """What a reader knows about an image before reading its voxels."""

    path: str
    format: str
    shape: tuple[int, int, int]  # (z, y, x)
    dtype: str
    spacing: tuple[float, float, float]  # ITK (x, y, z) order, as all geometry attrs
    origin: tuple[float, float, float]
    direction: tuple[float, ...]
    meta: dict[str, Any] = field(default_factory=dict)  # acquisition metadata (vendor, TR, ...)
    files: tuple[str, ...] = ()  # sorted slice files of a DICOM series

    @property
    def geometry(self) -> dict[str, Any]:
        return {"spacing": self.spacing, "origin": self.origin, "direction": self.direction}


def detect_format(path: str | Path) -> str:
    """Guess a file's format from its name (a folder is a DICOM series).

    Examples
    --------
    >>> detect_format("case1/T2w.nii.gz"), detect_format("lung1_label.nrrd"), detect_format("ct.mhd")
    ('nifti', 'nrrd', 'mha')
    """
    p = Path(path)
    name = p.name.lower()
    if name.endswith((".nii", ".nii.gz")):
        return "nifti"
    if name.endswith((".nrrd", ".nhdr")):
        return "nrrd"
    if name.endswith((".mha", ".mhd")):
        return "mha"
    if p.is_dir():
        return "dicom"
    if not p.exists():
        raise ReadError(f"{path}: file not found")
    if name.endswith(".dcm"):
        import pydicom

        modality = getattr(pydicom.dcmread(p, stop_before_pixels=True, specific_tags=["Modality"]), "Modality", "")
        return {"RTSTRUCT": "rtstruct", "SEG": "seg"}.get(modality, "dicom")
    raise ReadError(f"{path}: unknown image format (expected .nii[.gz], .nrrd, .mha/.mhd, .dcm or a DICOM folder)")


def read_header(path: str | Path, fmt: str = "auto") -> Header:
    """Read geometry and acquisition metadata of an image without reading its voxels."""
    path = str(path)
    fmt = detect_format(path) if fmt == "auto" else fmt
    if not Path(path).exists():
        raise ReadError(f"{path}: file not found")
    if fmt == "dicom":
        return _dicom_series_header(path)
    if fmt not in IMAGE_FORMATS:
        raise ReadError(f"{path}: format {fmt!r} has no image header (masks in {fmt} take their image's grid)")
    reader = sitk.ImageFileReader()
    reader.SetFileName(path)
    try:
        reader.ReadImageInformation()
    except RuntimeError as exc:
        raise ReadError(f"{path}: unreadable {fmt} header ({_first_line(exc)})") from None
    size = reader.GetSize()
    if len(size) != 3:
        raise ReadError(f"{path}: expected a 3-D image, got {len(size)}-D of size {size}")
    dtype = np.dtype(sitk.GetArrayViewFromImage(sitk.Image([1, 1, 1], reader.GetPixelID())).dtype).name
    return Header(
        path=path, format=fmt, shape=(size[2], size[1], size[0]), dtype=dtype,
        spacing=tuple(reader.GetSpacing()), origin=tuple(reader.GetOrigin()),
        direction=tuple(reader.GetDirection()), meta=_sidecar_meta(path),
    )


def read_voxels(header: Header) -> np.ndarray:
    """Read an image's voxels as a (z, y, x) array; the geometry must match its header."""
    if header.path.endswith(".nii.gz"):
        _check_gzip_nifti(header.path)
    try:
        if header.format == "dicom":
            reader = sitk.ImageSeriesReader()
            reader.SetFileNames(list(header.files))
            image = reader.Execute()
        else:
            image = sitk.ReadImage(header.path)
    except RuntimeError as exc:
        raise ReadError(f"{header.path}: unreadable voxel data ({_first_line(exc)})") from None
    array = sitk.GetArrayFromImage(image)
    if array.shape != header.shape:
        raise ReadError(f"{header.path}: voxel data of shape {array.shape} does not match its header {header.shape}")
    return array


def read_mask_voxels(path: str, fmt: str, reference: Header, *, roi: str | int | None = None,
                     label: int | None = None) -> np.ndarray:
    """Read a mask as a uint8 (z, y, x) array on its image's grid.

    ``roi`` names the RTSTRUCT ROI or the SEG segment (number or label); ``label`` keeps one value
    of a label map (voxels equal to it become 1).
    """
    if fmt == "rtstruct":
        return _rtstruct_mask(path, roi, reference)
    if fmt == "seg":
        return _seg_mask(path, roi, reference)
    array = read_voxels(read_header(path, fmt))
    return (array == label).astype(np.uint8) if label is not None else array


def _check_gzip_nifti(path: str) -> None:
    """ITK reads a truncated .nii.gz without complaint (zero-filling the rest); catch it here.

    The gzip trailer holds the uncompressed size (mod 2**32), which must equal the NIfTI voxel offset
    plus the voxel bytes the header promises.
    """
    import gzip
    import struct

    try:
        with gzip.open(path) as f:
            hdr = f.read(348)
        with open(path, "rb") as f:
            f.seek(-4, 2)
            stored = struct.unpack("<I", f.read(4))[0]
    except (OSError, EOFError) as exc:
        raise ReadError(f"{path}: unreadable gzip stream ({exc})") from None
    endian = "<" if struct.unpack("<i", hdr[:4])[0] == 348 else ">"
    dims = struct.unpack(endian + "8h", hdr[40:56])
    bitpix = struct.unpack(endian + "h", hdr[72:74])[0]
    vox_offset = int(struct.unpack(endian + "f", hdr[108:112])[0])
    expected = vox_offset + int(np.prod([max(d, 1) for d in dims[1 : dims[0] + 1]])) * bitpix // 8
    if stored != expected % 2**32:
        raise ReadError(f"{path}: truncated or corrupt file (gzip stream holds {stored} bytes, the header promises {expected})")


def _first_line(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


def _sidecar_meta(path: str) -> dict[str, Any]:
    """Acquisition metadata from a BIDS-style JSON sidecar (as dcm2niix writes), if present."""
    p = Path(path)
    stem = p.name[: -len(".nii.gz")] if p.name.endswith(".nii.gz") else p.stem
    sidecar = p.with_name(stem + ".json")
    if not sidecar.exists():
        return {}
    try:
        raw = json.loads(sidecar.read_text())
    except (OSError, ValueError) as exc:
        raise ReadError(f"{sidecar}: unreadable JSON sidecar ({exc})") from None
    meta = {col: raw[key] for key, col in ACQUISITION_KEYS.items() if key in raw}
    # BIDS stores TR/TE in seconds; radlab reports milliseconds like DICOM.
    for col in ("repetition_time", "echo_time"):
        if col in meta:
            meta[col] = float(meta[col]) * 1000.0
    return meta


# ----------------------------------------------------------------------------------------- DICOM series
def _dicom_series_header(folder: str) -> Header:
    import pydicom

    slices = []
    for f in sorted(Path(folder).iterdir()):
        if not f.is_file():
            continue
        try:
            ds = pydicom.dcmread(f, stop_before_pixels=True)
        except Exception as exc:  # pydicom raises many types for junk files
            raise ReadError(f"{f}: not a readable DICOM file ({_first_line(exc)})") from None
        if "ImagePositionPatient" in ds and "PixelSpacing" in ds:
            slices.append((f, ds))
    if not slices:
        raise ReadError(f"{folder}: no DICOM image slices found")
    uids = {ds.SeriesInstanceUID for _, ds in slices}
    if len(uids) > 1:
        raise ReadError(f"{folder}: holds {len(uids)} DICOM series; point the catalog at one series per folder")
    first = slices[0][1]
    row, col = np.array(first.ImageOrientationPatient[:3], float), np.array(first.ImageOrientationPatient[3:], float)
    normal = np.cross(row, col)
    slices.sort(key=lambda s: float(np.dot(normal, np.array(s[1].ImagePositionPatient, float))))
    positions = np.array([np.dot(normal, np.array(ds.ImagePositionPatient, float)) for _, ds in slices])
    gaps = np.diff(positions)
    if len(gaps) and (np.any(gaps <= 1e-6) or np.ptp(gaps) > 0.01 * max(abs(np.median(gaps)), 1e-6)):
        raise ReadError(f"{folder}: missing or overlapping slices (slice gaps {np.round(np.unique(gaps.round(3)), 3)} mm)")
    dz = float(np.median(gaps)) if len(gaps) else float(getattr(first, "SliceThickness", 1.0))
    dy, dx = (float(v) for v in first.PixelSpacing)
    meta = {col: _dicom_value(first, key) for key, col in ACQUISITION_KEYS.items() if key in first}
    return Header(
        path=folder, format="dicom", shape=(len(slices), int(first.Rows), int(first.Columns)),
        dtype="float32" if "RescaleSlope" in first and float(first.RescaleSlope) != 1 else "int16",
        spacing=(dx, dy, dz), origin=tuple(float(v) for v in slices[0][1].ImagePositionPatient),
        direction=tuple(np.column_stack([row, col, normal]).ravel().tolist()),
        meta=meta, files=tuple(str(f) for f, _ in slices),
    )


def _dicom_value(ds, key: str):
    value = ds.get(key)
    value = getattr(value, "value", value)
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value)
    try:
        return float(value) if key not in ("Manufacturer", "ManufacturerModelName", "ConvolutionKernel", "Modality") else str(value)
    except (TypeError, ValueError):
        return str(value)


def _choose(names: dict[int, str], wanted: str | int | None, error: str) -> int:
    """The number of the ROI/segment named (or numbered) ``wanted``; the only one when ``wanted`` is None."""
    if wanted is None and len(names) == 1:
        return next(iter(names))
    matches = [n for n, name in names.items() if name == wanted or n == wanted]
    if not matches:
        raise ReadError(error)
    return matches[0]


def _physical_to_index(points: np.ndarray, reference: Header) -> np.ndarray:
    """Continuous (x, y, z) index coordinates of physical points (n, 3) on a reference grid."""
    direction = np.array(reference.direction, float).reshape(3, 3)
    return (np.linalg.solve(direction, (points - np.array(reference.origin)).T).T) / np.array(reference.spacing)


# ----------------------------------------------------------------------------------------- RTSTRUCT
def _rtstruct_mask(path: str, roi: str | int | None, reference: Header) -> np.ndarray:
    import pydicom
    from skimage.draw import polygon

    try:
        ds = pydicom.dcmread(path)
    except Exception as exc:
        raise ReadError(f"{path}: not a readable DICOM RTSTRUCT ({_first_line(exc)})") from None
    names = {int(r.ROINumber): str(r.ROIName) for r in ds.StructureSetROISequence}
    number = _choose(names, roi, f"{path}: no ROI named {roi!r} (ROIs: {sorted(names.values())})")
    mask = np.zeros(reference.shape, dtype=np.uint8)
    for item in ds.ROIContourSequence:
        if int(item.ReferencedROINumber) != number:
            continue
        for contour in getattr(item, "ContourSequence", []):
            points = np.array(contour.ContourData, float).reshape(-1, 3)
            ijk = _physical_to_index(points, reference)
            k = int(round(float(np.median(ijk[:, 2]))))
            if not 0 <= k < reference.shape[0]:
                raise ReadError(f"{path}: ROI {names[number]!r} has a contour outside the image ({reference.path})")
            rr, cc = polygon(ijk[:, 1], ijk[:, 0], shape=reference.shape[1:])
            mask[k, rr, cc] ^= 1  # even-odd fill: inner contours cut holes
    return mask


# ----------------------------------------------------------------------------------------- SEG
def _seg_mask(path: str, segment: str | int | None, reference: Header) -> np.ndarray:
    import pydicom

    try:
        ds = pydicom.dcmread(path)
        frames = ds.pixel_array
    except Exception as exc:
        raise ReadError(f"{path}: not a readable DICOM SEG ({_first_line(exc)})") from None
    frames = frames.reshape((-1,) + frames.shape[-2:])
    labels = {int(s.SegmentNumber): str(s.SegmentLabel) for s in ds.SegmentSequence}
    number = _choose(labels, segment, f"{path}: no segment {segment!r} (segments: {labels})")
    shared = ds.SharedFunctionalGroupsSequence[0] if "SharedFunctionalGroupsSequence" in ds else {}

    def functional(group, name):  # per-frame value, else the one shared by all frames
        return group[name].value[0] if name in group else shared[name].value[0]

    mask = np.zeros(reference.shape, dtype=np.uint8)
    for frame, group in zip(frames, ds.PerFrameFunctionalGroupsSequence):
        if int(functional(group, "SegmentIdentificationSequence").ReferencedSegmentNumber) != number:
            continue
        position = np.array(functional(group, "PlanePositionSequence").ImagePositionPatient, float)[None]
        i, j, k = np.rint(_physical_to_index(position, reference)[0]).astype(int)
        if not 0 <= k < reference.shape[0] or frame.shape != reference.shape[1:]:
            raise ReadError(f"{path}: segment frame at {position[0].round(2)} does not lie on {reference.path}")
        mask[k] |= (frame > 0).astype(np.uint8)
    return mask
