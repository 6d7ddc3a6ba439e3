"""``extract``: features of a whole cohort on dask.distributed, cached per case and parameter hash."""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from radlab.errors import InputError
from radlab.features._case import (SEP, CaseFailure, Holder, case_pairs, compute_case, error_row, fingerprint,
                                   record_name, write_record)
from radlab.features._params import load_params, param_hash

__all__ = ["extract", "errors", "default_cache", "local_cluster"]

log = logging.getLogger(__name__)
BACKENDS = ("pyradiomics", "mirp")
_RECORD_KEYS = ("case", "features", "sources")


def default_cache() -> Path:
    """``$RADLAB_CACHE/features`` (default ``~/.cache/radlab/features``)."""
    return Path(os.environ.get("RADLAB_CACHE", Path.home() / ".cache" / "radlab")) / "features"


def _version(backend: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(backend)
    except PackageNotFoundError:
        raise InputError(f"The 'backend' parameter of extract is {backend!r}, but {backend} is not installed "
                         f"(pip install radlab[{backend}]).") from None


def _cases(cohort, ids) -> Iterable[tuple[str, Any]]:
    """(case id, Dataset or the exception opening it raised)."""
    ids = [ids] if isinstance(ids, str) else ids  # one case id, not its characters
    if hasattr(cohort, "case") and hasattr(cohort, "ids"):
        for case in (cohort.ids if ids is None else ids):
            try:
                yield str(case), cohort.case(case)
            except Exception as exc:
                yield str(case), exc
    else:
        wanted = None if ids is None else [str(i) for i in ids]
        seen = set()
        for case, ds in cohort:
            if wanted is None or str(case) in wanted:
                seen.add(str(case))
                yield str(case), ds
        for case in (wanted or []):
            if case not in seen:
                yield case, CaseFailure(f"case {case!r} (in 'ids') is not among the cases given", case=case)


def _record_problem(record: Any, case: str) -> str | None:
    """What is wrong with a cache record read back for ``case`` (None if it is whole)."""
    if not isinstance(record, dict):
        return f"not a record (a JSON {type(record).__name__})"
    missing = [k for k in _RECORD_KEYS if k not in record]
    if missing:
        return f"missing {', '.join(missing)}"
    if record["case"] != case:
        return f"the record of another case ({record['case']!r})"
    if not isinstance(record["features"], dict) or not isinstance(record["sources"], dict):
        return "not a mapping of features and sources"
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in record["features"].values()):
        return "holding a feature value that is not a number"
    return None


def _read_record(path: Path, case: str) -> dict | None:
    """The cache record of ``case`` at ``path``; None if there is none, or if it is corrupt or partial (bad
    JSON, missing keys, another case's, truncated): that is logged, naming the file and the case, and the
    record is deleted so the case is recomputed."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:  # ValueError: bad JSON or UTF-8
        problem = f"unreadable ({exc})"
    else:
        problem = _record_problem(record, case)
        if problem is None:
            return record
    log.warning("features: cache record %s of case %r is %s; deleting it and recomputing the case", path, case, problem)
    with contextlib.suppress(OSError):  # gone already, or not deletable: the new record then is not cached
        path.unlink()
    return None


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
    """Each case's result as it finishes. Every finished case's record is in the cache when its result is
    yielded, so an interrupt (Ctrl-C) loses only the cases in flight; on a cluster it also cancels the
    remaining tasks and closes the cluster (or client) this call started."""
    from tqdm.auto import tqdm

    bar = tqdm(total=len(todo), desc="features", disable=not progress)
    if scheduler == "sync":
        try:
            for case, ds, pairs, path, sources in todo:
                yield compute_case(case, Holder(ds), pairs, params, key, backend, path, sources)
                bar.update()
        finally:
            bar.close()
        return
    from distributed import as_completed

    client, closers = _client(scheduler, n_workers)
    futures = []
    try:
        cases, holders, pairs, paths, sources = zip(*[(c, Holder(ds), p, path, src) for c, ds, p, path, src in todo])
        keys = [f"radlab-features-{key}-{i}-{case}" for i, case in enumerate(cases)]
        futures = client.map(_on_worker, cases, holders, pairs, paths, sources, params=params, param_key=key,
                             backend=backend, key=keys, pure=False)  # one graph update for all cases
        where = {f.key: (case, path) for f, case, path in zip(futures, cases, paths)}
        for future in as_completed(futures):
            yield _outcome(future, *where[future.key])
            future.release()
            bar.update()
    finally:
        bar.close()
        pending = [f for f in futures if not f.done()]
        if pending and not closers:  # a cluster this call did not start keeps running: leave it no work
            client.cancel(pending)
        for c in closers:
            c.close()


def _on_worker(case, holder, pairs, path, sources, *, params, param_key, backend):
    return compute_case(case, holder, pairs, params, param_key, backend, path, sources)


def _outcome(future, case: str, path: str | None) -> dict:
    """A finished task's result: the record the worker wrote to the cache when this machine sees it (no
    transfer from the worker), else the task's value (a failed case's error row travels that way). A record
    that is corrupt when read back is replaced by the task's value."""
    if future.status == "error":  # compute_case never raises: the task itself failed (e.g. its worker died)
        return {"case": case, "error": error_row(case, future.exception())}
    if path is not None and Path(path).exists():
        record = _read_record(Path(path), case)
        if record is not None:
            return record
        record = future.result()
        if "error" not in record:
            write_record(path, record)
        return record
    return future.result()


