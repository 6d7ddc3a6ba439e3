"""Features of one case: what runs on a worker (read voxels, check, extract, write the cache record)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import sys
import uuid
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from radlab.errors import EXIT_FAILED_CASES, RadlabError
from radlab.io._geometry import same_geometry, to_sitk

__all__ = ["CaseFailure", "case_pairs", "compute_case", "error_row", "fingerprint", "record_name", "shape_only",
           "source_sha256", "write_record"]

log = logging.getLogger(__name__)
SEP = "__"  # image__mask__feature
_EXTRACTORS: dict[str, Any] = {}
_DETACHED = re.compile(rb"^\s*(?:ElementDataFile\s*=|data ?file\s*:)\s*(\S.*?)\s*$", re.M | re.I)  # .mhd, .nhdr
_PATH = re.compile(r"(/[^\s:;()'\"]+)")  # a path in a message that names no file otherwise


class CaseFailure(RadlabError):
    """A case that cannot be extracted (it goes to the error table; the others complete); ``file`` names the
    file at fault."""

    exit_code = EXIT_FAILED_CASES

    def __init__(self, message: str, file: str = "", *, case: str = ""):
        super().__init__(message, file=file, case=case)


def case_pairs(ds: xr.Dataset, pairs=None) -> list[tuple[str, str]]:
    """(image, mask) variable pairs of a case.

    By default each mask goes with its own image (attr ``image``) and with every other image on the same
    grid and timepoint, so several sequences share one tumour mask. A mask without an image (a mask-only
    cohort) pairs with itself, ``(mask, mask)``: shape features only (see :func:`shape_only`).
    """
    if pairs is not None:
        out = [tuple(p) for p in pairs]
        for img, msk in out:
            for v in (img, msk):
                if v not in ds.data_vars:
                    raise CaseFailure(f"The 'pairs' parameter of extract names variable {v!r}, which the case does not have "
                                      f"(variables: {list(ds.data_vars)}).")
        return out
    roles = {v: ds[v].attrs.get("role") for v in ds.data_vars}
    images = [v for v, r in roles.items() if r == "image"]
    out = []
    for m in (v for v, r in roles.items() if r == "mask"):
        own = ds[m].attrs.get("image")
        if own is None and not images:
            out.append((m, m))
            continue
        if own not in ds.data_vars:
            raise CaseFailure(f"mask {m!r} names image {own!r}, which the case does not have", ds[m].attrs.get("source", ""))
        tp = ds[own].attrs.get("timepoint")
        out.append((own, m))
        out += [(i, m) for i in images if i != own and ds[i].dims == ds[own].dims and ds[i].attrs.get("timepoint") == tp]
    if not out:
        raise CaseFailure(f"the case has no image/mask pair (variables and roles: {roles})")
    return out


def _source_files(path: Path) -> list[Path]:
    """The files whose bytes make a source: the file; a folder's files (a DICOM series); a .mhd/.nhdr header
    and its detached data file (or, for a list or pattern of data files, every file next to it)."""
    if path.is_dir():
        return sorted(f for f in path.iterdir() if f.is_file())
    if path.suffix.lower() in (".mhd", ".nhdr"):
        with open(path, "rb") as fh:
            m = _DETACHED.search(fh.read(1 << 16))
        if m and m.group(1).upper() != b"LOCAL":  # LOCAL: the data follow the header
            data = path.parent / m.group(1).decode("utf-8", "replace")
            others = [data] if data.is_file() else sorted(f for f in path.parent.iterdir() if f.is_file() and f != path)
            return [path, *others]
    return [path]


def source_sha256(path: str) -> str | None:
    """SHA-256 of a source's bytes (None if it does not exist): ``sha256sum`` of a single file; for a folder
    (DICOM series) or a header with a detached data file, the SHA-256 of each file's name and SHA-256 in name
    order. SHA-256 runs at over 1 GB/s on CPUs with SHA extensions (faster than BLAKE2b there)."""
    p = Path(path)
    if not p.exists():
        return None
    files = _source_files(p)
    digests = []
    for f in files:
        with open(f, "rb") as fh:
            digests.append(hashlib.file_digest(fh, "sha256"))
    if len(files) == 1 and files[0] == p:
        return digests[0].hexdigest()
    h = hashlib.sha256()
    for f, d in zip(files, digests):
        h.update(f.name.encode() + b"\0" + d.digest())
    return h.hexdigest()


def fingerprint(ds: xr.Dataset, variables) -> dict[str, dict[str, str]]:
    """Identity of each variable's data (the cache key): the SHA-256 of its source's bytes (see
    :func:`source_sha256`) and a token of its data and attributes (the dask graph that reads or derives it,
    or a hash of in-memory voxels), so changed bytes, another label or ROI of the same file, or a
    preprocessing step give another record. A source several variables share (the ROIs of one structure set,
    the labels of one label map) is hashed once. Raises :class:`CaseFailure` if a source cannot be read."""
    import dask.base

    out, digests = {}, {}
    for v in variables:
        da = ds[v]
        entry = {"token": dask.base.tokenize(da.data, sorted(da.attrs.items(), key=lambda kv: str(kv[0])))}
        src = da.attrs.get("source")
        if src:
            try:
                if str(src) not in digests:
                    digests[str(src)] = source_sha256(str(src))
                digest = digests[str(src)]
            except OSError as exc:
                raise CaseFailure(f"cannot read {v!r} from {src}: {exc.strerror or exc}", str(src)) from None
            if digest is not None:
                entry |= {"file": str(src), "sha256": digest}
        out[v] = entry
    return out


def record_name(case: str, fp: dict[str, dict[str, str]]) -> str:
    """Cache file name for a case: readable id + hash of its variables' fingerprint."""
    key = hashlib.sha256(json.dumps([case, sorted(fp.items())], sort_keys=True).encode()).hexdigest()[:12]
    return f"{re.sub(r'[^A-Za-z0-9._-]', '_', case)[:80]}-{key}.json"


