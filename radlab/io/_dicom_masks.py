"""DICOM RTSTRUCT and SEG masks placed on their image's grid.

The ROI/segment is chosen by exact name (or number). When the image is a DICOM series, the mask's referenced
series, frame of reference and patient must be the image's (a NIfTI/NRRD image has no UIDs: the mask is placed
by its coordinates). Contours must be closed, lie on the image's slice planes and inside it; SEG frames must lie
on its grid; a FRACTIONAL SEG needs a threshold.
"""

from __future__ import annotations

import difflib

import numpy as np

from radlab.io._dicom import ON_PLANE
from radlab.io._header import Header, ReadError, first_line

__all__ = ["rtstruct_mask", "seg_mask"]


def _choose(path: str, kind: str, names: dict[int, str], wanted: str | int | None) -> int:
    """The number of the ROI/segment named exactly (or numbered) ``wanted``; the only one when ``wanted`` is None."""
    listing, plural = sorted(names.values()), f"{kind}s"
    if wanted is None:
        if len(names) == 1:
            return next(iter(names))
        raise ReadError(f"{path}: holds {len(names)} {plural} ({listing}); set `roi:` in the catalog's mask entry to "
                        "the one to use", file=path)
    matches = [n for n, name in names.items() if (n == wanted if isinstance(wanted, int) else name == wanted)]
    if len(matches) > 1:
        raise ReadError(f"{path}: {len(matches)} {plural} are named {wanted!r} (numbers {matches}); set `roi:` to the "
                        f"number of the one to use", file=path)
    if not matches:
        folded = {name.strip().lower(): name for name in names.values()}
        close = [folded[c] for c in difflib.get_close_matches(str(wanted).strip().lower(), list(folded), n=3, cutoff=0.6)]
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise ReadError(f"{path}: no {kind} {'named ' if isinstance(wanted, str) else 'number '}{wanted!r} "
                        f"({plural}: {listing}); names must match exactly{hint}", file=path)
    return matches[0]


def _check_belongs(path: str, kind: str, reference: Header, **theirs: set[str]) -> None:
    """The mask's referenced series / frame of reference / patient must be the image's (when the image is DICOM)."""
    if reference.format != "dicom":
        return  # a NIfTI/NRRD image carries no UIDs: nothing to compare (documented)
    what = {"series_uid": "series", "frame_of_reference_uid": "frame of reference", "patient_id": "patient"}
    for key, uids in theirs.items():
        ours, uids = reference.meta.get(key), {u for u in uids if u}
        if uids and ours and ours not in uids:
            raise ReadError(f"{path}: this {kind} does not belong to image {reference.path}: it references "
                            f"{what[key]} {', '.join(sorted(uids))}, the image is {what[key]} {ours}; point the "
                            f"mask at the {kind} drawn on this image series (or the image at the series it was "
                            "drawn on)", file=path)


def _physical_to_index(points: np.ndarray, reference: Header) -> np.ndarray:
    """Continuous (x, y, z) index coordinates of physical points (n, 3) on a reference grid."""
    direction = np.array(reference.direction, float).reshape(3, 3)
    return (np.linalg.solve(direction, (points - np.array(reference.origin)).T).T) / np.array(reference.spacing)


def _read(path: str, kind: str):
    import pydicom

    try:
        return pydicom.dcmread(path)
    except Exception as exc:
        raise ReadError(f"{path}: not a readable DICOM {kind} ({first_line(exc)}); replace it with an intact copy",
                        file=path) from None


def rtstruct_mask(path: str, roi: str | int | None, reference: Header) -> np.ndarray:
    """ROI ``roi`` of an RTSTRUCT as a uint8 (z, y, x) mask on the reference image's grid (even-odd filled)."""
    from skimage.draw import polygon

    ds = _read(path, "RTSTRUCT")
    names = {int(r.ROINumber): str(r.ROIName) for r in ds.get("StructureSetROISequence", [])}
    if not names:
        raise ReadError(f"{path}: the structure set defines no ROI; export it again with its ROIs", file=path)
    number = _choose(path, "ROI", names, roi)
    frames = {str(fr.get("FrameOfReferenceUID", "")) for fr in ds.get("ReferencedFrameOfReferenceSequence", [])}
    roi_frame = next(str(r.get("ReferencedFrameOfReferenceUID", "")) for r in ds.StructureSetROISequence
                     if int(r.ROINumber) == number)
    series = {str(s.SeriesInstanceUID) for fr in ds.get("ReferencedFrameOfReferenceSequence", [])
              for st in fr.get("RTReferencedStudySequence", []) for s in st.get("RTReferencedSeriesSequence", [])}
    _check_belongs(path, "RTSTRUCT", reference, series_uid=series, frame_of_reference_uid={roi_frame} if roi_frame else frames,
                   patient_id={str(ds.get("PatientID", ""))})
    contours = [c for item in ds.get("ROIContourSequence", []) if int(item.ReferencedROINumber) == number
                for c in item.get("ContourSequence", [])]
    name = names[number]
    if not contours:
        raise ReadError(f"{path}: ROI {name!r} has no contours (it is defined but was never drawn); choose another "
                        "ROI or draw it", file=path)
    mask = np.zeros(reference.shape, dtype=np.uint8)
    for contour in contours:
        shape = str(contour.get("ContourGeometricType", "CLOSED_PLANAR"))
        points = np.array(contour.ContourData, float).reshape(-1, 3)
        if shape not in ("CLOSED_PLANAR", "CLOSED_PLANAR_XOR") or len(points) < 3:
            raise ReadError(f"{path}: ROI {name!r} has a {shape} contour of {len(points)} points, not a closed "
                            "outline of a region; choose an ROI drawn as closed contours", file=path)
        ijk = _physical_to_index(points, reference)
        k = int(round(float(np.median(ijk[:, 2]))))
        extent = np.array(reference.shape[::-1]) - 0.5 + ON_PLANE
        if not 0 <= k < reference.shape[0] or np.any(ijk[:, :2] < -0.5 - ON_PLANE) or np.any(ijk[:, :2] > extent[:2]):
            raise ReadError(f"{path}: ROI {name!r} has a contour outside the image ({reference.path}); the structure "
                            "set was drawn on another image: point the mask at the right one", file=path)
        if np.abs(ijk[:, 2] - k).max() > ON_PLANE:
            raise ReadError(f"{path}: ROI {name!r} has a contour between the slices of {reference.path} (at slice "
                            f"index {float(np.median(ijk[:, 2])):.2f}); the structure set was drawn on another grid: "
                            "point the mask at the image it was drawn on (or resample it)", file=path)
        rr, cc = polygon(ijk[:, 1], ijk[:, 0], shape=reference.shape[1:])
        mask[k, rr, cc] ^= 1  # even-odd fill: inner contours cut holes
    return mask


