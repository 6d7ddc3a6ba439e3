"""Input validation shared by the evaluation modules (errors name the parameter, rule and value).

Every check raises :class:`radlab.errors.InputError` (a ``ValueError``); outcomes (labels, events, times) are
checked by :func:`radlab.outcomes.check_outcome`, so a 1/2-coded or fractional event is never cast to bool.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from radlab.errors import InputError
from radlab.outcomes import check_outcome


def as_1d(values, name: str, owner: str, *, allow_nan: bool = False) -> np.ndarray:
    """A 1-D float array; NaN or inf raises unless ``allow_nan``; text that is not a number raises."""
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        num = pd.to_numeric(pd.Series(np.asarray(values, dtype=object).ravel()), errors="coerce")
        text = [v for v, x in zip(np.asarray(values, dtype=object).ravel(), num) if np.isnan(x) and v is not None]
        raise InputError(f"The '{name}' parameter of {owner} must hold numbers. Got {len(text)} value(s) that are "
                         f"not numbers (e.g. {text[0]!r}) instead.") from None
    if arr.ndim != 1:
        arr = arr.squeeze()
        if arr.ndim != 1:
            raise InputError(f"The '{name}' parameter of {owner} must be 1-D. Got shape {np.shape(values)} instead.")
    if not allow_nan and not np.all(np.isfinite(arr)):
        bad = int(np.sum(~np.isfinite(arr)))
        raise InputError(
            f"The '{name}' parameter of {owner} must be finite (no NaN/inf). Got {bad} non-finite value(s) instead; "
            "drop those cases first."
        )
    return arr


def as_binary(y_true, name: str, owner: str, *, pos_label=None, require_both: bool = True) -> np.ndarray:
    """Boolean array of the positive class; both classes required unless ``require_both`` is False.

    Without ``pos_label`` the labels must be 0/1 (numbers, booleans or "0"/"1") or -1/1; other codings
    (1/2, fractions, "yes"/"no") raise and ask for ``pos_label`` or a recode.
    """
    y = np.asarray(y_true)
    if y.ndim != 1:
        y = y.squeeze()
    if y.ndim != 1:
        raise InputError(f"The '{name}' parameter of {owner} must be 1-D. Got shape {np.shape(y_true)} instead.")
    missing = pd.isna(pd.Series(y, dtype=object)).to_numpy() if y.dtype.kind in "OUSf" else np.zeros(len(y), bool)
    if missing.any():
        raise InputError(f"The '{name}' parameter of {owner} must not contain missing values (NaN/None). Got "
                         f"{int(missing.sum())}; drop those cases first.")
    if pos_label is None:
        if y.dtype.kind in "biuf" and len(y) and set(np.unique(y).tolist()) <= {-1, 1} and -1 in y:
            out = y == 1
        else:
            try:
                out = check_outcome(y, "label", name=name, owner=owner)
            except InputError as exc:
                raise InputError(f"{exc} (or pass pos_label to say which class is positive)") from None
    else:
        classes = np.unique(y)
        if len(classes) > 2:
            raise InputError(f"The '{name}' parameter of {owner} must be binary. Got classes {classes.tolist()} "
                             "instead.")
        out = y == pos_label
    if require_both and (out.all() or not out.any()):
        raise InputError(
            f"The '{name}' parameter of {owner} must contain both classes. Got only "
            f"{'positives' if out.any() else 'negatives'} ({len(out)} cases) instead."
        )
    return out


def same_length(owner: str, **arrays) -> None:
    lengths = {k: len(v) for k, v in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise InputError(f"The inputs of {owner} must have the same length. Got {lengths} instead.")


def check_level(confidence_level: float, owner: str) -> float:
    if not 0 < confidence_level < 1:
        raise InputError(
            f"The 'confidence_level' parameter of {owner} must be in (0, 1). Got {confidence_level!r} instead."
        )
    return float(confidence_level)


def survival_inputs(durations, event_observed, owner: str) -> tuple[np.ndarray, np.ndarray]:
    """Times (finite, >= 0) as floats and events (0/1 or booleans only) as booleans, of the same length."""
    t = check_outcome(durations, "time", name="durations", owner=owner)
    e = check_outcome(event_observed, "event", name="event_observed", owner=owner)
    same_length(owner, durations=t, event_observed=e)
    return t, e


def check_time(value, name: str, owner: str) -> float:
    """A finite time >= 0 (a horizon such as ``time=``)."""
    try:
        t = float(value)
    except (TypeError, ValueError):
        t = np.nan
    if not np.isfinite(t) or t < 0:
        raise InputError(f"The '{name}' parameter of {owner} must be a finite time >= 0. Got {value!r} instead.")
    return t


def as_groups(groups, owner: str, n: int) -> np.ndarray:
    """Group labels, one per case, none missing."""
    g = np.asarray(groups)
    if g.ndim != 1:
        g = g.squeeze()
    if g.ndim != 1 or len(g) != n:
        raise InputError(f"The 'groups' parameter of {owner} must hold one label per case ({n}). Got shape "
                         f"{np.shape(groups)} instead.")
    missing = pd.isna(pd.Series(g, dtype=object)).to_numpy()
    if missing.any():
        raise InputError(f"The 'groups' parameter of {owner} must have no missing labels. Got {int(missing.sum())} "
                         "missing; drop those cases or give them a group first.")
    return g


def z_value(confidence_level: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + confidence_level / 2))
