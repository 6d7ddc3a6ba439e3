"""What a reader knows about an image before reading its voxels, the error readers raise, and the checks
every header passes (plausible spacing, an orthonormal direction, a size that fits in memory)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from radlab.errors import RadlabError

__all__ = ["ACQUISITION_KEYS", "Header", "ReadError", "bad_spacing", "check_header", "first_line", "spacing_problem"]

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
MAX_SPACING_MM = 50.0  # a larger voxel is a unit mix-up (cm or m read as mm, or a damaged header)
ORTHONORMAL_TOLERANCE = 1e-3


class ReadError(RadlabError, OSError):
    """A file could not be read; the message names the file, what is wrong and what to do (``file`` names it too)."""


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
    meta: dict[str, Any] = field(default_factory=dict)  # acquisition metadata (vendor, TR, ...; DICOM UIDs)
    files: tuple[str, ...] = ()  # sorted slice files of a DICOM series (one file: a multi-frame image)
    notes: tuple[str, ...] = ()  # what the reader skipped, e.g. "skipped 2 localizer slices: a.dcm, b.dcm"

    @property
    def geometry(self) -> dict[str, Any]:
        return {"spacing": self.spacing, "origin": self.origin, "direction": self.direction}


def check_header(h: Header) -> Header:
    """``h`` if its geometry is plausible and its voxels fit in memory, else a :class:`ReadError` saying why.

    Examples
    --------
    >>> h = Header("ct.nrrd", "nrrd", (2, 3, 4), "int16", (0.5, 0.5, 0.0), (0.0, 0.0, 0.0), (1, 0, 0, 0, 1, 0, 0, 0, 1))
    >>> check_header(h)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    radlab.io._header.ReadError: ct.nrrd: implausible voxel spacing (0.5, 0.5, 0.0) mm (zero); ...
    """
    if min(h.shape) < 1:
        raise ReadError(f"{h.path}: the header promises an empty image of {' x '.join(map(str, h.shape))} voxels; "
                        "the file is damaged: copy it again from its source", file=h.path)
    why = spacing_problem(h.spacing)
    if why:
        raise ReadError(bad_spacing(h.path, h.spacing, why), file=h.path)
    direction = np.asarray(h.direction, float).reshape(3, 3)
    error = float(np.abs(direction.T @ direction - np.eye(3)).max()) if np.all(np.isfinite(direction)) else np.inf
    if error > ORTHONORMAL_TOLERANCE:
        raise ReadError(f"{h.path}: direction cosines {tuple(round(float(v), 4) for v in h.direction)} are not "
                        f"orthonormal (off by {error:.3g}): the image axes are sheared or scaled, which no voxel grid "
                        "can represent; resample the image onto an orthonormal grid first", file=h.path)
    nbytes = int(np.prod(h.shape, dtype=np.float64) * np.dtype(h.dtype).itemsize)
    memory = _physical_memory()
    if memory and nbytes > memory:
        raise ReadError(f"{h.path}: the header promises {' x '.join(map(str, h.shape))} voxels of {h.dtype} "
                        f"({nbytes / 2**30:,.1f} GiB), more than this machine's memory ({memory / 2**30:,.1f} GiB): "
                        "the header's size fields are damaged, or crop/downsample the image before use", file=h.path)
    return h


def spacing_problem(spacing) -> str:
    """What is implausible about a voxel spacing (mm): "" when nothing."""
    s = np.asarray(spacing, float)
    return ("not finite" if not np.all(np.isfinite(s)) else "zero" if np.any(s == 0) else "negative" if np.any(s < 0)
            else f"over {MAX_SPACING_MM:g} mm" if np.any(s > MAX_SPACING_MM) else "")


def bad_spacing(path: str, spacing, why: str, where: str = "") -> str:
    """The message for an implausible spacing (``why`` from :func:`spacing_problem`)."""
    return (f"{path}: implausible voxel spacing {tuple(round(float(v), 6) for v in spacing)} mm{where} ({why}); the "
            "header is damaged or in other units than mm: fix the spacing in the file (e.g. SimpleITK SetSpacing) "
            "and write it again")


def _physical_memory() -> int:
    """Bytes of RAM (0 where the system does not say): a fixed limit, so a header passes or fails the same way
    whenever it is read (the header cache keeps the verdict)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return 0


def first_line(exc: Exception) -> str:
    """The informative (last non-blank) line of a library's error message."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__
