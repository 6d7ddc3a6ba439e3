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

from radlab.io._geometry import same_geometry, to_sitk

__all__ = ["CaseFailure", "case_pairs", "compute_case", "fingerprint", "record_name"]

SEP = "__"  # image__mask__feature
_EXTRACTORS: dict[str, Any] = {}


class CaseFailure(Exception):
    """A case that cannot be extracted; ``file`` names the file at fault."""

    def __init__(self, message: str, file: str = ""):
        super().__init__(message)
        self.file = file


def case_pairs(ds: xr.Dataset, pairs=None) -> list[tuple[str, str]]:
    """(image, mask) variable pairs of a case.

    By default each mask goes with its own image (attr ``image``) and with every other image on the same
    grid and timepoint, so several sequences share one tumour mask.
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
        if own not in ds.data_vars:
            raise CaseFailure(f"mask {m!r} names image {own!r}, which the case does not have", ds[m].attrs.get("source", ""))
        tp = ds[own].attrs.get("timepoint")
        out.append((own, m))
        out += [(i, m) for i in images if i != own and ds[i].dims == ds[own].dims and ds[i].attrs.get("timepoint") == tp]
    if not out:
        raise CaseFailure(f"the case has no image/mask pair (variables and roles: {roles})")
    return out


def _file_stat(path: str) -> str | None:
    p = Path(path)
    if p.is_file():
        st = p.stat()
        return f"{st.st_size}:{st.st_mtime_ns}"
    if p.is_dir():
        entries = sorted((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in p.iterdir() if f.is_file())
        return hashlib.sha256(repr(entries).encode()).hexdigest()[:16]
    return None


def fingerprint(ds: xr.Dataset, variables) -> dict[str, str]:
    """Cheap identity of each variable's data: source path + size + mtime, or a hash of in-memory voxels."""
    import dask.base

    out = {}
    for v in variables:
        src = ds[v].attrs.get("source")
        stat = _file_stat(src) if src else None
        out[v] = f"{src}:{stat}" if stat else dask.base.tokenize(ds[v].data)
    return out


def record_name(case: str, fp: dict[str, str]) -> str:
    """Cache file name for a case: readable id + hash of its sources' fingerprint."""
    key = hashlib.sha256(json.dumps([case, sorted(fp.items())]).encode()).hexdigest()[:12]
    return f"{re.sub(r'[^A-Za-z0-9._-]', '_', case)[:80]}-{key}.json"


def _sha256(path: str) -> str:
    p, h = Path(path), hashlib.sha256()
    for f in ([p] if p.is_file() else sorted(x for x in p.iterdir() if x.is_file())):
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def _load(ds: xr.Dataset, var: str) -> xr.DataArray:
    import dask

    da = ds[var]
    try:
        with dask.config.set(scheduler="synchronous"):
            values = np.asarray(da.values)
    except Exception as exc:
        raise CaseFailure(f"cannot read {var!r}: {exc}", da.attrs.get("source", "")) from None
    out = xr.DataArray(values, dims=("z", "y", "x"), attrs=da.attrs, name=var)
    return out


def _pyradiomics(params: dict, key: str):
    if key not in _EXTRACTORS:
        preload_backend()
        import radiomics
        from radiomics.featureextractor import RadiomicsFeatureExtractor

        radiomics.setVerbosity(logging.ERROR)
        logging.getLogger("radiomics").setLevel(logging.ERROR)
        with warnings.catch_warnings():  # pyradiomics validates parameters with pykwalify, which uses load_module
            warnings.filterwarnings("ignore", "the load_module", DeprecationWarning)
            _EXTRACTORS[key] = RadiomicsFeatureExtractor(params)
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


def _extract_pair(image: xr.DataArray, mask: xr.DataArray, params: dict, key: str, backend: str) -> dict[str, float]:
    label = int(params.get("setting", {}).get("label", 1))
    if not np.any(mask.values == label):
        raise CaseFailure(f"mask {mask.name!r} is empty (no voxel with label {label})", mask.attrs.get("source", ""))
    diffs = same_geometry(image.attrs, mask.attrs, shape_a=image.shape, shape_b=mask.shape)
    if diffs:
        raise CaseFailure(f"mask {mask.name!r} does not lie on image {image.name!r}: " + "; ".join(diffs),
                          mask.attrs.get("source", ""))
    img = to_sitk(image.astype(np.float32) if image.dtype == np.float16 else image)
    msk = to_sitk(mask.copy(data=np.rint(mask.values).astype(np.uint32)) if mask.dtype.kind == "f" else mask)
    if backend == "mirp":
        from radlab.features._mirp import mirp_features

        return mirp_features(img, msk, params, label=label)
    result = _pyradiomics(params, key).execute(img, msk, label=label)
    return {k: float(v) for k, v in result.items() if not k.startswith("diagnostics_")}


def compute_case(case: str, holder, pairs: list[tuple[str, str]], params: dict, key: str, backend: str,
                 out_path: str | None) -> dict[str, Any]:
    """Extract one case; write its record atomically to ``out_path``. Never raises: failures are returned."""
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
            features.update({f"{img}{SEP}{msk}{SEP}{k}": v for k, v in values.items()})
        sources = {v: {"file": ds[v].attrs["source"], "sha256": _sha256(ds[v].attrs["source"])}
                   for v in loaded if ds[v].attrs.get("source") and Path(ds[v].attrs["source"]).exists()}
    except Exception as exc:  # a failing case must not stop the others
        return {"case": case, "error": {"case": case, "file": getattr(exc, "file", ""), "message": str(exc)}}
    record = {"case": case, "features": features, "sources": sources}
    if out_path is not None:
        tmp = f"{out_path}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp"
        Path(tmp).write_text(json.dumps(record))
        os.replace(tmp, out_path)  # atomic: a killed run leaves either nothing or a whole record
    return record


class Holder:
    """Carries a case Dataset to a worker without dask unpacking it as a collection."""

    def __init__(self, ds: xr.Dataset):
        self.ds = ds
