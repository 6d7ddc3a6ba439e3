"""Readers: headers without voxels, voxels on demand, each checked where it enters.

Every reader comes in two halves so cohorts can stay lazy: ``read_header`` returns the
geometry (and acquisition metadata where the format has it) without touching voxel
data, and ``read_voxels`` returns the (z, y, x) array. Formats:

``nifti``/``nrrd``/``mha``  single files read through SimpleITK (``.nii[.gz]``, ``.nrrd``/``.nhdr``, ``.mha``/``.mhd``)
``dicom``                   a folder holding one DICOM image series (slices sorted along the slice normal)
``rtstruct``                a DICOM RTSTRUCT file; one ROI (by name) is rasterised onto its image's grid
``seg``                     a DICOM SEG file; one segment (by number or label) is placed onto its image's grid

What is checked (a :class:`ReadError` naming the file, what is wrong and what to do): a 3-D scalar image;
a file (or detached ``.raw``/``.nhdr`` data file) as long as its header promises; for NIfTI a positive pixdim
and agreeing qform/sform; plausible spacing, orthonormal directions and a size that fits in memory
(:func:`~radlab.io._header.check_header`); finite voxels; and for label-map masks the values (0/1, or ``label``
/ ``threshold`` chosen). DICOM checks: :mod:`radlab.io._dicom` and
:mod:`radlab.io._dicom_masks`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import SimpleITK as sitk

from radlab.io._dicom import read_series_voxels, series_header
from radlab.io._dicom_masks import rtstruct_mask, seg_mask
from radlab.io._header import ACQUISITION_KEYS, Header, ReadError, check_header, first_line
from radlab.io._nifti import check_nifti, non_finite

__all__ = ["Header", "ReadError", "detect_format", "read_header", "read_voxels", "read_mask_voxels"]

IMAGE_FORMATS = ("nifti", "nrrd", "mha", "dicom")
MASK_FORMATS = IMAGE_FORMATS + ("rtstruct", "seg")


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
        raise ReadError(f"{path}: file not found", file=path)
    if name.endswith(".dcm"):
        import pydicom

        try:
            modality = getattr(pydicom.dcmread(p, stop_before_pixels=True, specific_tags=["Modality"]), "Modality", "")
        except Exception as exc:  # pydicom raises many types for junk files
            raise ReadError(f"{path}: not a readable DICOM file ({first_line(exc)}); replace it with an intact copy",
                            file=path) from None
        return {"RTSTRUCT": "rtstruct", "SEG": "seg"}.get(modality, "dicom")
    raise ReadError(f"{path}: unknown image format (expected .nii[.gz], .nrrd, .mha/.mhd, .dcm or a DICOM folder)",
                    file=path)


def read_header(path: str | Path, fmt: str = "auto") -> Header:
    """Read geometry and acquisition metadata of an image without reading its voxels (checked: see the module)."""
    path = str(path)
    fmt = detect_format(path) if fmt == "auto" else fmt
    if not Path(path).exists():
        raise ReadError(f"{path}: file not found", file=path)
    if fmt == "dicom":
        return series_header(path)
    if fmt not in IMAGE_FORMATS:
        raise ReadError(f"{path}: format {fmt!r} has no image header (masks in {fmt} take their image's grid)",
                        file=path)
    data = _data_file(path, fmt) if fmt in ("nrrd", "mha") else None
    if data is not None and not Path(data[0]).is_file():
        raise ReadError(f"{path}: its voxel data file {data[0]} is missing; copy it next to the header", file=path)
    reader = sitk.ImageFileReader()
    reader.SetFileName(path)
    try:
        reader.ReadImageInformation()
    except RuntimeError as exc:
        raise ReadError(f"{path}: unreadable {fmt} header ({first_line(exc)}); the file is damaged or not a {fmt} "
                        "file: copy it again from its source", file=path) from None
    size = reader.GetSize()
    if len(size) != 3:
        raise ReadError(f"{path}: expected a 3-D image, got {len(size)}-D of size {size}; radlab reads 3-D volumes: "
                        "split a 4-D series (DWI, DCE, fMRI) into 3-D files and declare each as an image",
                        file=path)
    if reader.GetNumberOfComponents() != 1:
        raise ReadError(f"{path}: {reader.GetNumberOfComponents()} values per voxel (a vector or colour image); "
                        "radlab reads scalar images: save each component as its own file", file=path)
    dtype = np.dtype(sitk.GetArrayViewFromImage(sitk.Image([1, 1, 1], reader.GetPixelID())).dtype).name
    header = check_header(Header(
        path=path, format=fmt, shape=(size[2], size[1], size[0]), dtype=dtype,
        spacing=tuple(reader.GetSpacing()), origin=tuple(reader.GetOrigin()),
        direction=tuple(reader.GetDirection()), meta=_sidecar_meta(path),
    ))
    if fmt == "nifti":
        check_nifti(path)
    elif data is not None:
        _check_length(path, *data, int(np.prod(header.shape)) * np.dtype(dtype).itemsize)
    return header


def read_voxels(header: Header) -> np.ndarray:
    """Read an image's voxels as a (z, y, x) array; the geometry must match its header and every voxel be finite."""
    if header.format == "dicom":
        array = read_series_voxels(header)
    else:
        try:
            array = sitk.GetArrayFromImage(sitk.ReadImage(header.path))
        except RuntimeError as exc:
            raise ReadError(f"{header.path}: unreadable voxel data ({first_line(exc)}); the file is damaged: copy "
                            "it again from its source", file=header.path) from None
        if array.shape != header.shape:
            raise ReadError(f"{header.path}: voxel data of shape {array.shape} does not match its header "
                            f"{header.shape}", file=header.path)
    nan, inf = (int(np.isnan(array).sum()), int(np.isinf(array).sum())) if array.dtype.kind == "f" else (0, 0)
    if header.format == "nifti":  # ITK reads a NIfTI's NaN and inf as 0: count them in the file
        nan, inf = (max(a, b) for a, b in zip((nan, inf), non_finite(header.path)))
    if nan or inf:
        raise ReadError(f"{header.path}: {nan + inf} of {array.size} voxels are not finite ({nan} NaN, {inf} inf); "
                        "radlab does not turn them into numbers: replace them in the file (e.g. by the background "
                        "value, numpy.nan_to_num) and write it again", file=header.path)
    return array


