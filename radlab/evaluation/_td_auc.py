"""Time-dependent (cumulative/dynamic) AUC with IPCW, wrapping scikit-survival."""

from __future__ import annotations

import numpy as np
import pandas as pd

from radlab.errors import InputError

from ._bootstrap import CHUNK_ELEMENTS, auc_from_counts, percentile_ci, tie_groups
from ._checks import as_1d, check_level, same_length, survival_inputs

__all__ = ["TimeDependentAuc"]


class TimeDependentAuc:
    """Cumulative/dynamic AUC(t): cases have an event by t, controls are event-free beyond t (Uno et al.
    2007 IPCW estimator, ``sksurv.metrics.cumulative_dynamic_auc``).

    Attributes: ``times``, ``auc`` (per time), ``mean_auc`` (sksurv's mean over the times: the AUC(t)
    weighted by the drop of the test data's Kaplan-Meier survival at each time, divided by 1 - S(last time);
    AUC(t) itself with one time), ``lower`` / ``upper`` (percentile bootstrap over test cases, censoring
    distribution fixed), ``n_bootstraps``.
    """

    def __init__(self, **values):
        self.__dict__.update(values)

    @classmethod
    def from_survival(cls, durations, event_observed, risk, times, *, train_durations=None,
                      train_event_observed=None, n_bootstraps: int = 0, confidence_level: float = 0.95,
                      random_state=None, name: str = "model") -> "TimeDependentAuc":
        """AUC at each of ``times`` (within follow-up); ``train_*`` estimate the censoring distribution.

        ``risk`` is one score per case (higher = earlier event), or an (n_samples, n_times) array whose column
        j scores ``times[j]`` (e.g. a cumulative hazard at each time); then ``times`` must be increasing.
        Times outside the follow-up [min, max) of these data, or a time with no case (event by it) or no
        control (followed beyond it), raise :class:`~radlab.errors.InputError`.

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0); x = rng.normal(size=200)
        >>> t = rng.exponential(np.exp(-x)); e = rng.random(200) < 0.8
        >>> td = TimeDependentAuc.from_survival(t, e, x, [0.5, 1.0])
        >>> bool(td.auc.min() > 0.6)
        True
        >>> risk_t = np.outer(np.exp(x), [0.5, 1.0])  # a cumulative hazard at each time
        >>> bool(np.allclose(TimeDependentAuc.from_survival(t, e, risk_t, [0.5, 1.0]).auc, td.auc))
        True
        """
        from sksurv.metrics import cumulative_dynamic_auc
        from sksurv.util import Surv

        owner = "TimeDependentAuc.from_survival"
        t, e = survival_inputs(durations, event_observed, owner)
        level = check_level(confidence_level, owner)
        if not e.any():
            raise InputError(f"The 'event_observed' parameter of {owner} has no events (all censored).")
        given = as_1d(np.atleast_1d(np.asarray(times, dtype=object)), "times", owner)
        times = np.unique(given)
        if not len(times):
            raise InputError(f"The 'times' parameter of {owner} must hold at least one time. Got none.")
        r = _as_risk(risk, given, owner)
        same_length(owner, durations=t, risk=r)
        if times.min() < t.min() or times.max() >= t.max():
            raise InputError(f"The 'times' parameter of {owner} must lie within follow-up [{t.min()}, {t.max()}). "
                             f"Got {times.tolist()} instead.")
        no_case = [float(tau) for tau in times if not (e & (t <= tau)).any()]
        if no_case:
            raise InputError(f"The 'times' parameter of {owner} has time(s) {no_case} before the first event "
                             f"({t[e].min()}): no case to score at them; choose later times.")
        train = Surv.from_arrays(e, t) if train_durations is None else Surv.from_arrays(
            *survival_inputs(train_durations, train_event_observed, owner)[::-1])
        auc, mean_auc = cumulative_dynamic_auc(train, Surv.from_arrays(e, t), r, times)
        lower = upper = np.full(len(times), np.nan)
        if n_bootstraps:
            from sksurv.nonparametric import CensoringDistributionEstimator

            ipcw = CensoringDistributionEstimator().fit(train).predict_ipcw(Surv.from_arrays(e, t))
            boots = _bootstrap_auc_t(t, e, r, times, ipcw, n_bootstraps, np.random.default_rng(random_state))
            lower, upper = np.array([percentile_ci(boots[:, k], level) for k in range(len(times))]).T
        return cls(name=name, times=times, auc=np.asarray(auc), mean_auc=float(mean_auc), lower=lower, upper=upper,
                   n_bootstraps=n_bootstraps, confidence_level=level)

    def to_frame(self) -> pd.DataFrame:
        """One row per time; ``mean_auc`` (the same on every row) is the mean over all the times."""
        return pd.DataFrame({"model": self.name, "time": self.times, "auc": self.auc, "lower": self.lower,
                             "upper": self.upper, "mean_auc": self.mean_auc})

    def __repr__(self) -> str:
        return (f"TimeDependentAuc({self.name!r}, times={self.times.tolist()}, "
                f"auc={np.round(self.auc, 3).tolist()}, mean_auc={self.mean_auc:.3f})")

    def plot(self, **opts):
        from ._plotting import holoviews

        hv = holoviews()
        curve = hv.Curve((self.times, self.auc), "Time", "AUC(t)", label=self.name) * hv.Scatter(
            (self.times, self.auc), "Time", "AUC(t)").opts(size=6)
        if np.isfinite(self.lower).all():
            curve = hv.ErrorBars((self.times, self.auc, self.auc - self.lower, self.upper - self.auc),
                                 "Time", ["AUC(t)", "neg", "pos"]) * curve
        return curve.opts(**opts) if opts else curve


