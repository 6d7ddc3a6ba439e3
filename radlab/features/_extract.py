"""``extract``: features of a whole cohort on dask.distributed, cached per case and parameter hash."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from radlab.features._case import CaseFailure, Holder, case_pairs, compute_case, fingerprint, record_name
from radlab.features._params import load_params, param_hash

__all__ = ["extract", "errors", "default_cache", "local_cluster"]

log = logging.getLogger(__name__)
BACKENDS = ("pyradiomics", "mirp")
_PATH = re.compile(r"(/[^\s:;()'\"]+)")


def default_cache() -> Path:
    """``$RADLAB_CACHE/features`` (default ``~/.cache/radlab/features``)."""
    return Path(os.environ.get("RADLAB_CACHE", Path.home() / ".cache" / "radlab")) / "features"


def _version(backend: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(backend)
    except PackageNotFoundError:
        raise ImportError(f"The 'backend' parameter of extract is {backend!r}, but {backend} is not installed "
                          f"(pip install radlab[{backend}]).") from None


def _cases(cohort, ids) -> Iterable[tuple[str, Any]]:
    """(case id, Dataset or the exception opening it raised)."""
    if hasattr(cohort, "case") and hasattr(cohort, "ids"):
        for case in (cohort.ids if ids is None else ids):
            try:
                yield str(case), cohort.case(case)
            except Exception as exc:
                yield str(case), exc
    else:
        wanted = None if ids is None else {str(i) for i in ids}
        for case, ds in cohort:
            if wanted is None or str(case) in wanted:
                yield str(case), ds


def _error_row(case: str, exc: BaseException) -> dict[str, str]:
    file = getattr(exc, "file", "") or getattr(exc, "filename", "") or ""
    if not file:
        m = _PATH.search(str(exc))
        file = m.group(1) if m else ""
    return {"case": case, "file": str(file), "message": str(exc)}


def local_cluster(n_workers: int | None = None, **kwargs):
    """A ``distributed.LocalCluster`` set up for feature extraction: one process per worker, one thread each.

    On Linux the worker processes are forked from this one after pyradiomics is imported, so they start in
    about 0.1 s with pyradiomics loaded (spawned workers take over a second each to start and import it);
    elsewhere they are spawned. Each extraction task runs SimpleITK with one thread, so workers do not
    oversubscribe the cores. Extra keyword arguments go to ``LocalCluster``; close it when done (it is a
    context manager).

    Examples
    --------
    >>> from distributed import Client
    >>> with local_cluster(1) as cluster, Client(cluster) as client:  # doctest: +SKIP
    ...     features = extract(cohort, "demo", scheduler=client)
    """
    import dask
    from distributed import LocalCluster

    method = "fork" if sys.platform.startswith("linux") else "spawn"
    if method == "fork":  # forked workers inherit what is imported here
        from radlab.features._case import preload_backend

        preload_backend()
    options = {"n_workers": n_workers or max(1, min(4, os.cpu_count() or 1)), "threads_per_worker": 1,
               "processes": True, "dashboard_address": None, **kwargs}
    with dask.config.set({"distributed.worker.multiprocessing-method": method}):
        return LocalCluster(**options)


def _client(scheduler, n_workers):
    """(client, things to close) for a Client, an address, $RADLAB_SCHEDULER or a new :func:`local_cluster`."""
    from distributed import Client

    if isinstance(scheduler, Client):
        return scheduler, []
    address = scheduler or os.environ.get("RADLAB_SCHEDULER")
    if address:
        client = Client(address)
        return client, [client]
    cluster = local_cluster(n_workers)
    client = Client(cluster)
    return client, [client, cluster]


def _run(todo, params, key, backend, scheduler, n_workers, progress) -> Iterable[dict]:
    from tqdm.auto import tqdm

    bar = tqdm(total=len(todo), desc="features", disable=not progress)
    if scheduler == "sync":
        for case, ds, pairs, path in todo:
            yield compute_case(case, Holder(ds), pairs, params, key, backend, path)
            bar.update()
        bar.close()
        return
    from distributed import as_completed

    client, closers = _client(scheduler, n_workers)
    try:
        cases, holders, pairs, paths = zip(*[(c, Holder(ds), p, path) for c, ds, p, path in todo])
        keys = [f"radlab-features-{key}-{i}-{case}" for i, case in enumerate(cases)]
        futures = client.map(_on_worker, cases, holders, pairs, paths, params=params, param_key=key, backend=backend,
                             key=keys, pure=False)  # one graph update for all cases
        where = {f.key: (case, path) for f, case, path in zip(futures, cases, paths)}
        for future in as_completed(futures):
            yield _outcome(future, *where[future.key])
            future.release()
            bar.update()
    finally:
        bar.close()
        for c in closers:
            c.close()


def _on_worker(case, holder, pairs, path, *, params, param_key, backend):
    return compute_case(case, holder, pairs, params, param_key, backend, path)


def _outcome(future, case: str, path: str | None) -> dict:
    """A finished task's result: the record the worker wrote to the cache when this machine sees it (no
    transfer from the worker), else the task's value (a failed case's error row travels that way)."""
    if future.status == "error":  # compute_case never raises: the task itself failed (e.g. its worker died)
        return {"case": case, "error": _error_row(case, future.exception())}
    if path is not None and Path(path).exists():
        return json.loads(Path(path).read_text())
    return future.result()


def extract(cohort, params: str | Path | dict | None = "demo", *, scheduler=None, cache: str | Path | bool | None = None,
            backend: str = "pyradiomics", ids=None, pairs=None, n_workers: int | None = None,
            progress: bool = True) -> pd.DataFrame:
    """Radiomic features of every case (rows) and image/mask pair (column prefixes).

    Parameters
    ----------
    cohort : Cohort or iterable of (case id, xarray.Dataset)
        Cases as :meth:`radlab.cohort.Cohort.case` gives them: image variables (attr ``role="image"``)
        and masks (``role="mask"``, attr ``image``) with geometry attrs.
    params : str, path or dict
        A preset (``"ct"``, ``"mr"``, ``"demo"``), a pyradiomics YAML file or its dict.
    scheduler : None, str, distributed.Client or "sync"
        A dask.distributed scheduler address or client; ``None`` uses ``$RADLAB_SCHEDULER`` or starts a
        :func:`local_cluster` (``n_workers`` processes, one thread each); ``"sync"`` runs in this process.
    cache : path, None or False
        Folder of per-case records (default :func:`default_cache`); ``False`` disables caching. A case
        whose record exists for these parameters and unchanged source files is not recomputed.
    backend : {"pyradiomics", "mirp"}
    ids : case ids to extract (default: all).
    pairs : list of (image, mask) variable names (default: each mask with its image and the other images
        on its grid and timepoint).

    Returns
    -------
    DataFrame indexed by case, columns ``<image>__<mask>__<feature>``. ``df.attrs["provenance"]`` holds
    extractor, version, parameter hash, parameters, per-case source hashes and what was computed or read
    from the cache; ``df.attrs["errors"]`` the failing cases (see :func:`errors`).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> geo = {"spacing": (1.0, 1.0, 1.0), "origin": (0.0, 0.0, 0.0), "direction": (1, 0, 0, 0, 1, 0, 0, 0, 1)}
    >>> img = np.random.default_rng(0).normal(100, 10, (8, 8, 8)).astype(np.float32)
    >>> msk = np.zeros((8, 8, 8), np.uint8); msk[2:6, 2:6, 2:6] = 1
    >>> ds = xr.Dataset({"CT": (("z", "y", "x"), img, {"role": "image", **geo}),
    ...                  "GTV": (("z", "y", "x"), msk, {"role": "mask", "image": "CT", **geo})})
    >>> df = extract([("p1", ds)], "demo", scheduler="sync", cache=False, progress=False)
    >>> float(df.loc["p1", "CT__GTV__original_shape_VoxelVolume"])
    64.0
    """
    if backend not in BACKENDS:
        raise ValueError(f"The 'backend' parameter of extract must be one of {BACKENDS}. Got {backend!r} instead.")
    spec = load_params(params)
    version = _version(backend)
    key = param_hash(spec, backend=backend, version=version)
    folder = None if cache is False else Path(cache if cache not in (None, True) else default_cache()) / key
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "params.json").write_text(json.dumps({"backend": backend, "version": version, "params": spec},
                                                       indent=1, default=str))
    order, rows, sources, errs, todo, cached = [], {}, {}, [], [], []
    for case, ds in _cases(cohort, ids):
        order.append(case)
        if isinstance(ds, BaseException):
            errs.append(_error_row(case, ds))
            continue
        try:
            case_p = case_pairs(ds, pairs)
            fp = fingerprint(ds, sorted({v for p in case_p for v in p}))
        except CaseFailure as exc:
            errs.append(_error_row(case, exc))
            continue
        path = None if folder is None else folder / record_name(case, fp)
        if path is not None and path.exists():
            record = json.loads(path.read_text())
            rows[case], sources[case] = record["features"], record["sources"]
            cached.append(case)
        else:
            todo.append((case, ds, case_p, None if path is None else str(path)))
    computed = []
    for result in _run(todo, spec, key, backend, scheduler, n_workers, progress) if todo else ():
        if "error" in result:
            errs.append(result["error"])
        else:
            rows[result["case"]], sources[result["case"]] = result["features"], result["sources"]
            computed.append(result["case"])
    position = {c: i for i, c in enumerate(order)}
    errs.sort(key=lambda e: position.get(e["case"], len(order)))
    for e in errs:
        log.warning("features: case %s failed: %s (%s)", e["case"], e["message"], e["file"])
    index = [c for c in order if c in rows]
    df = pd.DataFrame.from_dict({c: rows[c] for c in index}, orient="index")
    df = df.reindex(index=pd.Index(index, name="case"))
    df.attrs["provenance"] = {
        "extractor": backend, "version": version, "param_hash": key, "params": spec,
        "cache": None if folder is None else str(folder), "sources": sources,
        "computed": computed, "cached": cached,
    }
    df.attrs["errors"] = errs
    return df


def errors(features: pd.DataFrame) -> pd.DataFrame:
    """The error table of an :func:`extract` result: case, file, message.

    Examples
    --------
    >>> errors(pd.DataFrame()).columns.tolist()
    ['case', 'file', 'message']
    """
    return pd.DataFrame(features.attrs.get("errors", []), columns=["case", "file", "message"])