def write_record(path: str, record: dict[str, Any]) -> bool:
    """Write a cache record atomically (temporary file + ``os.replace``: a killed run leaves either nothing or
    a whole record); False, with a logged warning, if the cache folder cannot be written."""
    tmp = f"{path}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp"
    try:
        Path(tmp).write_text(json.dumps(record))
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        log.warning("features: cannot write the cache record %s of case %r (%s); the case is not cached",
                    path, record.get("case"), exc)
        return False
    return True


def _load(ds: xr.Dataset, var: str) -> xr.DataArray:
    import dask

    da = ds[var]
    try:
        with dask.config.set(scheduler="synchronous"):
            values = np.asarray(da.values)
    except Exception as exc:
        source = da.attrs.get("source", "")
        raise CaseFailure(f"cannot read {var!r}{f' from {source}' if source else ''}: {exc}",
                          getattr(exc, "file", "") or source) from None
    return xr.DataArray(values, dims=("z", "y", "x"), attrs=da.attrs, name=var)


def _pyradiomics(params: dict, key: str):
    if key not in _EXTRACTORS:
        preload_backend()
        import radiomics
        from radiomics.featureextractor import RadiomicsFeatureExtractor

        radiomics.setVerbosity(logging.ERROR)
        logging.getLogger("radiomics").setLevel(logging.ERROR)
        with warnings.catch_warnings():  # pyradiomics validates parameters with pykwalify, which uses load_module
            warnings.filterwarnings("ignore", "the load_module", DeprecationWarning)
            # the MIRP block of a preset (backend="mirp") is no pyradiomics setting
            _EXTRACTORS[key] = RadiomicsFeatureExtractor({k: v for k, v in params.items() if k != "mirp"})
    return _EXTRACTORS[key]


def preload_backend() -> None:
    """Import what extraction needs on a worker (pyradiomics and its feature classes)."""
    with warnings.catch_warnings():  # pyradiomics validates parameters with pykwalify, which uses load_module
        warnings.filterwarnings("ignore", "the load_module", DeprecationWarning)
        import radiomics.featureextractor  # noqa: F401  (imports every feature class and image type)


def _one_itk_thread_per_task() -> None:
    """On a dask worker, run SimpleITK single-threaded: the worker's threads are the parallelism (as dask sets
    OMP/MKL/OpenBLAS to one thread), so a worker per core does not oversubscribe the machine."""
    distributed = sys.modules.get("distributed")  # not imported: not on a worker
    try:
        distributed.get_worker()
    except (AttributeError, ValueError):
        return
    import SimpleITK as sitk

    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)


def _check_mask(mask: xr.DataArray, label: int) -> np.ndarray:
    """The ROI (voxels equal to ``label``) of a mask, or :class:`CaseFailure` saying why there is none."""
    values, file = mask.values, mask.attrs.get("source", "")
    if values.dtype.kind == "f":
        fractional = values != np.rint(values)  # NaN too
        if fractional.any():
            raise CaseFailure(
                f"mask {mask.name!r} has {int(fractional.sum())} voxels that are not whole numbers (e.g. "
                f"{', '.join(f'{v:g}' for v in np.unique(values[fractional])[:3])}): a probability map or an "
                f"interpolated mask? Threshold it (the catalog mask's 'threshold') or resample masks with nearest "
                f"neighbour", file)
    roi = values == label
    if not roi.any():
        present = [v.item() for v in np.unique(values) if v != 0]
        if not present:
            raise CaseFailure(f"mask {mask.name!r} is empty (every voxel is 0; no voxel with label {label})", file)
        raise CaseFailure(f"mask {mask.name!r} has no voxel with label {label} (the parameters' setting 'label'); "
                          f"labels present: {present}. Set 'label' to the one you mean", file)
    return roi


def _check_image(image: xr.DataArray, roi: np.ndarray) -> None:
    if image.dtype.kind != "f":
        return
    bad = ~np.isfinite(image.values)
    if bad.any():
        raise CaseFailure(f"image {image.name!r} has {int(bad.sum())} NaN or infinite voxels ({int(bad[roi].sum())} "
                          f"inside the ROI): its features would be NaN or wrong. Fix or exclude those voxels",
                          image.attrs.get("source", ""))


