"""Decision curve analysis (net benefit, standardised net benefit, clinical impact), binary and survival.

Conventions follow the ``dcurves`` package (Vickers et al.): a case is test-positive when its risk is
``>= threshold``; net benefit = tp_rate - threshold / (1 - threshold) * fp_rate - harm, with rates per
case in the population; "all" treats everyone (risk 1), "none" no one (risk 0); survival outcomes use
Kaplan-Meier risk at ``time`` among test positives (NaN when their follow-up ends before ``time``).
As dcurves, a risk of exactly 0 is nudged to -machine epsilon (and 1 to 1 + eps), so that at threshold 0 a risk
of 0 ("none", or a 0/1 marker) is test-negative: treat-none has net benefit 0 there and interventions avoided
-inf (a 0 / 0 is NaN only where a model's net benefit equals treat-all's).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from radlab.errors import InputError

from ._checks import as_1d, as_binary, check_level, check_time, same_length, survival_inputs
from ._km import km_estimate

__all__ = ["DecisionCurve"]

DEFAULT_THRESHOLDS = np.round(np.arange(0.01, 1.0, 0.01), 2)
EPS = np.finfo(float).eps


def _nudge(risk: np.ndarray) -> np.ndarray:
    """dcurves' boundary rule: 0 -> -eps, 1 -> 1 + eps (test-positive means risk >= threshold)."""
    return np.where(risk == 0, -EPS, np.where(risk == 1, 1 + EPS, risk))


def _km_risk(t: np.ndarray, e: np.ndarray, time: float) -> float:
    if len(t) == 0:
        return 0.0
    if t.max() < time:
        return np.nan
    tab = km_estimate(t, e)
    k = np.searchsorted(tab.time.to_numpy(), time, side="right") - 1
    return 1.0 - float(tab.survival.iloc[k])