def read_mask_voxels(path: str, fmt: str, reference: Header, *, roi: str | int | None = None,
                     label: int | None = None, threshold: float | None = None) -> np.ndarray:
    """Read a mask as a (z, y, x) array on its image's grid.

    ``roi`` names the RTSTRUCT ROI or the SEG segment (number or exact label). A label map comes back as it is
    when it is binary (0/1); ``label`` keeps one value and ``threshold`` the voxels >= it (a probability map,
    or a FRACTIONAL SEG), both as uint8 0/1. Anything else (several labels, fractions, negative values) is a
    :class:`ReadError` saying which of the two to set.
    """
    if threshold is not None and not np.isfinite(threshold):
        raise ReadError(f"{path}: mask threshold {threshold!r} is not a finite number", file=path)
    if fmt == "rtstruct":
        return rtstruct_mask(path, roi, reference)
    if fmt == "seg":
        return seg_mask(path, roi, reference, threshold)
    return _label_mask(path, read_voxels(read_header(path, fmt)), label, threshold)


def _label_mask(path: str, array: np.ndarray, label: int | None, threshold: float | None) -> np.ndarray:
    if label is not None and threshold is not None:
        raise ReadError(f"{path}: both `label` and `threshold` are set for this mask; set one", file=path)
    if threshold is not None:
        return (array >= threshold).astype(np.uint8)
    low = array.min()
    if low < 0:
        raise ReadError(f"{path}: {int((array < 0).sum())} mask voxels are negative (down to {low:g}); a mask holds "
                        "0 (background) and labels >= 1: fix the file, or set `threshold:` if it is a score map",
                        file=path)
    if array.dtype.kind == "f":
        fractional = int(((array > 0) & (array < 1)).sum())
        if fractional:
            raise ReadError(f"{path}: {fractional} mask voxels hold values strictly between 0 and 1: a probability "
                            "map, not a mask; set `threshold:` (e.g. 0.5) in the catalog's mask entry to keep the "
                            "voxels at or above it", file=path)
        if np.any(array != np.round(array)):
            raise ReadError(f"{path}: mask values are not whole numbers (e.g. {array[array != np.round(array)][0]:g}); "
                            "a label map holds whole labels: set `threshold:` if it is a score map", file=path)
    if label is not None:
        if not np.any(array == label):
            raise ReadError(f"{path}: no voxel has label {label} (labels present: {_labels(array)}); set `label:` "
                            "to one of them", file=path)
        return (array == label).astype(np.uint8)
    if array.max() <= 1:
        return array
    raise ReadError(f"{path}: the label map holds labels {_labels(array)}, not 0/1; set `label:` in the catalog's "
                    "mask entry to the one to use", file=path)


