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


CONF_TYPES = ("log-log", "log", "plain")
MEDIAN_RULES = ("first", "midpoint")
_TOL = np.sqrt(np.finfo(float).eps)  # R survival's tolerance for "S(t) equals 0.5"


def km_estimate(durations: np.ndarray, events: np.ndarray, confidence_level: float = 0.95,
                conf_type: str = "log-log") -> pd.DataFrame:
    """KM table at time 0 and every distinct duration: at_risk, events, censored, survival, lower, upper, greenwood.

    ``greenwood`` is sum d / (n (n - d)), the variance of the cumulative hazard (R survfit's ``std.err`` squared);
    it is ``inf`` from the time the curve reaches 0 (n = d), where the interval is undefined: lower/upper NaN.
    Intervals (R survfit's ``conf.type``, with se = sqrt(greenwood)): ``"log-log"`` (lifelines)
    exp(-exp(log(-log S) -+ z se / log S)); ``"log"`` (R's default) S exp(-+ z se), upper capped at 1;
    ``"plain"`` S (1 -+ z se), clipped to [0, 1]. While S = 1 (before the first event) the interval is [1, 1].
    """
    times, inv = np.unique(durations, return_inverse=True)
    total = np.bincount(inv, minlength=len(times)).astype(float)
    died = np.bincount(inv, weights=events.astype(float), minlength=len(times))
    at_risk = len(durations) - np.cumsum(total) + total
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(1.0 - died / at_risk)
        term = np.where(died > 0, died / (at_risk * (at_risk - died)), 0.0)
    var = np.cumsum(term)
    z = z_value(confidence_level)
    se = np.sqrt(var)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type == "log-log":
            v = np.log(surv)
            lower = np.exp(-np.exp(np.log(-v) - z * se / v))
            upper = np.exp(-np.exp(np.log(-v) + z * se / v))
        elif conf_type == "log":
            lower, upper = surv * np.exp(-z * se), np.minimum(surv * np.exp(z * se), 1.0)
        else:
            lower, upper = np.clip(surv * (1 - z * se), 0.0, 1.0), np.clip(surv * (1 + z * se), 0.0, 1.0)
    one = surv == 1.0
    undefined = ~np.isfinite(var) | (surv == 0.0)
    lower, upper = np.where(one, 1.0, lower), np.where(one, 1.0, upper)
    lower, upper = np.where(undefined, np.nan, lower), np.where(undefined, np.nan, upper)
    table = pd.DataFrame({"time": times, "at_risk": at_risk, "events": died, "censored": total - died,
                          "survival": surv, "lower": lower, "upper": upper, "greenwood": var})
    if times[0] > 0:
        start = pd.DataFrame({"time": [0.0], "at_risk": [float(len(durations))], "events": [0.0], "censored": [0.0],
                              "survival": [1.0], "lower": [1.0], "upper": [1.0], "greenwood": [0.0]})
        table = pd.concat([start, table], ignore_index=True)
    return table


def curve_median(times: np.ndarray, values: np.ndarray, rule: str = "first", q: float = 0.5) -> float:
    """Time at which a step curve reaches ``q``: ``inf`` if it never does, NaN if it is undefined from there on.

    ``rule="first"`` (lifelines): the first time with value <= q. ``rule="midpoint"`` (R survival's
    ``median.survfit`` / ``quantile.survfit``): where the curve equals q (to sqrt(machine eps)) over an interval,
    the midpoint of that interval's start and the time it drops below q. A bound that is NaN (undefined Greenwood
    variance) from some time on and never reached q before it is NaN, not "not reached".
    """
    defined = ~np.isnan(values)
    hit = np.flatnonzero(defined & (values <= q + (_TOL if rule == "midpoint" else 0.0)))
    if not len(hit):
        return np.nan if not defined.all() else np.inf
    first = hit[0]
    if rule == "midpoint" and abs(values[first] - q) < _TOL:
        below = np.flatnonzero(defined & (values < values[first]))
        if len(below):
            return float((times[first] + times[below[0]]) / 2)
    return float(times[first])


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
    survival, lower, upper, greenwood; lower/upper NaN where the Greenwood variance is undefined),
    ``medians`` (group, n, events, median, lower, upper; ``inf`` when not reached, NaN when undefined),
    ``conf_type``, ``median_rule``,
    ``at_risk`` (numbers at risk / events / censored by group at ``at_risk_times``), ``logrank``
    (:class:`LogRankResult`, or None for one group, no events or groups whose follow-up does not overlap), ``confidence_level``.
    """

    def __init__(self, **values):
        self.__dict__.update(values)

    @classmethod
    def from_survival(cls, durations, event_observed, *, groups=None, confidence_level: float = 0.95,
                      at_risk_times=None, name: str = "all", conf_type: str = "log-log",
                      median_rule: str = "first") -> "KaplanMeier":
        """Fit one curve per group (or one for all).

        ``conf_type`` is the pointwise interval: ``"log-log"`` (default, lifelines and Stata), ``"log"`` (R
        survfit's default) or ``"plain"``; see :func:`km_estimate`. ``median_rule`` is ``"first"`` (default,
        lifelines: first time with S <= 0.5) or ``"midpoint"`` (R: the middle of an interval where S = 0.5);
        the median's CI is where the lower/upper curves reach 0.5, by the same rule.

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
        for value, allowed, pname in ((conf_type, CONF_TYPES, "conf_type"), (median_rule, MEDIAN_RULES, "median_rule")):
            if value not in allowed:
                raise InputError(f"The '{pname}' parameter of {owner} must be one of {list(allowed)}. Got {value!r}.")
        g = np.full(len(t), name, dtype=object) if groups is None else as_groups(groups, owner, len(t))
        ticks = _nice_ticks(float(t.max())) if at_risk_times is None else np.asarray(at_risk_times, float)
        tables, medians, risk = [], [], []
        for label in np.unique(g):
            sel = g == label
            tab = km_estimate(t[sel], e[sel], level, conf_type)
            tab.insert(0, "group", label)
            tables.append(tab)
            times = tab.time.to_numpy()
            medians.append({"group": label, "n": int(sel.sum()), "events": int(e[sel].sum()),
                            **{k: curve_median(times, tab[c].to_numpy(), median_rule)
                               for k, c in (("median", "survival"), ("lower", "lower"), ("upper", "upper"))}})
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
                   at_risk=pd.concat(risk, ignore_index=True), logrank=lr, confidence_level=level,
                   conf_type=conf_type, median_rule=median_rule)

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
