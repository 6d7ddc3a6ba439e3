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
    out = pd.Series(np.full(len(values), None, dtype=object), index=values.index)  # not [None] * n: 7x slower
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
    >>> column_problem(pd.Series([-3.0, -1.0]), "time", column="os_months")
    "column 'os_months' holds only negative times; times must be >= 0 (time since baseline)"
    >>> column_problem(pd.Series([0, 1, None]), "label", column="pcr") is None
    True
    """
    return _coding(pd.Series(values), _kind(kind), f"column '{column}'")


def _coding(values: pd.Series, kind: str, what: str) -> str | None:
    """What is wrong with the coding of ``values`` (``what`` names them in the text), or None."""
    present = values[~_missing(values)]
    num = _numeric(present, kind)
    if num.empty:
        return None
    if num.isna().all():
        return f"{what} holds no numbers (e.g. {_show(present.iloc[0])}); {_RULE[kind]}"
    num = num.dropna()
    if kind == "time":
        if (num < 0).all():
            return f"{what} holds only negative times; times must be >= 0 (time since baseline)"
        return None
    found = set(num.unique().tolist())
    if kind == "event" and found <= {1.0, 2.0} and 2.0 in found:
        return f"{what} uses 1/2 coding (R survival: 1 = censored, 2 = event); recode to 0/1"
    if found == {1.0, 2.0}:
        return f"{what} uses 1/2 coding; recode to 0/1 (1 = the positive class)"
    fractional = num[(num > 0) & (num < 1)]
    if not fractional.empty:
        noun = "an event" if kind == "event" else "a label"
        return (f"{what} holds fractional values (e.g. {fractional.iloc[0]:g}); {noun} must be 0 or 1 "
                f"(a probability is not {noun})")
    return None


def check_outcome(values: Iterable, kind: str, *, name: str, owner: str | None = None) -> np.ndarray:
    """``values`` as a clean array for a statistic: bool for a label/event, float for a time.

    Raises :class:`~radlab.errors.InputError` naming ``name`` (the argument; of the function ``owner`` when
    given), the offending values and what to do, for a wrong coding, any invalid value or any missing value.

    >>> check_outcome([1.0, 0.0, 2.5], "time", name="durations")
    array([1. , 0. , 2.5])
    >>> check_outcome([1, 2, 2], "event", name="event_observed", owner="logrank_test")
    Traceback (most recent call last):
    ...
    radlab.errors.InputError: The 'event_observed' parameter of logrank_test uses 1/2 coding (R survival: 1 = censored, 2 = event); recode to 0/1
    >>> check_outcome([3.0, -1.0], "time", name="durations")
    Traceback (most recent call last):
    ...
    radlab.errors.InputError: 'durations' must be >= 0 and finite. Got 1 invalid value(s): -1 (row 1); fix or drop those rows first
    >>> check_outcome([1, None, 0], "label", name="y_true")
    Traceback (most recent call last):
    ...
    radlab.errors.InputError: 'y_true' must have no missing values. Got 1 missing value(s) (row 1); the statistic needs complete cases: drop the 1 rows with a missing label first
    """
    kind = _kind(kind)
    what = f"The '{name}' parameter of {owner}" if owner else f"'{name}'"
    arr = values.to_numpy() if isinstance(values, pd.Series) else np.asarray(values)
    if arr.ndim != 1:
        arr = arr.squeeze() if arr.ndim > 1 else arr.reshape(-1)
        if arr.ndim != 1:
            raise InputError(f"{what} must be 1-D. Got shape {np.shape(values)} instead.")
    series = pd.Series(arr)
    coding = _coding(series, kind, what)
    if coding is not None:
        raise InputError(coding)
    bad = outcome_problems(series, kind, column=name).notna().to_numpy()
    if bad.any():
        rows = np.flatnonzero(bad)
        shown = ", ".join(f"{_show(series.iloc[i])} (row {i})" for i in rows[:3]) + (" ..." if len(rows) > 3 else "")
        rule = "be >= 0 and finite" if kind == "time" else "be 0 or 1 (or booleans)"
        raise InputError(f"{what} must {rule}. Got {len(rows)} invalid value(s): {shown}; fix or drop those rows first")
    missing = _missing(series).to_numpy()
    if missing.any():
        rows = np.flatnonzero(missing)
        shown = ", ".join(map(str, rows[:5])) + (" ..." if len(rows) > 5 else "")
        rule = "be finite (no missing values)" if kind == "time" else "have no missing values"
        raise InputError(f"{what} must {rule}. Got {len(rows)} missing value(s) (row{'s' * (len(rows) > 1)} {shown}); "
                         f"the statistic needs complete cases: drop the {len(rows)} rows with a missing {kind} first")
    num = _numeric(series, kind).to_numpy()
    return num.astype(bool) if kind != "time" else num
