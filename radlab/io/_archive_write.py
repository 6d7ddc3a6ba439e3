"""Write what :func:`radlab.io.index_archive` found: the files table and the cohort's catalog entry.

The entry's ``root`` is the folder holding the archive, the files table and the clinical table, written
relative to the catalog file; every path in the files table is relative to that root. A new cohort is appended
to the catalog file as text (its comments stay); replacing an existing entry rewrites the file from its parsed
content (comments are lost). The catalog is validated after writing; an invalid result is undone.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd
import yaml

from radlab.errors import InputError

__all__ = ["ROI_SUFFIX", "mask_entry", "write_cohort"]

ROI_SUFFIX = "_roi"  # files-table column of a mask whose ROI is named differently per patient


def mask_entry(var: str, fmt: str, roi: str | None, image: str) -> dict[str, Any]:
    """The catalog entry of an indexed mask: one ROI name, or (``roi`` None) the files table's ``<var>_roi`` column."""
    which = {"roi": roi} if roi is not None else {"roi_column": var + ROI_SUFFIX}
    return {"column": var, "format": fmt, **which, "image": image}


def _rel(path: Path, start: Path) -> str:
    return PurePosixPath(Path(os.path.relpath(path, start))).as_posix()


def _prefixed(table: pd.DataFrame, prefix: str) -> pd.DataFrame:
    out = table.copy()
    for col in out.columns:
        if not col.endswith(ROI_SUFFIX):  # path columns, not the per-case ROI names
            out[col] = [f"{prefix}/{p}" if prefix != "." else p for p in out[col]]
    return out.reset_index()


def _same_table(path: Path, table: pd.DataFrame, prefix: str) -> bool:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False).equals(_prefixed(table, prefix).astype(str))
    except (OSError, ValueError):
        return False


def write_cohort(catalog: Path, files: Path, *, name: str, archive: Path, table: pd.DataFrame, image_vars: list[str],
                 mask_vars: list[str], mask_formats: dict[str, str], roi_names: dict[str, str | None], clinical: Path | None, id_column: str | None,
                 description: str, replace: bool) -> dict[str, Any]:
    """Write ``table`` to ``files`` and the cohort entry into ``catalog``; returns the entry."""
    from radlab.catalog import Catalog, CatalogError

    folders = [archive.resolve(), files.resolve().parent] + ([clinical.resolve().parent] if clinical else [])
    root = Path(os.path.commonpath(folders))
    prefix = _rel(archive.resolve(), root)
    entry: dict[str, Any] = {
        "description": description or f"DICOM archive {archive} indexed by radlab index",
        "root": _rel(root, catalog.resolve().parent),
        "files": {"path": _rel(files.resolve(), root), "id": "case_id"},
        "images": {v: {"column": v, "format": "dicom"} for v in image_vars},
        "masks": {v: mask_entry(v, mask_formats[v], roi_names[v], image_vars[0]) for v in mask_vars},
    }
    if clinical is not None:
        entry["clinical"] = {"path": _rel(clinical.resolve(), root), "id": id_column or "case_id"}
    if not entry["masks"]:
        del entry["masks"]
    old = catalog.read_text() if catalog.exists() else None
    parsed = yaml.safe_load(old) if old else None
    cohorts = parsed.get("cohorts") if isinstance(parsed, dict) else None
    if old and not isinstance(cohorts, dict):
        raise InputError(f"--catalog {catalog}: not a catalog (no 'cohorts' mapping); give a new file or a catalog",
                         file=catalog)
    if cohorts and name in cohorts and not replace:
        raise InputError(f"--catalog {catalog} already has a cohort {name!r}; choose another --name (or replace it)",
                         file=catalog)
    if cohorts and cohorts.get(name) == entry and files.exists() and _same_table(files, table, prefix):
        return entry  # a rerun on an unchanged archive: nothing to write
    block = yaml.safe_dump({name: entry}, sort_keys=False, width=120)
    block = "".join(f"  {line}\n" for line in block.splitlines())
    if not old:
        text = "version: 1\ncohorts:\n" + block
    else:
        text = old + ("" if old.endswith("\n") else "\n") + block
        again = yaml.safe_load(text)
        if cohorts and name in cohorts or not isinstance(again, dict) or again.get("cohorts", {}).get(name) != entry:
            parsed["cohorts"][name] = entry  # replace, or a layout where appending does not land under 'cohorts'
            text = yaml.safe_dump(parsed, sort_keys=False, width=120)
    out = _prefixed(table, prefix)
    files.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(files, index=False)
    catalog.parent.mkdir(parents=True, exist_ok=True)
    catalog.write_text(text)
    try:
        Catalog(catalog)
    except CatalogError:
        if old is None:
            catalog.unlink()
        else:
            catalog.write_text(old)
        raise
    return entry
