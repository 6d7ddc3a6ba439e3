"""Outcome values (binary label, survival event, survival time): what is valid, and what is wrong with the rest.

Labels and events are 0/1 (numbers, booleans or the strings ``"0"``/``"1"``); times are finite numbers >= 0.
Missing values (NaN/None) are allowed in a clinical table; the statistics need complete cases, so
:func:`check_outcome` refuses them. Only numpy and pandas are imported (this runs whenever a cohort opens).

>>> import pandas as pd
>>> outcome_problems(pd.Series([0, 1, 2, None]), "event", column="os_event").tolist()
[None, None, 'os_event is 2 (an event must be 0 or 1)', None]
>>> column_problem(pd.Series([1, 2, 2, 1]), "event", column="os_event")
"column 'os_event' uses 1/2 coding (R survival: 1 = censored, 2 = event); recode to 0/1"
>>> check_outcome([0, 1, 1], "event", name="event_observed")
array([False,  True,  True])
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from radlab.errors import InputError

__all__ = ["KINDS", "check_outcome", "column_problem", "outcome_problems"]

KINDS = ("label", "event", "time")
_RULE = {"label": "a label must be 0 or 1", "event": "an event must be 0 or 1", "time": "a time must be a number >= 0"}
_BINARY_TEXT = {"0": 0.0, "1": 1.0, "0.0": 0.0, "1.0": 1.0, "true": 1.0, "false": 0.0}


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got {kind!r}")
    return kind


def _numeric(values: pd.Series, kind: str) -> pd.Series:
    """Values as floats (NaN where missing or not a number); binary text ("0", "1", "true") counts as a number."""
    if values.dtype.kind in "biuf":
        return values.astype(float)

    def one(v) -> float:
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT:
            return np.nan
        if isinstance(v, (bool, np.bool_)):
            return float(v)
        if isinstance(v, str):
            text = v.strip().lower()
            if kind != "time" and text in _BINARY_TEXT:
                return _BINARY_TEXT[text]
            try:
                return float(text)
            except ValueError:
                return np.nan
        try:
            return float(v)
        except (TypeError, ValueError):
            return np.nan

    return pd.Series([one(v) for v in values], index=values.index, dtype=float)


def _missing(values: pd.Series) -> pd.Series:
    """True where a value is missing (NaN, None, NA, or blank text)."""
    if values.dtype.kind in "biuf":
        return values.isna()
    blank = values.map(lambda v: isinstance(v, str) and not v.strip())
    return values.isna() | blank.astype(bool)


def outcome_problems(values: pd.Series, kind: str, *, column: str) -> pd.Series:
    """Per row of ``values``, the text of what is wrong with it as a ``kind`` outcome, or None.

    Missing values are no problem here (they are reported as missing where complete cases are needed).

    >>> outcome_problems(pd.Series([0, True, "1", 0.5, "yes"]), "label", column="pcr").tolist()
    [None, None, None, 'pcr is 0.5 (a label must be 0 or 1)', "pcr is 'yes' (a label must be 0 or 1)"]
    >>> outcome_problems(pd.Series([3.5, -1, float("inf"), "12 months"]), "time", column="os").tolist()
    [None, 'os is -1 (a time must be a number >= 0)', 'os is inf (a time must be a number >= 0)', "os is '12 months' (a time must be a number >= 0)"]
    """
    kind = _kind(kind)
    values = pd.Series(values)
    num = _numeric(values, kind)
    missing = _missing(values)
    if kind == "time":
        bad = ~missing & ~(np.isfinite(num) & (num >= 0))
    else:
        bad = ~missing & ~num.isin([0.0, 1.0])
    out = pd.Series([None] * len(values), index=values.index, dtype=object)
    for i in np.flatnonzero(bad.to_numpy()):
        out.iloc[i] = f"{column} is {_show(values.iloc[i])} ({_RULE[kind]})"
    return out


def _show(v) -> str:
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


def column_problem(values: pd.Series, kind: str, *, column: str) -> str | None:
    """A diagnosis of the whole column as a ``kind`` outcome (a wrong coding, not one bad row), or None if fine.

    >>> column_problem(pd.Series([0.2, 0.7, 0.9]), "event", column="os_event")
    "column 'os_event' holds fractional values (e.g. 0.2); an event must be 0 or 1 (a probability is not an event)"
    >>> column_problem(pd.Series([-3.0, -1.0]), "time", column="os_months") is not None
    True
    >>> column_problem(pd.Series([0, 1, None]), "label", column="pcr") is None
    True
    """
    kind = _kind(kind)
    values = pd.Series(values)
    num = _numeric(values, kind)[~_missing(values)]
    if num.empty:
        return None
    if num.isna().all():
        return f"column '{column}' holds no numbers (e.g. {_show(values[~_missing(values)].iloc[0])}); {_RULE[kind]}"
    num = num.dropna()
    if kind == "time":
        if (num < 0).all():
            return f"column '{column}' holds only negative times; times must be >= 0 (time since baseline)"
        return None
    found = set(num.unique().tolist())
    if kind == "event" and found <= {1.0, 2.0} and 2.0 in found:
        return f"column '{column}' uses 1/2 coding (R survival: 1 = censored, 2 = event); recode to 0/1"
    if found == {1.0, 2.0}:
        return f"column '{column}' uses 1/2 coding; recode to 0/1 (1 = the positive class)"
    fractional = num[(num > 0) & (num < 1)]
    if not fractional.empty:
        what = "an event" if kind == "event" else "a label"
        hint = "a probability is not an event" if kind == "event" else "a probability is not a label"
        return f"column '{column}' holds fractional values (e.g. {fractional.iloc[0]:g}); {what} must be 0 or 1 ({hint})"
    return None


def check_outcome(values: Iterable, kind: str, *, name: str) -> np.ndarray:
    """``values`` as a clean array for a statistic: bool for a label/event, float for a time.

    Raises :class:`~radlab.errors.InputError` naming ``name`` (the argument), the offending values and what to
    do, for any invalid or missing value.

    >>> check_outcome([1.0, 0.0, 2.5], "time", name="durations")
    array([1. , 0. , 2.5])
    >>> check_outcome([1, 2, 2], "event", name="event_observed")
    Traceback (most recent call last):
    ...
    radlab.errors.InputError: event_observed: column 'event_observed' uses 1/2 coding (R survival: 1 = censored, 2 = event); recode to 0/1
    >>> check_outcome([3.0, -1.0], "time", name="durations")
    Traceback (most recent call last):
    ...
    radlab.errors.InputError: durations: 1 invalid value(s): durations is -1 (a time must be a number >= 0) (row 1); fix or drop those rows first
    """
    kind = _kind(kind)
    arr = values.to_numpy() if isinstance(values, pd.Series) else np.asarray(values)
    if arr.ndim != 1:
        arr = arr.squeeze() if arr.ndim > 1 else arr.reshape(-1)
        if arr.ndim != 1:
            raise InputError(f"{name}: must be 1-D; got shape {np.shape(values)}")
    series = pd.Series(arr)
    coding = column_problem(series, kind, column=name)
    if coding is not None:
        raise InputError(f"{name}: {coding}")
    problems = outcome_problems(series, kind, column=name).dropna()
    if not problems.empty:
        first = "; ".join(f"{p} (row {i})" for i, p in problems.head(3).items())
        more = f" and {len(problems) - 3} more" if len(problems) > 3 else ""
        raise InputError(f"{name}: {len(problems)} invalid value(s): {first}{more}; fix or drop those rows first")
    missing = _missing(series)
    if missing.any():
        rows = np.flatnonzero(missing.to_numpy())
        shown = ", ".join(map(str, rows[:5])) + (" ..." if len(rows) > 5 else "")
        raise InputError(
            f"{name}: {len(rows)} missing value(s) (rows {shown}); the statistic needs complete cases: "
            f"drop the {len(rows)} rows with a missing {kind} first"
        )
    num = _numeric(series, kind).to_numpy()
    return num.astype(bool) if kind != "time" else num
