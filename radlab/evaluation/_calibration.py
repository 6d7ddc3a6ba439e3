"""Calibration: binned and smoothed curves with CIs, logistic recalibration, Brier, Hosmer-Lemeshow,
ICI/E50/E90, per group; and calibration of predicted survival at a time t against Kaplan-Meier."""

from __future__ import annotations

import numpy as np
import pandas as pd

from radlab.errors import InputError

from ._checks import as_1d, as_binary, as_groups, check_level, check_time, same_length, survival_inputs
from ._km import km_estimate
from ._roc import wilson_interval

__all__ = ["CalibrationCurve", "hosmer_lemeshow", "logistic_recalibration"]

_EPS = 1e-12


def _bin_ids(p: np.ndarray, n_bins: int, strategy: str) -> np.ndarray:
    """Bin index per case, as sklearn.calibration.calibration_curve."""
    if strategy == "quantile":
        edges = np.percentile(p, np.linspace(0, 100, n_bins + 1))
    elif strategy == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    else:
        raise InputError(f"The 'strategy' parameter must be 'quantile' or 'uniform'. Got {strategy!r} instead.")
    return np.searchsorted(edges[1:-1], p)


def _probabilities(y_true, y_prob, owner: str, *, pos_label=None) -> tuple[np.ndarray, np.ndarray]:
    """Labels (0/1, both classes) and probabilities (finite, in [0, 1]) of the same length."""
    y = as_binary(y_true, "y_true", owner, pos_label=pos_label)
    p = as_1d(y_prob, "y_prob", owner)
    same_length(owner, y_true=y, y_prob=p)
    if p.min() < 0 or p.max() > 1:
        outside = int(((p < 0) | (p > 1)).sum())
        raise InputError(f"The 'y_prob' parameter of {owner} must be probabilities in [0, 1]. Got range "
                         f"[{p.min()}, {p.max()}] ({outside} value(s) outside) instead; a risk score is not a "
                         "probability (calibrate it first).")
    return y, p


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def logistic_recalibration(y_true, y_prob, *, confidence_level: float = 0.95) -> dict:
    """Calibration slope and intercept by logistic recalibration (statsmodels GLM, binomial).

    slope: b in logit P(y) = a + b logit(p). intercept (calibration-in-the-large): a in
    logit P(y) = a + offset(logit(p)). Ideal: slope 1, intercept 0. Probabilities are clipped to
    [1e-12, 1 - 1e-12] before the logit.
    """
    import statsmodels.api as sm

    y, p = _probabilities(y_true, y_prob, "logistic_recalibration")
    y, lp = y.astype(float), _logit(p)
    alpha = 1 - confidence_level
    fit_slope = sm.GLM(y, sm.add_constant(lp), family=sm.families.Binomial()).fit()
    fit_int = sm.GLM(y, np.ones((len(y), 1)), family=sm.families.Binomial(), offset=lp).fit()
    ci_s, ci_i = fit_slope.conf_int(alpha), fit_int.conf_int(alpha)
    return {"slope": float(fit_slope.params[1]), "slope_lower": float(ci_s[1, 0]), "slope_upper": float(ci_s[1, 1]),
            "intercept": float(fit_int.params[0]), "intercept_lower": float(ci_i[0, 0]),
            "intercept_upper": float(ci_i[0, 1])}


def hosmer_lemeshow(y_true, y_prob, *, n_bins: int = 10) -> dict:
    """Hosmer-Lemeshow goodness-of-fit over quantile bins: chi-square with n_bins - 2 df.

    H = sum over bins of (O - E)^2 / (E (1 - E / n_bin)), E the sum of predicted probabilities.

    Examples
    --------
    >>> r = hosmer_lemeshow([0, 0, 1, 1, 0, 1, 1, 0, 1, 1], [.1, .2, .3, .4, .5, .6, .7, .8, .9, .95], n_bins=5)
    >>> r["df"]
    3
    """
    from scipy.stats import chi2

    y, p = _probabilities(y_true, y_prob, "hosmer_lemeshow")
    y = y.astype(float)
    ids = _bin_ids(p, n_bins, "quantile")
    n = np.bincount(ids, minlength=n_bins)
    o = np.bincount(ids, weights=y, minlength=n_bins)
    e = np.bincount(ids, weights=p, minlength=n_bins)
    used = n > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = (o - e) ** 2 / (e * (1 - e / n))
    stat = float(np.nansum(terms[used]))
    df = int(used.sum()) - 2
    return {"statistic": stat, "df": df, "p_value": float(chi2.sf(stat, df)) if df > 0 else np.nan}


