"""Outcome targets: binary labels or survival (sksurv structured array with event and time fields)."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["is_survival", "split_survival", "survival_target"]


def survival_target(durations, event_observed) -> np.ndarray:
    """Survival outcome as the structured array scikit-survival estimators take (fields ``event``, ``time``).

    Examples
    --------
    >>> y = survival_target([5.0, 3.0], [1, 0])
    >>> y["time"].tolist(), y["event"].tolist()
    ([5.0, 3.0], [True, False])
    """
    t = np.asarray(durations, dtype=float)
    e = np.asarray(event_observed)
    if t.shape != e.shape or t.ndim != 1:
        raise ValueError(f"The 'durations' and 'event_observed' parameters must be 1-D of equal length. Got shapes "
                         f"{t.shape} and {e.shape} instead.")
    if not np.all(np.isfinite(t)) or pd.isna(e).any():
        raise ValueError("The 'durations' and 'event_observed' parameters must not contain missing values.")
    y = np.empty(len(t), dtype=[("event", bool), ("time", float)])
    y["event"], y["time"] = e.astype(bool), t
    return y


def is_survival(y) -> bool:
    """True for a structured array with two fields (event indicator, time), as scikit-survival uses."""
    y = np.asarray(y)
    return y.dtype.names is not None and len(y.dtype.names) == 2


def split_survival(y) -> tuple[np.ndarray, np.ndarray]:
    """``(durations, event_observed)`` from a survival target (the bool field is the event)."""
    y = np.asarray(y)
    names = y.dtype.names
    ev = [n for n in names if y.dtype[n] == bool]
    ev = ev[0] if ev else names[0]
    t = [n for n in names if n != ev][0]
    return y[t].astype(float), y[ev].astype(bool)