def _logistic_risk(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Fitted P(y = 1 | x) of a univariable logistic regression (R: glm(y ~ x, binomial))."""
    import statsmodels.api as sm

    return sm.GLM(y.astype(float), sm.add_constant(x), family=sm.families.Binomial()).fit().fittedvalues


def _cox_risk(t: np.ndarray, e: np.ndarray, x: np.ndarray, time: float) -> np.ndarray:
    """1 - S(time | x) of a univariable Cox model (R: coxph(Surv(t, e) ~ x), survfit(newdata) at time)."""
    from lifelines import CoxPHFitter

    frame = pd.DataFrame({"t": t, "e": e.astype(int), "x": x})
    fit = CoxPHFitter().fit(frame, "t", "e")
    return 1.0 - fit.predict_survival_function(frame[["x"]], times=[time]).to_numpy()[0]


def _rates(risk, thresholds, y=None, t=None, e=None, time=None, prevalence=None):
    """test_pos_rate, tp_rate, fp_rate at each threshold for one risk vector."""
    n = len(risk)
    order = np.sort(risk)
    test_pos = n - np.searchsorted(order, thresholds, side="left")  # count of risk >= threshold
    tpr_pop = test_pos / n
    if y is not None:
        pos_sorted = np.sort(risk[y])
        neg_sorted = np.sort(risk[~y])
        n_pos = len(pos_sorted)
        n_neg = n - n_pos
        tp = (n_pos - np.searchsorted(pos_sorted, thresholds, side="left")) / max(n_pos, 1)
        fp = (n_neg - np.searchsorted(neg_sorted, thresholds, side="left")) / max(n_neg, 1)
        return tpr_pop, tp * prevalence, fp * (1 - prevalence)
    risk_rate = np.array([_km_risk(t[risk >= c], e[risk >= c], time) for c in thresholds])
    return tpr_pop, risk_rate * tpr_pop, (1 - risk_rate) * tpr_pop


def _thresholds(thresholds) -> np.ndarray:
    """Threshold probabilities, each in [0, 1) (the odds t / (1 - t) are infinite at 1)."""
    thr = as_1d(DEFAULT_THRESHOLDS if thresholds is None else np.atleast_1d(thresholds), "thresholds", "DecisionCurve")
    if not len(thr) or thr.min() < 0 or thr.max() >= 1:
        raise InputError(f"The 'thresholds' parameter of DecisionCurve must hold probabilities in [0, 1). Got "
                         f"{thr.tolist()[:5]} instead.")
    return thr


class DecisionCurve:
    """Net benefit of one or more risk models across threshold probabilities, vs treat-all / treat-none.

    Build with :meth:`from_predictions` (binary outcome) or :meth:`from_survival` (event by ``time``).
    ``table`` has the ``dcurves.dca`` columns (model, threshold, n, prevalence, harm, test_pos_rate,
    tp_rate, fp_rate, net_benefit, net_intervention_avoided) plus standardized_net_benefit
    (net benefit / prevalence), n_high_risk and n_high_risk_with_event (clinical impact, per
    ``per_n`` people) and, with ``n_bootstraps``, nb_lower / nb_upper (percentile band over case resamples).
    """

    def __init__(self, **values):
        self.__dict__.update(values)

    @classmethod
    def _build(cls, risks, thresholds, harm, n_bootstraps, confidence_level, random_state, per_n, nper, core,
               n, prevalence, kind, time):
        thresholds = _thresholds(thresholds)
        level = check_level(confidence_level, "DecisionCurve")
        harm = harm or {}
        models = {name: _nudge(r) for name, r in {**risks, "all": np.ones(n), "none": np.zeros(n)}.items()}
        rng = np.random.default_rng(random_state)
        frames = []
        nb_all = None
        for name, risk in models.items():
            tpos, tp, fp = core(risk, np.arange(n))
            h = float(harm.get(name, 0.0))
            odds = thresholds / (1 - thresholds)
            nb = tp - odds * fp - h
            if name == "all":
                nb_all = nb
            frame = pd.DataFrame({"model": name, "threshold": thresholds, "n": n, "prevalence": prevalence,
                                  "harm": h, "test_pos_rate": tpos, "tp_rate": tp, "fp_rate": fp, "net_benefit": nb})
            if n_bootstraps:
                boot = []
                for _ in range(n_bootstraps):
                    idx = rng.integers(0, n, n)
                    _, btp, bfp = core(risk[idx], idx)
                    boot.append(btp - odds * bfp - h)
                lo, hi = np.nanpercentile(np.array(boot, float), [50 * (1 - level), 50 * (1 + level)], axis=0)
                frame["nb_lower"], frame["nb_upper"] = lo, hi
            frames.append(frame)
        table = pd.concat(frames, ignore_index=True)
        odds = table.threshold / (1 - table.threshold)
        table["net_intervention_avoided"] = (table.net_benefit - np.tile(nb_all, len(models))) / odds * nper
        table["standardized_net_benefit"] = table.net_benefit / prevalence
        table["n_high_risk"] = table.test_pos_rate * per_n
        table["n_high_risk_with_event"] = table.tp_rate * per_n
        return cls(table=table, models=list(risks), kind=kind, time=time, prevalence=prevalence,
                   confidence_level=level, per_n=per_n)

    @classmethod
    def from_predictions(cls, y_true, y_prob, *, thresholds=None, harm: dict | None = None, prevalence=None,
                         n_bootstraps: int = 0, confidence_level: float = 0.95, random_state=None,
                         per_n: int = 1000, nper: int = 1, pos_label=None, as_probability=()) -> "DecisionCurve":
        """Decision curves for a binary outcome.

        Parameters
        ----------
        y_true : array-like of shape (n,)
        y_prob : array-like of shape (n,) or dict name -> array
            Predicted risks in [0, 1].
        thresholds : array-like, optional
            Threshold probabilities (default 0.01 ... 0.99).
        harm : dict, optional
            Per-model harm subtracted from net benefit (as dcurves).
        prevalence : float, optional
            Population prevalence for case-control data (as dcurves); default the sample prevalence.
        as_probability : sequence of str
            Models whose values are markers, not risks: each is replaced by the fitted risk of a univariable
            logistic regression of the outcome on it (R dcurves' ``as_probability``).

        Examples
        --------
        >>> dc = DecisionCurve.from_predictions([0, 1, 0, 1, 1], [0.2, 0.7, 0.4, 0.9, 0.3], thresholds=[0.25, 0.5])
        >>> dc.table.query("model == 'model'").net_benefit.round(4).tolist()
        [0.5333, 0.4]
        """
        owner = "DecisionCurve.from_predictions"
        y = as_binary(y_true, "y_true", owner, pos_label=pos_label)
        risks = cls._risks(y_prob, owner, len(y), as_probability, lambda x: _logistic_risk(y, x))
        if prevalence is not None and not 0 < prevalence < 1:
            raise InputError(f"The 'prevalence' parameter of {owner} must be in (0, 1). Got {prevalence!r} instead.")
        prev = float(y.mean()) if prevalence is None else float(prevalence)
        thr = _thresholds(thresholds)

        def core(risk, idx):
            return _rates(risk, thr,
                          y=y[idx], prevalence=prev if prevalence is not None else float(y[idx].mean()))

        return cls._build(risks, thresholds, harm, n_bootstraps, confidence_level, random_state, per_n, nper, core,
                          len(y), prev, "binary", None)

    @classmethod
    def from_survival(cls, durations, event_observed, risk_at_time, *, time: float, thresholds=None,
                      harm: dict | None = None, n_bootstraps: int = 0, confidence_level: float = 0.95,
                      random_state=None, per_n: int = 1000, nper: int = 1, as_probability=()) -> "DecisionCurve":
        """Decision curves for an event by ``time`` (risk_at_time: predicted probability of the event by then).

        Models named in ``as_probability`` are markers: each is replaced by 1 - S(time | marker) from a
        univariable Cox model (Efron ties, Breslow baseline), as R dcurves' ``as_probability``.

        Examples
        --------
        >>> t = [1, 2, 3, 4, 5, 6, 7, 8]; e = [1, 0, 1, 1, 0, 1, 0, 0]
        >>> dc = DecisionCurve.from_survival(t, e, [.9, .3, .8, .6, .2, .5, .1, .2], time=5, thresholds=[0.4])
        >>> round(float(dc.prevalence), 4)
        0.4167
        """
        owner = "DecisionCurve.from_survival"
        t, e = survival_inputs(durations, event_observed, owner)
        time = check_time(time, "time", owner)
        risks = cls._risks(risk_at_time, owner, len(t), as_probability, lambda x: _cox_risk(t, e, x, time))
        if t.max() < time:
            raise InputError(f"The 'time' parameter of {owner} ({time:g}) is beyond the follow-up (last time "
                             f"{t.max():g}); the observed risk at it is not estimable.")
        if not (e & (t <= time)).any():
            raise InputError(f"The 'event_observed' parameter of {owner} has no events by time {time:g}; net benefit "
                             "is not estimable.")
        prev = _km_risk(t, e, time)
        thr = _thresholds(thresholds)

        def core(risk, idx):
            return _rates(risk, thr, t=t[idx], e=e[idx], time=time)

        return cls._build(risks, thresholds, harm, n_bootstraps, confidence_level, random_state, per_n, nper, core,
                          len(t), prev, "survival", time)

    @staticmethod
    def _risks(y_prob, owner, n, as_probability=(), convert=None) -> dict:
        risks = dict(y_prob) if isinstance(y_prob, dict) else {"model": y_prob}
        unknown = sorted(set(map(str, as_probability)) - set(map(str, risks)))
        if unknown:
            raise InputError(f"The 'as_probability' parameter of {owner} names {unknown}, which are not models "
                             f"({sorted(map(str, risks))}).")
        out = {}
        for name, r in risks.items():
            r = as_1d(r, "y_prob", owner)
            same_length(owner, y_true=np.empty(n), **{str(name): r})
            if str(name) in map(str, as_probability):
                r = convert(r)
            if r.min() < 0 or r.max() > 1:
                raise InputError(f"The 'y_prob' parameter of {owner} must hold risks in [0, 1]; model {name!r} "
                                 f"has range [{r.min()}, {r.max()}].")
            out[str(name)] = r
        return out

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def plot(self, *, kind: str = "net_benefit", **opts):
        """HoloViews overlay per model: "net_benefit", "standardized_net_benefit", "net_intervention_avoided",
        or "clinical_impact" (number high risk and high risk with event per ``per_n``)."""
        from ._plotting import holoviews

        hv = holoviews()
        layers = []
        for name, m in self.table.groupby("model", sort=False):
            if kind == "clinical_impact":
                if name in ("all", "none"):
                    continue
                layers.append(hv.Curve((m.threshold, m.n_high_risk), "Threshold probability",
                                       f"Number per {self.per_n}", label=f"{name}: high risk"))
                layers.append(hv.Curve((m.threshold, m.n_high_risk_with_event), "Threshold probability",
                                       f"Number per {self.per_n}", label=f"{name}: high risk with event").opts(
                    line_dash="dashed"))
                continue
            if kind == "net_benefit" and "nb_lower" in m and name not in ("all", "none"):
                layers.append(hv.Area((m.threshold, m.nb_lower, m.nb_upper), "Threshold probability",
                                      ["Net benefit", "upper"]).opts(alpha=0.2))
            layers.append(hv.Curve((m.threshold, m[kind]), "Threshold probability", kind.replace("_", " ").title(),
                                   label=name))
        overlay = hv.Overlay(layers)
        return overlay.opts(**opts) if opts else overlay