def _labels(array: np.ndarray) -> list:
    values = np.unique(array)
    return [v.item() for v in values[values != 0]]


def _check_length(path: str, name: str, offset: int, raw: bool, nbytes: int) -> None:
    """Uncompressed voxel data (attached, or a detached file) must be as long as the header promises."""
    have = Path(name).stat().st_size - max(offset, 0)
    if raw and have < nbytes:
        raise ReadError(f"{path}: truncated voxel data ({name} holds {max(have, 0)} bytes of voxels, the header "
                        f"promises {nbytes}): copy the file again from its source", file=path)


def _data_file(path: str, fmt: str) -> tuple[str, int, bool] | None:
    """(file holding the voxels, byte offset where they start (-1: at the end), uncompressed raw bytes?) from a
    MetaImage (``Key = value``) or NRRD (``key: value``) header; None for a list or pattern of data files."""
    with open(path, "rb") as f:
        head = f.read(1 << 16)
    fields, end = {}, 0
    for line in head.splitlines(keepends=True):
        end += len(line)
        text = line.decode("latin-1").strip()
        if fmt == "nrrd" and not text:
            break  # a blank line ends a NRRD header
        key, sep, value = text.partition("=" if fmt == "mha" else ":")
        if sep and not value.startswith("="):  # NRRD "key:=value" lines are key/value pairs, not fields
            fields[key.strip().lower().replace(" ", "")] = value.strip()
        if fmt == "mha" and key.strip() == "ElementDataFile":
            break
    if fmt == "mha":
        name, skip = fields.get("elementdatafile", ""), "headersize"
        raw = fields.get("compresseddata", "false").lower() != "true"
    else:
        name, skip, raw = fields.get("datafile", ""), "byteskip", fields.get("encoding", "raw").lower() == "raw"
    if name.upper() in ("", "LOCAL"):
        return path, end, raw
    if name.upper().startswith("LIST") or "%" in name or " " in name:
        return None
    return str(Path(path).parent / name), int(fields.get(skip, 0)), raw


def sidecar_path(path: str | Path) -> Path:
    """The BIDS-style JSON sidecar of an image file (``T2w.nii.gz`` -> ``T2w.json``), present or not."""
    p = Path(path)
    stem = p.name[: -len(".nii.gz")] if p.name.endswith(".nii.gz") else p.stem
    return p.with_name(stem + ".json")


def _sidecar_meta(path: str) -> dict[str, Any]:
    """Acquisition metadata from a BIDS-style JSON sidecar (as dcm2niix writes), if present."""
    sidecar = sidecar_path(path)
    if not sidecar.exists():
        return {}
    try:
        raw = json.loads(sidecar.read_text())
    except (OSError, ValueError) as exc:
        raise ReadError(f"{sidecar}: unreadable JSON sidecar ({exc}); fix or remove it", file=str(sidecar)) from None
    meta = {col: raw[key] for key, col in ACQUISITION_KEYS.items() if key in raw}
    # BIDS stores TR/TE in seconds; radlab reports milliseconds like DICOM.
    for col in ("repetition_time", "echo_time"):
        if col in meta:
            meta[col] = float(meta[col]) * 1000.0
    return meta
