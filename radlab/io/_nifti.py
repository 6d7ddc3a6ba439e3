"""Checks on a NIfTI file's raw header that ITK does not make (NIfTI-1 and NIfTI-2, ``.nii`` and ``.nii.gz``).

ITK silently fills the missing voxels of a file shorter than its header promises with zeros, reads a zero
``pixdim`` as 1 mm, and when the qform and sform disagree uses one of them without a word. radlab reads the
raw header (``struct``, no extra dependency) and refuses such files.
"""

from __future__ import annotations

import gzip
import itertools
import os
import struct

import numpy as np

from radlab.io._header import ReadError, bad_spacing, spacing_problem

__all__ = ["check_nifti", "non_finite"]

# sizeof_hdr -> field: (byte offset, struct format)
_LAYOUTS = {
    348: {"dim": (40, "8h"), "datatype": (70, "h"), "bitpix": (72, "h"), "pixdim": (76, "8f"), "vox_offset": (108, "f"),
          "codes": (252, "2h"), "quatern": (256, "6f"), "srow": (280, "12f")},
    540: {"dim": (16, "8q"), "datatype": (12, "h"), "bitpix": (14, "h"), "pixdim": (104, "8d"), "vox_offset": (168, "q"),
          "codes": (344, "2i"), "quatern": (352, "6d"), "srow": (400, "12d")},
}
FLOAT_DATATYPES = {16: "f4", 64: "f8"}  # NIfTI datatype code -> numpy type
QFORM_SFORM_TOLERANCE = 0.1  # voxels: how far apart the two transforms may place a corner of the image


def check_nifti(path: str) -> None:
    """Raise :class:`ReadError` if the NIfTI file at ``path`` is shorter than its header promises, has a zero,
    negative or non-finite pixdim, or has a qform and an sform (both set) that place the image differently."""
    fields = _raw_header(path)
    ndim = fields["dim"][0]
    dims = [max(int(d), 1) for d in fields["dim"][1 : ndim + 1]]
    pixdim = fields["pixdim"][1:4]
    why = spacing_problem(pixdim[: min(ndim, 3)])
    if why:
        raise ReadError(bad_spacing(path, pixdim, why, " in the NIfTI header (pixdim; ITK would read a zero as 1)"),
                        file=path)
    expected = int(fields["vox_offset"]) + int(np.prod(dims, dtype=np.int64)) * fields["bitpix"] // 8
    _check_length(path, expected)
    qform_code, sform_code = fields["codes"]
    if qform_code > 0 and sform_code > 0:
        _check_transforms(path, fields, dims[:3])


def non_finite(path: str) -> tuple[int, int]:
    """(NaN, inf) voxel counts of a float NIfTI file, from its raw bytes: ITK reads both as 0."""
    fields = _raw_header(path)
    code = FLOAT_DATATYPES.get(fields["datatype"])
    if code is None:
        return 0, 0
    count = int(np.prod([max(int(d), 1) for d in fields["dim"][1 : fields["dim"][0] + 1]], dtype=np.int64))
    with _open(path) as f:
        f.seek(int(fields["vox_offset"]))
        values = np.frombuffer(f.read(count * np.dtype(code).itemsize), dtype=fields["endian"] + code)
    return int(np.isnan(values).sum()), int(np.isinf(values).sum())


def _open(path: str):
    return gzip.open(path) if path.endswith(".gz") else open(path, "rb")


def _raw_header(path: str) -> dict:
    try:
        with _open(path) as f:
            raw = f.read(540)
    except (OSError, EOFError) as exc:
        raise ReadError(f"{path}: unreadable {'gzip stream' if path.endswith('.gz') else 'file'} ({exc}); "
                        "copy the file again from its source", file=path) from None
    for endian in "<>":
        size = struct.unpack(endian + "i", raw[:4])[0] if len(raw) >= 4 else 0
        if size in _LAYOUTS and len(raw) >= size:
            return {"endian": endian, **{k: _unpack(raw, endian, *v) for k, v in _LAYOUTS[size].items()}}
    raise ReadError(f"{path}: not a NIfTI-1 or NIfTI-2 header (bad sizeof_hdr, or the file is truncated); "
                    "copy the file again from its source", file=path)


def _unpack(raw: bytes, endian: str, offset: int, fmt: str):
    values = struct.unpack_from(endian + fmt, raw, offset)
    return values[0] if len(values) == 1 else values


def _check_length(path: str, expected: int) -> None:
    """The file must hold the voxel bytes its header promises (a .nii.gz: its gzip trailer, the size mod 2**32)."""
    if path.endswith(".gz"):
        with open(path, "rb") as f:
            f.seek(-4, os.SEEK_END)
            stored = struct.unpack("<I", f.read(4))[0]
        short = stored != expected % 2**32
        have = f"the gzip stream holds {stored} bytes"
    else:
        stored = os.path.getsize(path)
        short = stored < expected
        have = f"the file holds {stored} bytes"
    if short:
        raise ReadError(f"{path}: truncated or corrupt file ({have}, the header promises {expected}; ITK would fill "
                        "the missing voxels with zeros): copy the file again from its source", file=path)


def _check_transforms(path: str, fields: dict, dims: list[int]) -> None:
    qform, sform = _qform(fields), np.array(fields["srow"], float).reshape(3, 4)
    corners = np.array(list(itertools.product(*[(0, n - 1) for n in dims])), float)
    corners = np.column_stack([corners, np.ones(len(corners))])
    apart = float(np.linalg.norm(corners @ qform.T - corners @ sform.T, axis=1).max())
    if not apart <= QFORM_SFORM_TOLERANCE * min(fields["pixdim"][1:4]):
        raise ReadError(
            f"{path}: the NIfTI qform and sform disagree (both are set; they place the image's corners up to "
            f"{apart:.3g} mm apart): qform {_rows(qform)}, sform {_rows(sform)}; which one is right cannot be told "
            "from the file: convert the image again from DICOM, or set the wrong one to the right one (nibabel: "
            "img.set_qform(img.get_sform()) or the reverse) and save", file=path)


def _qform(fields: dict) -> np.ndarray:
    """The 3 x 4 voxel-to-world affine of the quaternion transform (NIfTI's method 2)."""
    b, c, d, *offset = fields["quatern"]
    a = np.sqrt(max(0.0, 1.0 - b * b - c * c - d * d))
    rotation = np.array([
        [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
        [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
        [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b],
    ])
    qfac = -1.0 if fields["pixdim"][0] < 0 else 1.0
    scale = np.diag([fields["pixdim"][1], fields["pixdim"][2], qfac * fields["pixdim"][3]])
    return np.column_stack([rotation @ scale, offset])


def _rows(affine: np.ndarray) -> str:
    return "[" + "; ".join(" ".join(f"{v:.4g}" for v in row) for row in affine) + "]"
