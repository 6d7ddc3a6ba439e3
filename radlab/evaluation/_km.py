"""Kaplan-Meier curves (exponential-Greenwood CIs, numbers at risk, medians, by group) and log-rank tests.

Vectorised with numpy (one sort, bincounts); values match lifelines' KaplanMeierFitter and
multivariate_logrank_test (see tests/evaluation/test_survival.py), at a fraction of the cost.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from radlab.errors import InputError

from ._checks import as_groups, check_level, survival_inputs, z_value

__all__ = ["KaplanMeier", "LogRankResult", "logrank_test", "km_estimate"]


def km_estimate(durations: np.ndarray, events: np.ndarray, confidence_level: float = 0.95) -> pd.DataFrame:
    """KM table at time 0 and every distinct duration: at_risk, events, censored, survival, lower, upper.

    CIs by the exponential Greenwood (log(-log)) formula, as lifelines.
    """
    times, inv = np.unique(durations, return_inverse=True)
    total = np.bincount(inv, minlength=len(times)).astype(float)
    died = np.bincount(inv, weights=events.astype(float), minlength=len(times))
    at_risk = len(durations) - np.cumsum(total) + total
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(1.0 - died / at_risk)
        term = died / (at_risk * (at_risk - died))
    term[~np.isfinite(term)] = 0.0
    var = np.cumsum(term)
    z = z_value(confidence_level)
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.log(surv)
        lower = np.exp(-np.exp(np.log(-v) - z * np.sqrt(var) / v))
        upper = np.exp(-np.exp(np.log(-v) + z * np.sqrt(var) / v))
    lower, upper = np.nan_to_num(lower, nan=1.0), np.nan_to_num(upper, nan=1.0)
    table = pd.DataFrame({"time": times, "at_risk": at_risk, "events": died, "censored": total - died,
                          "survival": surv, "lower": lower, "upper": upper, "greenwood": var})
    if times[0] > 0:
        start = pd.DataFrame({"time": [0.0], "at_risk": [float(len(durations))], "events": [0.0], "censored": [0.0],
                              "survival": [1.0], "lower": [1.0], "upper": [1.0], "greenwood": [0.0]})
        table = pd.concat([start, table], ignore_index=True)
    return table


def _first_at_or_below(times: np.ndarray, values: np.ndarray, q: float = 0.5) -> float:
    hit = np.flatnonzero(values <= q)
    return float(times[hit[0]]) if len(hit) else np.inf


def _step_at(table: pd.DataFrame, times) -> np.ndarray:
    """Index of the KM row in force at each time (right-continuous step)."""
    return np.searchsorted(table.time.to_numpy(), np.asarray(times, float), side="right") - 1


def _nice_ticks(tmax: float, n: int = 5) -> np.ndarray:
    raw = tmax / n
    mag = 10 ** np.floor(np.log10(raw)) if raw > 0 else 1.0
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=raw)
    return np.arange(0, tmax + 1e-9, step)


@dataclass(frozen=True)
class LogRankResult:
    """Log-rank test: chi-square statistic, degrees of freedom, p-value, observed and expected events per group."""

    statistic: float
    df: int
    p_value: float
    observed: dict
    expected: dict
    test: str

    def to_frame(self) -> pd.DataFrame:
        row = asdict(self)
        obs, exp = row.pop("observed"), row.pop("expected")
        return pd.DataFrame([{**row, **{f"observed_{k}": v for k, v in obs.items()},
                              **{f"expected_{k}": v for k, v in exp.items()}}])


def logrank_test(durations, event_observed, groups, *, trend: bool = False, scores=None) -> LogRankResult:
    """Log-rank test across two or more groups, or the log-rank test for trend.

    Parameters
    ----------
    durations, event_observed : array-like of shape (n,)
    groups : array-like of shape (n,)
        Group label per case (at least two distinct, none missing).
    trend : bool
        Test for a trend across ordered groups (1 degree of freedom) instead of any difference.
    scores : sequence, optional
        Scores of the sorted group labels for the trend test (default 0, 1, 2, ...).

    A test without events, with one group, or where no event time has cases of two groups at risk raises
    :class:`~radlab.errors.InputError` (there is nothing to test; it is not p = 1).

    Examples
    --------
    >>> r = logrank_test([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 1, 0], ["a", "a", "a", "b", "b", "b"])
    >>> r.df, round(r.statistic, 4)
    (1, 5.0517)
    """
    owner = "logrank_test"
    t, e = survival_inputs(durations, event_observed, owner)
    labels, gi = np.unique(as_groups(groups, owner, len(t)), return_inverse=True)
    k = len(labels)
    if k < 2:
        raise InputError(f"The 'groups' parameter of {owner} must have at least 2 groups. Got {labels.tolist()}.")
    if not e.any():
        raise InputError(f"The 'event_observed' parameter of {owner} has no events ({len(e)} cases, all censored); "
                         "the log-rank test needs events to compare the groups.")
    times, inv = np.unique(t, return_inverse=True)
    nt = len(times)
    cell = gi * nt + inv
    d = np.bincount(cell, weights=e.astype(float), minlength=k * nt).reshape(k, nt)
    tot = np.bincount(cell, minlength=k * nt).reshape(k, nt).astype(float)
    n = np.cumsum(tot[:, ::-1], axis=1)[:, ::-1]
    keep = d.sum(0) > 0
    d, n = d[:, keep], n[:, keep]
    dt, nt_ = d.sum(0), n.sum(0)
    frac = n / nt_
    observed, expected = d.sum(1), (frac * dt).sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(nt_ > 1, dt * (nt_ - dt) / (nt_ - 1), 0.0)
    cov = np.einsum("t,gt,ht->gh", w, frac, frac)
    var = np.diag((w * frac).sum(1)) - cov
    diff = observed - expected
    if np.allclose(var, 0):
        raise InputError(f"{owner}: no event time has cases of two groups at risk (the groups' follow-up does not "
                         "overlap); the log-rank test is not estimable.")
    from scipy.stats import chi2

    if trend:
        s = np.arange(k, dtype=float) if scores is None else np.asarray(scores, float)
        if len(s) != k:
            raise InputError(f"The 'scores' parameter of {owner} must have one value per group ({k}). Got {len(s)}.")
        stat, df, name = float((s @ diff) ** 2 / (s @ var @ s)), 1, "logrank trend"
    else:
        stat, df, name = float(diff[:-1] @ np.linalg.pinv(var[:-1, :-1]) @ diff[:-1]), k - 1, "logrank"
    keys = [str(v) for v in labels]
    return LogRankResult(stat, df, float(chi2.sf(stat, df)), dict(zip(keys, observed.tolist())),
                         dict(zip(keys, expected.tolist())), name)


class KaplanMeier:
    """Kaplan-Meier curves with CIs, a numbers-at-risk table, medians and (by group) a log-rank test.

    Build with :meth:`from_survival`. Attributes: ``table`` (group, time, at_risk, events, censored,
    survival, lower, upper), ``medians`` (group, median, lower, upper; ``inf`` when not reached),
    ``at_risk`` (numbers at risk / events / censored by group at ``at_risk_times``), ``logrank``
    (:class:`LogRankResult`, or None for one group, no events or groups whose follow-up does not overlap), ``confidence_level``.
    """

    def __init__(self, **values):
        self.__dict__.update(values)

    @classmethod
    def from_survival(cls, durations, event_observed, *, groups=None, confidence_level: float = 0.95,
                      at_risk_times=None, name: str = "all") -> "KaplanMeier":
        """Fit one curve per group (or one for all).

        Numbers at risk at time tau count cases with duration >= tau; events and censored count those
        with duration < tau, so the three add up to the group size.

        Examples
        --------
        >>> km = KaplanMeier.from_survival([1, 2, 3, 4, 5, 6], [1, 1, 0, 1, 1, 0])
        >>> km.survival_at([2.5]).round(4).survival.tolist()
        [0.6667]
        >>> float(km.medians["median"].iloc[0])
        4.0
        """
        owner = "KaplanMeier.from_survival"
        t, e = survival_inputs(durations, event_observed, owner)
        level = check_level(confidence_level, owner)
        g = np.full(len(t), name, dtype=object) if groups is None else as_groups(groups, owner, len(t))
        ticks = _nice_ticks(float(t.max())) if at_risk_times is None else np.asarray(at_risk_times, float)
        tables, medians, risk = [], [], []
        for label in np.unique(g):
            sel = g == label
            tab = km_estimate(t[sel], e[sel], level)
            tab.insert(0, "group", label)
            tables.append(tab)
            times = tab.time.to_numpy()
            medians.append({"group": label, "median": _first_at_or_below(times, tab.survival.to_numpy()),
                            "lower": _first_at_or_below(times, tab.lower.to_numpy()),
                            "upper": _first_at_or_below(times, tab.upper.to_numpy())})
            ts, es = t[sel][:, None], e[sel][:, None]
            risk.append(pd.DataFrame({"group": label, "time": ticks, "at_risk": (ts >= ticks).sum(0),
                                      "events": ((ts < ticks) & es).sum(0), "censored": ((ts < ticks) & ~es).sum(0)}))
        lr = None
        if len(tables) > 1 and e.any():
            try:
                lr = logrank_test(t, e, g)
            except InputError:  # the groups' follow-up does not overlap: curves, but no test
                lr = None
        return cls(table=pd.concat(tables, ignore_index=True), medians=pd.DataFrame(medians),
                   at_risk=pd.concat(risk, ignore_index=True), logrank=lr, confidence_level=level)

    def survival_at(self, times) -> pd.DataFrame:
        """Survival and CI per group at the given times (step function, right-continuous)."""
        out = []
        for label, tab in self.table.groupby("group", sort=False):
            idx = _step_at(tab, times)
            rows = tab.iloc[np.maximum(idx, 0)][["survival", "lower", "upper"]].reset_index(drop=True)
            rows.insert(0, "time", np.asarray(times, float))
            rows.insert(0, "group", label)
            out.append(rows)
        return pd.concat(out, ignore_index=True)

    def at_risk_table(self, value: str = "at_risk") -> pd.DataFrame:
        """Wide numbers-at-risk table: one row per group, one column per time (for under a plot)."""
        return self.at_risk.pivot(index="group", columns="time", values=value)

    def to_frame(self) -> pd.DataFrame:
        return self.table.drop(columns="greenwood")

    def plot(self, *, show_ci: bool = True, **opts):
        """HoloViews overlay of step curves (and CI bands) per group."""
        from ._plotting import holoviews

        hv = holoviews()
        layers = []
        for label, tab in self.table.groupby("group", sort=False):
            x = np.repeat(tab.time.to_numpy(), 2)[1:]
            step = {c: np.repeat(tab[c].to_numpy(), 2)[:-1] for c in ("survival", "lower", "upper")}
            if show_ci:
                layers.append(hv.Area((x, step["lower"], step["upper"]), "Time", ["Survival", "upper"],
                                      label=str(label)).opts(alpha=0.2))
            layers.append(hv.Curve((x, step["survival"]), "Time", "Survival", label=str(label)))
        overlay = hv.Overlay(layers)
        return overlay.opts(**opts) if opts else overlay
