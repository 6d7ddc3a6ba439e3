"""Crawl a DICOM tree: one small header record per file (pydicom, headers only), cached on disk.

A record holds what indexing needs: patient, study, series and instance UIDs, modality, series description and
number, image type, frame of reference, slice geometry, and for an RTSTRUCT its ROI names and referenced series /
frames of reference, for a SEG its segment labels and referenced series. Files without the DICOM preamble are
``None`` (non-DICOM); a file pydicom cannot parse is ``{"error": ...}``.

The cache (``$RADLAB_CACHE/archive/<hash of the root>.json``) maps each file's path relative to the root to its
size, modification time and record, so rerunning on an unchanged tree only lists and stats the files.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from radlab.io._dicom import _has_preamble
from radlab.io._header import first_line
from radlab.io._index import cache_dir

__all__ = ["scan"]

RECORD_VERSION = 1
TAGS = ["SpecificCharacterSet", "PatientID", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "Modality",
        "SeriesDescription", "SeriesNumber", "ImageType", "FrameOfReferenceUID", "ImagePositionPatient",
        "ImageOrientationPatient", "PixelSpacing", "Rows", "Columns", "NumberOfFrames", "StructureSetROISequence",
        "ReferencedFrameOfReferenceSequence", "ReferencedSeriesSequence", "SegmentSequence"]


def _text(ds, key: str) -> str:
    value = ds.get(key)
    return "" if value is None else str(value).strip()


def _floats(ds, key: str) -> list[float] | None:
    value = ds.get(key)
    try:
        return [float(v) for v in value] if value is not None and len(value) else None
    except (TypeError, ValueError):
        return None


def _record(ds) -> dict[str, Any]:
    """The indexing record of one dataset read by pydicom."""
    rec: dict[str, Any] = {k: _text(ds, k) for k in ("PatientID", "StudyInstanceUID", "SeriesInstanceUID",
                                                     "SOPInstanceUID", "Modality", "SeriesDescription",
                                                     "FrameOfReferenceUID")}
    rec["SeriesNumber"] = _text(ds, "SeriesNumber")
    image_type = ds.get("ImageType")
    rec["ImageType"] = [str(v).upper() for v in image_type] if isinstance(image_type, (list, tuple)) or \
        type(image_type).__name__ == "MultiValue" else ([str(image_type).upper()] if image_type else [])
    rec["image"] = "Rows" in ds and rec["Modality"] not in ("RTSTRUCT", "SEG", "SR", "PR", "KO", "REG", "RTPLAN")
    if rec["image"]:
        rec["position"] = _floats(ds, "ImagePositionPatient")
        rec["orientation"] = _floats(ds, "ImageOrientationPatient")
        rec["spacing"] = _floats(ds, "PixelSpacing")
        rec["matrix"] = [int(ds.get("Rows") or 0), int(ds.get("Columns") or 0)]
        rec["frames"] = int(ds.get("NumberOfFrames") or 1)
    if rec["Modality"] == "RTSTRUCT":
        rec["rois"] = [str(r.get("ROIName", "")) for r in ds.get("StructureSetROISequence", [])]
        refs = ds.get("ReferencedFrameOfReferenceSequence", [])
        rec["ref_frames"] = [str(f.get("FrameOfReferenceUID", "")) for f in refs if f.get("FrameOfReferenceUID")]
        rec["ref_series"] = [str(s.get("SeriesInstanceUID", "")) for f in refs
                             for st in f.get("RTReferencedStudySequence", [])
                             for s in st.get("RTReferencedSeriesSequence", []) if s.get("SeriesInstanceUID")]
    elif rec["Modality"] == "SEG":
        rec["rois"] = [str(s.get("SegmentLabel", "")) for s in ds.get("SegmentSequence", [])]
        rec["ref_frames"] = [rec["FrameOfReferenceUID"]] if rec["FrameOfReferenceUID"] else []
        rec["ref_series"] = [str(s.get("SeriesInstanceUID", "")) for s in ds.get("ReferencedSeriesSequence", [])
                             if s.get("SeriesInstanceUID")]
    return rec


def read_record(path: str) -> dict[str, Any] | None:
    """The record of one file: None for a non-DICOM file, ``{"error": message}`` for a damaged one."""
    import pydicom

    try:
        if not _has_preamble(Path(path)):
            return None
        ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=TAGS, defer_size="64 KB")
        return _record(ds)
    except Exception as exc:  # pydicom raises many types for damaged files
        return {"error": f"damaged DICOM file ({first_line(exc)})"}


def _cache_path(root: Path) -> Path:
    digest = hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:16]
    return cache_dir() / "archive" / f"{digest}.json"


def _load(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
        return data["files"] if data.get("version") == RECORD_VERSION else {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}  # no cache, or a corrupt one: rebuilt


def scan(root: str | Path, *, cache: bool = True) -> tuple[dict[str, dict | None], dict[str, int]]:
    """Records of every file under ``root`` ({relative posix path: record}) and counts
    (``files``, ``read``: headers read now, ``cached``: taken from the cache)."""
    root = Path(root)
    cache_file = _cache_path(root)
    old = _load(cache_file) if cache else {}
    records, new, read = {}, {}, 0
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            full = os.path.join(folder, name)
            rel = Path(os.path.relpath(full, root)).as_posix()
            try:
                st = os.stat(full)
            except OSError:
                continue  # vanished or a dangling link
            stamp = [st.st_size, st.st_mtime_ns]
            hit = old.get(rel)
            if hit is not None and hit[0] == stamp:
                record = hit[1]
            else:
                record, read = read_record(full), read + 1
            records[rel] = record
            new[rel] = [stamp, record]
    if cache and (read or len(new) != len(old)):
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache_file.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"version": RECORD_VERSION, "files": new}))
            tmp.replace(cache_file)
        except OSError:  # a read-only cache only costs speed
            pass
    return records, {"files": len(records), "read": read, "cached": len(records) - read}