def _as_risk(risk, times: np.ndarray, owner: str) -> np.ndarray:
    """``risk`` as a 1-D array, or as an (n_samples, len(times)) array when 2-D with several columns."""
    shape = np.shape(risk)
    if len(shape) > 2:
        raise InputError(f"The 'risk' parameter of {owner} must be 1-D (one score per case) or 2-D (one column "
                         f"per time). Got shape {shape} instead.")
    if len(shape) < 2 or shape[1] == 1:
        return as_1d(risk, "risk", owner)
    if shape[1] != len(times):
        raise InputError(f"The 'risk' parameter of {owner} must have one column per time ({len(times)}) when "
                         f"2-D. Got shape {shape} instead.")
    if np.any(np.diff(times) <= 0):
        raise InputError(f"The 'times' parameter of {owner} must be increasing when 'risk' is 2-D (column j "
                         f"scores times[j]). Got {times.tolist()} instead.")
    return as_1d(np.asarray(risk, dtype=object).ravel(), "risk", owner).reshape(shape)


def _bootstrap_auc_t(t, e, r, times, ipcw, n_resamples: int, rng) -> np.ndarray:
    """(kept resamples x times) cumulative/dynamic AUCs of case resamples, the censoring weights fixed.

    At each time, cases (event by t, weighted by their IPCW) and controls (event-free beyond t) of every
    resample are counted per tie group of the risk score, and the AUC is the Mann-Whitney statistic of those
    weighted counts (ties 1/2): the value ``sksurv.metrics.cumulative_dynamic_auc`` gives on the resample.
    Resamples whose follow-up does not cover the times, or without cases or controls at a time, are dropped
    (as that function refuses them). A 2-D ``r`` has one column of scores per time.
    """
    ties = [tie_groups(r)] if r.ndim == 1 else [tie_groups(col) for col in r.T]
    n = len(t)
    chunk = max(1, CHUNK_ELEMENTS // n)
    cases = [ipcw * (e & (t <= tau)) for tau in times]  # IPCW-weighted cases and controls at each time
    controls = [(t > tau).astype(float) for tau in times]
    out, done = [], 0
    while done < n_resamples:
        rows = min(chunk, n_resamples - done)
        idx = rng.integers(0, n, size=(rows, n))
        aucs = np.empty((rows, len(times)))
        for k, (case, control) in enumerate(zip(cases, controls)):
            if k < len(ties):  # a 1-D risk's tie groups serve every time
                groups, n_groups = ties[k]
                g = (groups[idx] + (np.arange(rows) * n_groups)[:, None]).ravel()
            pc = np.bincount(g, weights=case[idx].ravel(), minlength=rows * n_groups).reshape(rows, n_groups)
            nc = np.bincount(g, weights=control[idx].ravel(), minlength=rows * n_groups).reshape(rows, n_groups)
            aucs[:, k] = auc_from_counts(pc, nc)
        covered = (t[idx].max(axis=1) > times.max()) & (t[idx].min(axis=1) <= times.min())
        out.append(aucs[covered & np.isfinite(aucs).all(axis=1)])
        done += rows
    return np.vstack(out)
