"""Input validation shared by the evaluation modules (errors name the parameter, rule and value)."""

from __future__ import annotations

import numpy as np


def as_1d(values, name: str, owner: str, *, allow_nan: bool = False) -> np.ndarray:
    """A 1-D float array; NaN raises unless ``allow_nan``."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        arr = arr.squeeze()
        if arr.ndim != 1:
            raise ValueError(f"The '{name}' parameter of {owner} must be 1-D. Got shape {np.shape(values)} instead.")
    if not allow_nan and not np.all(np.isfinite(arr)):
        bad = int(np.sum(~np.isfinite(arr)))
        raise ValueError(
            f"The '{name}' parameter of {owner} must be finite (no NaN/inf). Got {bad} non-finite value(s) instead; "
            "drop those cases first."
        )
    return arr


def as_binary(y_true, name: str, owner: str, *, pos_label=None, require_both: bool = True) -> np.ndarray:
    """Boolean array of the positive class; both classes required unless ``require_both`` is False."""
    y = np.asarray(y_true)
    if y.ndim != 1:
        y = y.squeeze()
    if y.dtype.kind == "f" and np.isnan(y).any():
        raise ValueError(f"The '{name}' parameter of {owner} must not contain NaN. Got {int(np.isnan(y).sum())} NaN.")
    classes = np.unique(y)
    if len(classes) > 2:
        raise ValueError(f"The '{name}' parameter of {owner} must be binary. Got classes {classes.tolist()} instead.")
    if pos_label is None:
        if y.dtype == bool:
            pos_label = True
        elif set(classes.tolist()) <= {0, 1}:
            pos_label = 1
        elif set(classes.tolist()) <= {-1, 1}:
            pos_label = 1
        else:
            raise ValueError(
                f"The '{name}' parameter of {owner} has classes {classes.tolist()}; pass pos_label to say which is "
                "positive."
            )
    out = y == pos_label
    if require_both and (out.all() or not out.any()):
        raise ValueError(
            f"The '{name}' parameter of {owner} must contain both classes. Got only "
            f"{'positives' if out.any() else 'negatives'} ({len(out)} cases) instead."
        )
    return out


def same_length(owner: str, **arrays) -> None:
    lengths = {k: len(v) for k, v in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"The inputs of {owner} must have the same length. Got {lengths} instead.")


def check_level(confidence_level: float, owner: str) -> float:
    if not 0 < confidence_level < 1:
        raise ValueError(
            f"The 'confidence_level' parameter of {owner} must be in (0, 1). Got {confidence_level!r} instead."
        )
    return float(confidence_level)


def survival_inputs(durations, event_observed, owner: str) -> tuple[np.ndarray, np.ndarray]:
    t = as_1d(durations, "durations", owner)
    e = np.asarray(event_observed)
    if e.dtype.kind == "f" and np.isnan(e).any():
        raise ValueError(f"The 'event_observed' parameter of {owner} must not contain NaN.")
    e = as_1d(e, "event_observed", owner).astype(bool)
    same_length(owner, durations=t, event_observed=e)
    if (t < 0).any():
        raise ValueError(f"The 'durations' parameter of {owner} must be >= 0. Got min {t.min()} instead.")
    return t, e


def z_value(confidence_level: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + confidence_level / 2))