def _lowess(y: np.ndarray, p: np.ndarray, at: np.ndarray, frac: float) -> np.ndarray:
    from statsmodels.nonparametric.smoothers_lowess import lowess

    return np.clip(lowess(y, p, frac=frac, it=0, xvals=at), 0, 1)


class CalibrationCurve:
    """Calibration of predicted probabilities (binary outcome) or predicted survival at a time t.

    Build with :meth:`from_predictions` or :meth:`from_survival`. Attributes: ``bins`` (group, bin, n,
    predicted, observed, lower, upper), ``smooth`` (group, predicted, observed, lower, upper; binary only),
    ``stats`` (one row per group: n, brier, slope and intercept with CIs, Hosmer-Lemeshow, ICI, E50,
    E90, Emax), ``kind`` ("binary" or "survival"), ``time`` (survival only).
    """

    def __init__(self, **values):
        self.__dict__.update(values)

    @classmethod
    def from_predictions(cls, y_true, y_prob, *, groups=None, n_bins: int = 10, strategy: str = "quantile",
                         frac: float = 2 / 3, n_bootstraps: int = 200, confidence_level: float = 0.95,
                         random_state=None, pos_label=None) -> "CalibrationCurve":
        """Binned curve (Wilson CIs), lowess curve (bootstrap percentile band) and summary statistics.

        The lowess smoother (statsmodels, no robustness iterations) of y on p gives the smoothed curve;
        ICI is the mean |smoothed(p) - p| over cases, E50 / E90 / Emax its median, 90th percentile and
        maximum (Austin & Steyerberg 2019). ``groups`` (e.g. centre) gives one curve and row per group.

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> p = rng.uniform(0.05, 0.95, 400); y = rng.random(400) < p
        >>> cal = CalibrationCurve.from_predictions(y, p, n_bootstraps=0)
        >>> bool(abs(cal.stats.slope.iloc[0] - 1) < 0.4), cal.bins.shape[0]
        (True, 10)
        """
        owner = "CalibrationCurve.from_predictions"
        y, p = _probabilities(y_true, y_prob, owner, pos_label=pos_label)
        level = check_level(confidence_level, owner)
        g = np.full(len(p), "all", dtype=object) if groups is None else as_groups(groups, owner, len(p))
        rng = np.random.default_rng(random_state)
        bins, smooth, stats = [], [], []
        for label in np.unique(g):
            sel = g == label
            yy, pp = y[sel].astype(float), p[sel]
            ids = _bin_ids(pp, n_bins, strategy)
            n = np.bincount(ids, minlength=n_bins)
            obs = np.bincount(ids, weights=yy, minlength=n_bins)
            pred = np.bincount(ids, weights=pp, minlength=n_bins)
            used = n > 0
            lo, hi = wilson_interval(obs[used], n[used], level)
            bins.append(pd.DataFrame({"group": label, "bin": np.flatnonzero(used), "n": n[used],
                                      "predicted": pred[used] / n[used], "observed": obs[used] / n[used],
                                      "lower": lo, "upper": hi}))
            row = {"group": label, "n": int(sel.sum()), "brier": float(np.mean((pp - yy) ** 2))}
            if 0 < yy.sum() < len(yy):
                row.update(logistic_recalibration(yy, pp, confidence_level=level))
                row.update({f"hl_{k}": v for k, v in hosmer_lemeshow(yy, pp, n_bins=n_bins).items()})
                fitted = _lowess(yy, pp, pp, frac)
                err = np.abs(fitted - pp)
                row.update({"ici": float(err.mean()), "e50": float(np.median(err)),
                            "e90": float(np.percentile(err, 90)), "emax": float(err.max())})
                grid = np.linspace(*np.percentile(pp, [1, 99]), 50)
                curve = _lowess(yy, pp, grid, frac)
                band_lo = band_hi = np.full(len(grid), np.nan)
                if n_bootstraps:
                    boots = []
                    for _ in range(n_bootstraps):
                        idx = rng.integers(0, len(pp), len(pp))
                        boots.append(_lowess(yy[idx], pp[idx], grid, frac))
                    band_lo, band_hi = np.nanpercentile(np.array(boots), [50 * (1 - level), 50 * (1 + level)], axis=0)
                smooth.append(pd.DataFrame({"group": label, "predicted": grid, "observed": curve,
                                            "lower": band_lo, "upper": band_hi}))
            stats.append(row)
        return cls(kind="binary", time=None, bins=pd.concat(bins, ignore_index=True),
                   smooth=pd.concat(smooth, ignore_index=True) if smooth else None, stats=pd.DataFrame(stats),
                   confidence_level=level)

    @classmethod
    def from_survival(cls, durations, event_observed, predicted_survival, *, time: float, groups=None,
                      n_bins: int = 10, strategy: str = "quantile",
                      confidence_level: float = 0.95) -> "CalibrationCurve":
        """Predicted survival at ``time`` vs Kaplan-Meier observed survival at ``time`` per bin of prediction.

        Observed survival and its CI (exponential Greenwood) come from a KM fit within each bin (NaN for a
        bin whose follow-up ends before ``time``).
        ``stats`` holds, per group, the mean predicted and the KM observed survival at ``time`` over all
        cases, and ``ici``: the case-weighted mean |observed - predicted| over bins.

        Examples
        --------
        >>> import numpy as np
        >>> t = np.arange(1, 41.0); e = np.tile([1, 0], 20); s = np.linspace(0.9, 0.1, 40)
        >>> CalibrationCurve.from_survival(t, e, s, time=10, n_bins=4).bins.shape[0]
        4
        """
        owner = "CalibrationCurve.from_survival"
        t, e = survival_inputs(durations, event_observed, owner)
        s = as_1d(predicted_survival, "predicted_survival", owner)
        same_length(owner, durations=t, predicted_survival=s)
        if s.min() < 0 or s.max() > 1:
            raise InputError(f"The 'predicted_survival' parameter of {owner} must be probabilities in [0, 1]. Got "
                             f"range [{s.min()}, {s.max()}] instead.")
        time = check_time(time, "time", owner)
        level = check_level(confidence_level, owner)
        g = np.full(len(t), "all", dtype=object) if groups is None else as_groups(groups, owner, len(t))
        bins, stats = [], []
        for label in np.unique(g):
            sel = g == label
            ids = _bin_ids(s[sel], n_bins, strategy)
            rows = []
            for b in np.unique(ids):
                inb = ids == b
                tab = km_estimate(t[sel][inb], e[sel][inb], level)
                k = np.searchsorted(tab.time.to_numpy(), time, side="right") - 1
                obs = tab.iloc[k][["survival", "lower", "upper"]].to_numpy(float)
                if t[sel][inb].max() < time:  # follow-up ends before time: not estimable (as dcurves)
                    obs[:] = np.nan
                rows.append({"group": label, "bin": int(b), "n": int(inb.sum()), "predicted": s[sel][inb].mean(),
                             "observed": obs[0], "lower": obs[1], "upper": obs[2]})
            frame = pd.DataFrame(rows)
            overall = km_estimate(t[sel], e[sel], level)
            k = np.searchsorted(overall.time.to_numpy(), time, side="right") - 1
            stats.append({"group": label, "n": int(sel.sum()), "mean_predicted": float(s[sel].mean()),
                          "observed": float(overall.survival.iloc[k]),
                          "ici": float(np.average(np.abs(ok.observed - ok.predicted), weights=ok.n))
                          if len(ok := frame.dropna(subset=["observed"])) else np.nan})
            bins.append(frame)
        return cls(kind="survival", time=time, bins=pd.concat(bins, ignore_index=True), smooth=None,
                   stats=pd.DataFrame(stats), confidence_level=level)

    def to_frame(self) -> pd.DataFrame:
        """The binned curve (tidy)."""
        return self.bins.copy()

    def plot(self, *, show_smooth: bool = True, **opts):
        """HoloViews overlay: binned points with CI bars, smoothed curve and band, and the diagonal."""
        from ._plotting import holoviews

        hv = holoviews()
        what = "survival" if self.kind == "survival" else "probability"
        kx, ky = f"Predicted {what}", f"Observed {what}"
        layers = [hv.Curve(([0, 1], [0, 1]), kx, ky).opts(color="grey", line_dash="dashed")]
        for label, b in self.bins.groupby("group", sort=False):
            layers.append(hv.ErrorBars((b.predicted, b.observed, b.observed - b.lower, b.upper - b.observed),
                                       kx, [ky, "neg", "pos"]))
            layers.append(hv.Scatter((b.predicted, b.observed), kx, ky, label=str(label)).opts(size=7))
        if show_smooth and self.smooth is not None:
            for label, sm in self.smooth.groupby("group", sort=False):
                if sm.lower.notna().all():
                    layers.append(hv.Area((sm.predicted, sm.lower, sm.upper), kx, [ky, "upper"]).opts(alpha=0.2))
                layers.append(hv.Curve((sm.predicted, sm.observed), kx, ky, label=f"{label} (lowess)"))
        overlay = hv.Overlay(layers)
        return overlay.opts(**opts) if opts else overlay