def _cache_folder(cache, key: str, meta: dict) -> Path | None:
    """``<cache>/<parameter hash>`` (created, with its params.json), or None without a cache."""
    if cache is False:
        return None
    folder = Path(cache if cache not in (None, True) else default_cache()) / key
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "params.json").write_text(json.dumps(meta, indent=1, default=str))
    except OSError as exc:
        raise InputError(f"The feature cache folder {folder} cannot be written ({exc.strerror or exc}); give another "
                         f"'cache' folder (radlab extract --cache) or disable the cache (cache=False, --no-cache).",
                         file=str(folder)) from None
    return folder


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
        A preset (``"ct"``, ``"mr"``, ``"demo"``), a pyradiomics YAML file or its dict; validated once before
        any case runs (see :func:`load_params`).
    scheduler : None, str, distributed.Client or "sync"
        A dask.distributed scheduler address or client; ``None`` uses ``$RADLAB_SCHEDULER`` or starts a
        :func:`local_cluster` (``n_workers`` processes, one thread each); ``"sync"`` runs in this process.
    cache : path, None or False
        Folder of per-case records (default :func:`default_cache`); ``False`` disables caching. A case
        whose record exists for these parameters and the same source bytes (SHA-256) is not recomputed; a
        corrupt record is reported, deleted and recomputed.
    backend : {"pyradiomics", "mirp"}
    ids : case ids to extract (default: all).
    pairs : list of (image, mask) variable names (default: each mask with its image and the other images
        on its grid and timepoint).

    Returns
    -------
    DataFrame indexed by case, columns ``<image>__<mask>__<feature>`` (``shape__<mask>__<feature>`` for a mask
    without an image, as in a mask-only cohort: shape features only, said in ``provenance["shape_only"]``).
    ``df.attrs["provenance"]`` holds
    extractor, version, parameter hash, parameters, per-case sources (file and SHA-256), what was computed
    or read from the cache and ``nan_features`` (per case, the features the backend returned as NaN or
    infinite: they stay NaN, never 0); ``df.attrs["errors"]`` the failing cases (see :func:`errors`).

    Bad parameters or options raise :class:`radlab.errors.InputError` before any case runs. A failing case
    never raises: it goes to the error table and the others complete, so a table with no rows means that
    nothing was produced (every case failed, or none was selected). An interrupt (Ctrl-C) propagates after
    every finished case is in the cache; the rerun computes only the rest.

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
        raise InputError(f"The 'backend' parameter of extract must be one of {BACKENDS}. Got {backend!r} instead.")
    spec = load_params(params)
    version = _version(backend)
    key = param_hash(spec, backend=backend, version=version)
    folder = _cache_folder(cache, key, {"backend": backend, "version": version, "params": spec})
    order, rows, sources, errs, todo, cached, shape_cases = [], {}, {}, [], [], [], []
    for case, ds in _cases(cohort, ids):
        if case in order:
            errs.append(error_row(case, CaseFailure(f"case id {case!r} is given more than once; only its first "
                                                    f"occurrence is extracted", case=case)))
            continue
        order.append(case)
        if isinstance(ds, BaseException):
            errs.append(error_row(case, ds))
            continue
        try:
            if not isinstance(ds, xr.Dataset):
                raise CaseFailure(f"case {case!r} is a {type(ds).__name__}, not an xarray.Dataset of images and masks")
            case_p = case_pairs(ds, pairs)
            if any(img == msk for img, msk in case_p):
                shape_cases.append(case)
            fp = fingerprint(ds, sorted({v for p in case_p for v in p}))
        except CaseFailure as exc:
            errs.append(error_row(case, exc))
            continue
        path = None if folder is None else folder / record_name(case, fp)
        record = None if path is None else _read_record(path, case)
        if record is not None:
            rows[case], sources[case] = record["features"], record["sources"]
            cached.append(case)
        else:
            files = {v: {"file": e["file"], "sha256": e["sha256"]} for v, e in fp.items() if "sha256" in e}
            todo.append((case, ds, case_p, None if path is None else str(path), files))
    computed = []
    try:
        with contextlib.closing(_run(todo, spec, key, backend, scheduler, n_workers, progress)) as results:
            for result in results if todo else ():
                if "error" in result:
                    errs.append(result["error"])
                else:
                    rows[result["case"]], sources[result["case"]] = result["features"], result["sources"]
                    computed.append(result["case"])
    except KeyboardInterrupt:
        log.warning("features: interrupted after %d of %d cases; they are in the cache%s, a rerun computes the rest",
                    len(computed), len(todo), "" if folder is None else f" ({folder})")
        raise
    position = {c: i for i, c in enumerate(order)}
    errs.sort(key=lambda e: position.get(e["case"], len(order)))
    for e in errs:
        log.warning("features: case %s failed: %s (%s)", e["case"], e["message"], e["file"])
    index = [c for c in order if c in rows]
    nan_features = {c: sorted(k for k, v in rows[c].items() if not math.isfinite(v)) for c in index}
    nan_features = {c: names for c, names in nan_features.items() if names}
    if nan_features:
        log.warning("features: %d case(s) have NaN or infinite feature values (kept as NaN; provenance['nan_features'] "
                    "lists them): %s", len(nan_features), ", ".join(f"{c}: {len(v)}" for c, v in nan_features.items()))
    df = pd.DataFrame.from_dict({c: rows[c] for c in index}, orient="index")
    df = df.reindex(index=pd.Index(index, name="case"))
    shape_only = None
    if shape_cases:
        shape_only = (f"{len(shape_cases)} case(s) have masks without an image: their columns "
                      f"shape{SEP}<mask>{SEP}* hold shape features only (no intensity or texture features)")
        log.warning("features: %s", shape_only)
    df.attrs["provenance"] = {
        "extractor": backend, "version": version, "param_hash": key, "params": spec,
        "cache": None if folder is None else str(folder), "sources": sources,
        "computed": computed, "cached": cached, "nan_features": nan_features, "shape_only": shape_only,
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
