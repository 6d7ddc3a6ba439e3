"""DICOM image series: a folder of single-frame slices, or one enhanced (multi-frame) file.

Series: every file of the folder is looked at. Files without the DICM preamble (README.txt, .DS_Store),
non-image objects (a SOP class other than "... Image Storage": a structure set, a SEG, a DICOMDIR) and scanner
localizers (``ImageType`` LOCALIZER, or a lone slice of another orientation) are skipped and listed in
``Header.notes``; a damaged file, a slice without position, orientation or pixel spacing, slices of several
series or modalities, slices that disagree on matrix, spacing or orientation, missing, duplicated or sheared
slices are a :class:`ReadError` naming the file. An enhanced (multi-frame) image is read frame by frame from
its functional groups.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from radlab.io._header import ACQUISITION_KEYS, Header, ReadError, check_header, first_line

__all__ = ["read_series_voxels", "series_header"]

REQUIRED = ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing", "Rows", "Columns")
UID_KEYS = {"SeriesInstanceUID": "series_uid", "FrameOfReferenceUID": "frame_of_reference_uid",
            "StudyInstanceUID": "study_uid", "PatientID": "patient_id"}
LOCALIZER_ANGLE = 30.0  # degrees: a lone slice tilted more than this from the stack is a localizer
ON_PLANE = 0.25  # voxels: how far off a slice plane (or the in-plane grid) a contour or SEG frame may lie


# ----------------------------------------------------------------------------------------- image series
def series_header(path: str) -> Header:
    """Geometry, acquisition metadata and UIDs of the DICOM image series in folder ``path`` (or one file)."""
    import pydicom
    from pydicom.uid import UID

    root = Path(path)
    skipped: dict[str, list[str]] = {}
    slices = []
    for f in [root] if root.is_file() else sorted(p for p in root.iterdir() if p.is_file()):
        if not _has_preamble(f):
            skipped.setdefault("non-DICOM file", []).append(f.name)
            continue
        try:
            ds = pydicom.dcmread(f, stop_before_pixels=True)
        except Exception as exc:  # pydicom raises many types for damaged files
            raise ReadError(f"{f}: damaged DICOM file ({first_line(exc)}); replace it with an intact copy or remove "
                            "it from the series folder", file=f) from None
        sop = ds.get("SOPClassUID") or getattr(ds.get("file_meta"), "MediaStorageSOPClassUID", None)
        if sop is None:
            raise ReadError(f"{f}: damaged DICOM file (no SOPClassUID: not a DICOM object); replace it with an intact "
                            "copy or remove it from the series folder", file=f)
        if "Image Storage" not in UID(str(sop)).name:  # a structure set, SEG, report, DICOMDIR, ...
            skipped.setdefault("non-image DICOM object", []).append(f"{f.name} ({UID(str(sop)).name})")
        elif "LOCALIZER" in {str(v).upper() for v in _values(ds.get("ImageType"))}:
            skipped.setdefault("localizer slice", []).append(f.name)
        else:
            slices.append((str(f), ds))
    if not slices:
        notes = "; ".join(_skipped_notes(skipped))
        raise ReadError(f"{path}: no DICOM image slices found{f' ({notes})' if notes else ''}; point the catalog "
                        "at the folder of one image series", file=path)
    modalities = Counter(str(ds.get("Modality", "")) for _, ds in slices)
    if len(modalities) > 1:
        raise ReadError(f"{path}: holds images of several modalities ({dict(modalities)}); keep one series per "
                        "folder and point the catalog at it", file=path)
    multi = [f for f, ds in slices if int(ds.get("NumberOfFrames") or 1) > 1]
    if multi and len(slices) > 1:
        raise ReadError(f"{path}: holds a multi-frame image ({Path(multi[0]).name}) and {len(slices) - 1} other "
                        "image files; keep one series per folder", file=path)
    records = _frame_records(*slices[0]) if multi else slices
    for name, r in records:
        missing = [k for k in REQUIRED if not _values(r.get(k))]
        if missing:
            raise ReadError(f"{name}: image slice without {', '.join(missing)} (an incomplete or damaged file), so "
                            "its place in the volume is unknown and radlab does not guess it; re-export the series "
                            "with complete headers or remove the slice", file=name.split(" frame ")[0])
    if not multi:
        records, lone = _split_localizers(records)
        if lone:
            skipped.setdefault("localizer slice", []).extend(Path(n).name for n in lone)
        _one_series(path, records)
    for key in ("Rows", "Columns", "PixelSpacing", "ImageOrientationPatient"):
        _consistent(path, records, key)
    first = records[0][1]
    order, origin, dz, direction = _stack(path, records)
    dy, dx = (float(v) for v in first.get("PixelSpacing"))
    ds = slices[0][1]
    meta = {col: _value(ds, key) for key, col in ACQUISITION_KEYS.items() if key in ds}
    meta |= {col: str(ds.get(key)) for key, col in UID_KEYS.items() if ds.get(key)}
    return check_header(Header(
        path=path, format="dicom", shape=(len(records), int(first.get("Rows")), int(first.get("Columns"))),
        dtype=_pixel_dtype([r for _, r in records]), spacing=(dx, dy, dz), origin=origin, direction=direction,
        meta=meta, files=tuple(multi) if multi else tuple(records[i][0] for i in order),
        notes=_skipped_notes(skipped),
    ))


def read_series_voxels(header: Header) -> np.ndarray:
    """The (z, y, x) voxels of a series read by :func:`series_header`, in its dtype."""
    if len(header.files) == 1 and header.shape[0] > 1:
        array = _multiframe_voxels(header.files[0])
    else:
        array = _itk_series(header)
    if array.shape != header.shape:
        raise ReadError(f"{header.path}: voxel data of shape {array.shape} does not match its header "
                        f"{header.shape}", file=header.path)
    return array.astype(header.dtype, copy=False)


def _itk_series(header: Header) -> np.ndarray:
    import SimpleITK as sitk

    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(list(header.files))
    try:
        return sitk.GetArrayFromImage(reader.Execute())
    except RuntimeError as exc:
        for f in header.files:  # name the damaged file
            try:
                sitk.ReadImage(f)
            except RuntimeError as file_exc:
                raise ReadError(f"{f}: damaged DICOM file: its pixel data cannot be read ({first_line(file_exc)}); "
                                "replace it with an intact copy", file=f) from None
        raise ReadError(f"{header.path}: unreadable DICOM series ({first_line(exc)})", file=header.path) from None


def _multiframe_voxels(path: str) -> np.ndarray:
    import pydicom

    try:
        ds = pydicom.dcmread(path)
        frames = ds.pixel_array.reshape((-1, int(ds.Rows), int(ds.Columns)))
    except Exception as exc:
        raise ReadError(f"{path}: damaged multi-frame DICOM file ({first_line(exc)}); replace it with an intact "
                        "copy", file=path) from None
    records = _frame_records(path, ds)
    order = _stack(path, records)[0]
    slopes = np.array([float(r.get("RescaleSlope")) for _, r in records])[order, None, None]
    intercepts = np.array([float(r.get("RescaleIntercept")) for _, r in records])[order, None, None]
    return frames[order] * slopes + intercepts


def _has_preamble(path: Path) -> bool:
    with open(path, "rb") as f:
        f.seek(128)
        return f.read(4) == b"DICM"


def _values(value) -> list:
    """A DICOM value as a list ([] when absent or empty)."""
    value = getattr(value, "value", value)
    if value is None or value == "":
        return []
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str) else [value]


def _skipped_notes(skipped: dict[str, list[str]]) -> tuple[str, ...]:
    """E.g. ("skipped 2 localizer slices: a.dcm, b.dcm", "skipped 1 non-DICOM file: README.txt")."""
    return tuple(f"skipped {len(names)} {what}{'s' if len(names) > 1 else ''}: {', '.join(names[:5])}"
                 + (", ..." if len(names) > 5 else "") for what, names in skipped.items())


def _frame_records(path: str, ds) -> list[tuple[str, dict]]:
    """One record per frame of a multi-frame image: position, orientation, spacing and rescale from its
    per-frame or shared functional groups."""
    if "PerFrameFunctionalGroupsSequence" not in ds:
        raise ReadError(f"{path}: multi-frame DICOM without per-frame functional groups (e.g. an old multi-frame "
                        "format): not supported; convert it to NIfTI (e.g. dcm2niix) and point the catalog at that",
                        file=path)
    shared = ds.SharedFunctionalGroupsSequence[0] if "SharedFunctionalGroupsSequence" in ds else {}
    where = {"ImagePositionPatient": "PlanePositionSequence", "ImageOrientationPatient": "PlaneOrientationSequence",
             "PixelSpacing": "PixelMeasuresSequence", "RescaleSlope": "PixelValueTransformationSequence",
             "RescaleIntercept": "PixelValueTransformationSequence"}
    records = []
    for i, group in enumerate(ds.PerFrameFunctionalGroupsSequence):
        record = {"Rows": ds.Rows, "Columns": ds.Columns, "RescaleSlope": 1.0, "RescaleIntercept": 0.0,
                  "BitsStored": ds.get("BitsStored"), "PixelRepresentation": ds.get("PixelRepresentation")}
        for key, sequence in where.items():
            for g in (group, shared):
                if sequence in g and key in g[sequence][0]:
                    record[key] = g[sequence][0][key].value
                    break
        records.append((f"{path} frame {i + 1}", record))
    return records


def _split_localizers(records: list) -> tuple[list, list[str]]:
    """(slices of the stack, names of lone slices tilted more than LOCALIZER_ANGLE from it)."""
    keys = [tuple(np.round(np.array(r.get("ImageOrientationPatient"), float), 3)) for _, r in records]
    counts = Counter(keys)
    main, n_main = counts.most_common(1)[0]
    if n_main < 2:
        return records, []
    normal = np.cross(main[:3], main[3:])
    keep, lone = [], []
    for (name, r), key in zip(records, keys):
        n = np.cross(np.array(key[:3]), np.array(key[3:]))
        cos = abs(float(np.dot(normal, n))) / max(float(np.linalg.norm(n) * np.linalg.norm(normal)), 1e-12)
        if counts[key] == 1 and np.degrees(np.arccos(min(cos, 1.0))) > LOCALIZER_ANGLE:
            lone.append(name)
        else:
            keep.append((name, r))
    return keep, lone


def _one_series(path: str, records: list) -> None:
    series = Counter(str(r.get("SeriesInstanceUID", "")) for _, r in records)
    if len(series) > 1:
        description = {str(r.get("SeriesInstanceUID", "")): str(r.get("SeriesDescription", "")) for _, r in records}
        listing = ", ".join(f"{uid} ({description[uid]!r}, {n} files)" for uid, n in series.most_common())
        raise ReadError(f"{path}: holds {len(series)} DICOM series: {listing}; point the catalog at one series per "
                        "folder (move each series into its own folder)", file=path)


def _consistent(path: str, records: list, key: str) -> None:
    """Every slice agrees with the majority on ``key`` (numbers to 1e-3), else name the first odd one."""
    values = [np.round(np.array(_values(r.get(key)), float), 3) for _, r in records]
    counts = Counter(tuple(v) for v in values)
    usual, n = counts.most_common(1)[0]
    for (name, _), v in zip(records, values):
        if v.shape != np.shape(usual) or not np.allclose(v, usual, atol=1e-3):
            raise ReadError(f"{name}: {key} {tuple(v.tolist())} differs from the rest of the series in {path} "
                            f"({tuple(usual)} in {n} of {len(records)} slices); the file belongs to another series "
                            "or is damaged: remove it or re-export the series", file=name.split(" frame ")[0])


def _stack(path: str, records: list) -> tuple[np.ndarray, tuple, float, tuple]:
    """(slice order, origin, slice spacing, direction) of slices stacked along their normal; missing,
    duplicated or sheared slices are a ReadError naming them."""
    iop = np.array(records[0][1].get("ImageOrientationPatient"), float)
    row, col = iop[:3], iop[3:]
    normal = np.cross(row, col)
    positions = np.array([np.array(r.get("ImagePositionPatient"), float) for _, r in records])
    order = np.argsort(positions @ normal, kind="stable")
    names, positions = [records[i][0] for i in order], positions[order]
    along = positions @ normal
    gaps = np.diff(along)
    if len(gaps) and np.any(gaps <= 1e-3):
        i = int(np.argmax(gaps <= 1e-3))
        raise ReadError(f"{path}: missing or overlapping slices: {names[i]} and {names[i + 1]} lie at the same "
                        f"position ({along[i]:.2f} mm along the slice normal), e.g. two echoes, phases or a "
                        "repeated slice; keep one stack per folder", file=path)
    median = float(np.median(gaps)) if len(gaps) else 0.0
    if len(gaps) and np.ptp(gaps) > 0.01 * median:
        i = int(np.argmax(np.abs(gaps - median)))
        raise ReadError(f"{path}: missing or overlapping slices: {gaps[i]:.3g} mm between {names[i]} and "
                        f"{names[i + 1]}, {median:.3g} mm between the others; restore the missing slices (or remove "
                        "the extra ones)", file=path)
    offsets = positions - positions[0]
    sideways = float(np.linalg.norm(offsets - np.outer(offsets @ normal, normal), axis=1).max())
    pixel = min(float(v) for v in records[0][1].get("PixelSpacing"))
    if sideways > ON_PLANE * pixel:
        raise ReadError(f"{path}: slices are not stacked along their normal (shifted sideways by up to "
                        f"{sideways:.3g} mm: a gantry tilt or a sheared stack); resample the series first (e.g. "
                        "dcm2niix corrects gantry tilt) and point the catalog at the result", file=path)
    dz = median if len(gaps) else float(records[0][1].get("SliceThickness") or 1.0)
    direction = tuple(np.column_stack([row, col, normal]).ravel().tolist())
    return order, tuple(float(v) for v in positions[0]), dz, direction


def _pixel_dtype(records: list) -> str:
    """The dtype that holds every rescaled value of the slices: float32 unless the rescale is by whole numbers."""
    slopes = {float(r.get("RescaleSlope") or 1.0) for r in records}
    intercepts = {float(r.get("RescaleIntercept") or 0.0) for r in records}
    if slopes != {1.0} or any(i != int(i) for i in intercepts):
        return "float32"
    bits = max(int(r.get("BitsStored") or 16) for r in records)
    signed = any(int(r.get("PixelRepresentation") or 0) == 1 for r in records)
    lo = (-(2 ** (bits - 1)) if signed else 0) + min(intercepts)
    hi = (2 ** (bits - 1) - 1 if signed else 2**bits - 1) + max(intercepts)
    return next((t for t in ("int16", "uint16", "int32") if np.iinfo(t).min <= lo and hi <= np.iinfo(t).max), "float64")


def _value(ds, key: str):
    value = ds.get(key)
    value = getattr(value, "value", value)
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value)
    try:
        return float(value) if key not in ("Manufacturer", "ManufacturerModelName", "ConvolutionKernel", "Modality") else str(value)
    except (TypeError, ValueError):
        return str(value)
