"""A cohort's tables (clinical, features, files) as they enter: read with ids (and a files table's path and ROI
name columns) as text exactly as written, and their rows checked (blank, duplicate and unsafe ids are listed as
problems and their rows left out)."""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from radlab.catalog import CatalogError, TableSpec

__all__ = ["index_by_id", "listed_ids", "read_table", "unsafe_reason"]

_DELIMITERS = {";": "semicolons", "\t": "tabs", "|": "bars"}


def read_table(root: Path, spec: TableSpec, cohort: str, key: str, text: tuple[str, ...] = ()) -> pd.DataFrame:
    """A CSV or Parquet table whose id column (and ``text`` columns, where present) is text exactly as written
    ("001" stays "001", a blank cell is ""); a clear error for anything unreadable."""
    path = Path(os.path.normpath(root / spec.path))
    where = f"cohort {cohort!r}, key '{key}.path'"
    if not path.is_file():
        raise CatalogError(f"{where}: file {path} not found", file=path)
    if path.suffix == ".parquet":
        try:
            df = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types for a damaged file
            raise CatalogError(f"{where}: cannot read {path} as Parquet ({type(exc).__name__}: {exc})", file=path) from None
    else:
        df = _read_csv(path, (spec.id, *text), where)
    if spec.id not in df.columns:
        columns = [str(c) for c in df.columns]
        seps = [name for sep, name in _DELIMITERS.items() if len(columns) == 1 and sep in columns[0]]
        if seps:
            raise CatalogError(f"{where}: {path} has one column only ({columns[0][:60]!r}): its values look separated "
                               f"by {seps[0]}; save it with commas as separators", file=path)
        near = [c for c in columns if c.strip().lower() == spec.id.lower()]
        hint = f"; {near[0]!r} differs only by case or spaces: fix the header or set '{key}.id'" if near else ""
        raise CatalogError(f"{where}: column {spec.id!r} (key '{key}.id') is not in {path} "
                           f"(columns: {columns[:12]}){hint}", file=path)
    if df.empty:
        raise CatalogError(f"{where}: {path} has a header but no rows", file=path)
    for column in dict.fromkeys((spec.id, *text)):
        if column in df.columns:
            df[column] = df[column].map(_id_text)
    return df


def _read_csv(path: Path, text_columns: tuple[str, ...], where: str) -> pd.DataFrame:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark is fine
    except UnicodeDecodeError as exc:
        raise CatalogError(f"{where}: {path} is not UTF-8 text (byte {exc.start} is {data[exc.start:exc.start + 1]!r}); "
                           "save it as UTF-8 (e.g. 'CSV UTF-8' in a spreadsheet)", file=path) from None
    if not text.strip():
        raise CatalogError(f"{where}: {path} is empty; it needs a header line naming its columns and one row per case",
                           file=path)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            # ids (and paths, ROI names) as written: no number parsing ("001"), no NA parsing (a blank stays blank)
            df = pd.read_csv(io.StringIO(text), converters=dict.fromkeys(text_columns, str), index_col=False)
    except (pd.errors.ParserError, ValueError) as exc:
        raise CatalogError(f"{where}: cannot read {path} ({str(exc).strip()}); check the separators and quotes on "
                           "that line", file=path) from None
    if caught:
        raise CatalogError(f"{where}: {path} has rows with more values than its header has column names; name every "
                           "column in the header (or remove the stray separators)", file=path)
    return df


def _id_text(value) -> str:
    """A case id (path, ROI name) as text: numbers from a Parquet column without a trailing '.0', missing as ''."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def unsafe_reason(case: str) -> str | None:
    """Why a case id cannot name files safely, or None."""
    if case != case.strip():
        return "it has leading or trailing spaces"
    if "\0" in case:
        return "it holds a NUL character"
    if "/" in case or "\\" in case:
        return "it holds a path separator"
    if ".." in case:
        return "it holds '..'"
    return None


def index_by_id(df: pd.DataFrame, column: str, key: str, source: str, problems: list, excluded: set) -> pd.DataFrame:
    """The rows of a table with a usable, unique id, indexed by it; the others are listed in ``problems``."""
    ids = df[column]
    line = (lambda i: f"row {i + 1}") if source.endswith(".parquet") else (lambda i: f"line {i + 2}")
    blank = (ids.str.strip() == "").to_numpy()
    for i in np.flatnonzero(blank):
        problems.append(("", source, f"{line(i)} has no case id in column {column!r}: row skipped"))
    unsafe = ids.map(unsafe_reason)
    bad = blank | unsafe.notna().to_numpy()
    written = set(ids)
    for i in np.flatnonzero(unsafe.notna().to_numpy() & ~blank):
        case = ids.iloc[i]
        spaced = case != case.strip() and case.strip() in written
        twin = f"; it differs from case {case.strip()!r} only by spaces" if spaced else ""
        problems.append((case, source, f"unsafe case id {case!r} in the {key} table ({unsafe.iloc[i]}{twin}): "
                                       "case excluded; fix the id"))
        excluded.add(case)
    dup = ids.duplicated(keep=False).to_numpy() & ~bad
    for case, n in ids[dup].value_counts(sort=False).sort_index().items():
        problems.append((case, source, f"duplicate case id in {key} table ({n} rows): case excluded"))
        excluded.add(case)
    return df[~(bad | dup)].set_index(column).rename_axis("case")


def listed_ids(cases: list[str], problems: list, excluded: set) -> list[str]:
    """The ids of a catalog's ``cases`` list; unsafe and repeated ones are listed in ``problems``."""
    counts = pd.Series(cases, dtype=object).value_counts(sort=False)
    for case in dict.fromkeys(cases):
        why = "it is blank" if not case.strip() else unsafe_reason(case)
        if why is not None:
            problems.append((case, "", f"unsafe case id {case!r} in the catalog's 'cases' list ({why}): case excluded"))
            excluded.add(case)
    for case, n in counts[counts > 1].items():
        problems.append((case, "", f"duplicate case id in the catalog's 'cases' list ({n} times): case excluded"))
        excluded.add(case)
    return list(dict.fromkeys(cases))