def seg_mask(path: str, segment: str | int | None, reference: Header, threshold: float | None = None) -> np.ndarray:
    """Segment ``segment`` of a DICOM SEG as a uint8 (z, y, x) mask on the reference image's grid; a FRACTIONAL
    SEG needs ``threshold`` (kept: fraction >= threshold)."""
    ds = _read(path, "SEG")
    try:
        frames = ds.pixel_array
    except Exception as exc:
        raise ReadError(f"{path}: the SEG's pixel data cannot be read ({first_line(exc)}); replace it with an intact "
                        "copy", file=path) from None
    frames = frames.reshape((-1,) + frames.shape[-2:])
    labels = {int(s.SegmentNumber): str(s.SegmentLabel) for s in ds.get("SegmentSequence", [])}
    number = _choose(path, "segment", labels, segment)
    _check_belongs(path, "SEG", reference, frame_of_reference_uid={str(ds.get("FrameOfReferenceUID", ""))},
                   series_uid={str(s.SeriesInstanceUID) for s in ds.get("ReferencedSeriesSequence", [])},
                   patient_id={str(ds.get("PatientID", ""))})
    if str(ds.get("SegmentationType", "BINARY")) == "FRACTIONAL":
        if threshold is None:
            raise ReadError(f"{path}: a FRACTIONAL SEG holds probabilities, not a mask; set `threshold:` (e.g. 0.5) "
                            "in the catalog's mask entry to keep the voxels at or above it", file=path)
        frames = frames / float(ds.MaximumFractionalValue) >= threshold
    shared = ds.SharedFunctionalGroupsSequence[0] if "SharedFunctionalGroupsSequence" in ds else {}

    def functional(group, name):  # per-frame value, else the one shared by all frames (None: neither)
        return next((g[name].value[0] for g in (group, shared) if name in g), None)

    direction = np.array(reference.direction, float).reshape(3, 3)
    mask = np.zeros(reference.shape, dtype=np.uint8)
    for frame, group in zip(frames, ds.PerFrameFunctionalGroupsSequence):
        if int(functional(group, "SegmentIdentificationSequence").ReferencedSegmentNumber) != number:
            continue
        plane_position = functional(group, "PlanePositionSequence")
        if plane_position is None or "ImagePositionPatient" not in plane_position:
            raise ReadError(f"{path}: a segment frame has no ImagePositionPatient, so its slice is unknown; export "
                            "the SEG again with complete plane positions", file=path)
        position = np.array(plane_position.ImagePositionPatient, float)[None]
        i, j, k = _physical_to_index(position, reference)[0]
        plane, pixels = functional(group, "PlaneOrientationSequence"), functional(group, "PixelMeasuresSequence")
        on_grid = (abs(i) <= ON_PLANE and abs(j) <= ON_PLANE and abs(k - round(k)) <= ON_PLANE
                   and 0 <= round(k) < reference.shape[0] and frame.shape == reference.shape[1:]
                   and (plane is None or np.allclose(np.array(plane.ImageOrientationPatient, float),
                                                     direction[:, :2].T.ravel(), atol=1e-3))
                   and (pixels is None or np.allclose(np.array(pixels.PixelSpacing, float)[::-1],
                                                      reference.spacing[:2], atol=1e-3)))
        if not on_grid:
            raise ReadError(f"{path}: segment frame at {position[0].round(2).tolist()} does not lie on the grid of "
                            f"{reference.path}; the SEG was made on another image: point the mask at the right one",
                            file=path)
        mask[int(round(k))] |= (frame > 0).astype(np.uint8)
    return mask