SHAPE_CLASSES = ("shape", "shape2D")
_INTENSITY_SETTINGS = ("normalize", "normalizeScale", "removeOutliers", "resegmentRange", "resegmentMode",
                       "resegmentShape", "voxelArrayShift")


def shape_only(params: dict) -> dict:
    """pyradiomics parameters for a mask without an image: the original image type, the shape classes the
    parameters ask for (``shape`` if none) and the settings that do not need intensities (no resegmentation or
    normalisation).

    Examples
    --------
    >>> shape_only({"setting": {"binWidth": 25, "resegmentRange": [-1000, 400]}, "imageType": {"LoG": {}},
    ...             "featureClass": {"shape": None, "glcm": None}})
    {'setting': {'binWidth': 25}, 'imageType': {'Original': {}}, 'featureClass': {'shape': None}}
    """
    classes = {c: v for c, v in (params.get("featureClass") or {}).items() if c in SHAPE_CLASSES} or {"shape": None}
    setting = {k: v for k, v in (params.get("setting") or {}).items() if k not in _INTENSITY_SETTINGS}
    return {"setting": setting, "imageType": {"Original": {}}, "featureClass": classes}


def _extract_pair(image: xr.DataArray, mask: xr.DataArray, params: dict, key: str, backend: str) -> dict[str, float]:
    label = int(params.get("setting", {}).get("label", 1))
    mask_file = mask.attrs.get("source", "")
    roi = _check_mask(mask, label)
    if image.name == mask.name:  # a mask without an image: its shape, with pyradiomics on the mask as image
        image, params, key, backend = mask.astype(np.float32), shape_only(params), f"{key}-shape", "pyradiomics"
    diffs = same_geometry(image.attrs, mask.attrs, shape_a=image.shape, shape_b=mask.shape)
    if diffs:
        raise CaseFailure(f"mask {mask.name!r} does not lie on image {image.name!r}: " + "; ".join(diffs), mask_file)
    _check_image(image, roi)
    img = to_sitk(image.astype(np.float32) if image.dtype == np.float16 else image)
    msk = to_sitk(mask.copy(data=np.rint(mask.values).astype(np.uint32)) if mask.dtype.kind == "f" else mask)
    try:
        if backend == "mirp":
            from radlab.features._mirp import mirp_features

            values = mirp_features(img, msk, params, label=label)
        else:
            result = _pyradiomics(params, key).execute(img, msk, label=label)
            values = {k: float(v) for k, v in result.items() if not k.startswith("diagnostics_")}
    except Exception as exc:
        text = str(exc).strip() or type(exc).__name__
        if re.search(r"segmented voxel|too few dimensions|too small", text):
            text = (f"the ROI (label {label}) has {int(roi.sum())} voxel(s), too few ({text}); features need an ROI "
                    f"extending in at least 'minimumROIDimensions' (default 2) directions: check the mask")
        raise CaseFailure(f"{backend} cannot extract image {image.name!r} ({image.attrs.get('source') or 'in memory'}) "
                          f"with mask {mask.name!r}: {text}", mask_file) from None
    if not values:
        raise CaseFailure(f"{backend} computed no features for image {image.name!r} with mask {mask.name!r} (check "
                          f"the parameters' imageType and featureClass)", mask_file)
    return values


def compute_case(case: str, holder, pairs: list[tuple[str, str]], params: dict, key: str, backend: str,
                 out_path: str | None, sources: dict[str, dict[str, str]]) -> dict[str, Any]:
    """Extract one case; write its record (features and ``sources``, the files and SHA-256 the client read
    for its fingerprint) atomically to ``out_path``. Never raises for a bad case: failures are returned as
    an error row naming the case and the file."""
    _one_itk_thread_per_task()
    ds = holder.ds
    features: dict[str, float] = {}
    try:
        loaded = {}
        for img, msk in pairs:
            for v in (img, msk):
                if v not in loaded:
                    loaded[v] = _load(ds, v)
            values = _extract_pair(loaded[img], loaded[msk], params, key, backend)
            prefix = "shape" if img == msk else img  # a mask-only pair: shape features
            features.update({f"{prefix}{SEP}{msk}{SEP}{k}": v for k, v in values.items()})
    except Exception as exc:  # a failing case must not stop the others
        return {"case": case, "error": error_row(case, exc)}
    record = {"case": case, "features": features, "sources": sources}
    if out_path is not None:
        write_record(out_path, record)
    return record


def error_row(case: str, exc: BaseException) -> dict[str, str]:
    """The error-table row of a failed case: case, file at fault, a message that names the case."""
    file = getattr(exc, "file", "") or getattr(exc, "filename", "") or ""
    if not file:
        m = _PATH.search(str(exc))
        file = m.group(1) if m else ""
    message = str(exc) if isinstance(exc, RadlabError) else f"{type(exc).__name__}: {exc}"
    if f"case {case!r}" not in message:
        message = f"case {case!r}: {message}"
    return {"case": case, "file": str(file), "message": message}


class Holder:
    """Carries a case Dataset to a worker without dask unpacking it as a collection."""

    def __init__(self, ds: xr.Dataset):
        self.ds = ds
