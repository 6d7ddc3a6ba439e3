"""ROC curve with DeLong and bootstrap CIs, curve band, Youden threshold and threshold metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd

from radlab.errors import InputError

from ._bootstrap import bootstrap_auc, percentile_ci
from ._checks import as_1d, as_binary, check_level, same_length, z_value
from ._delong import delong_auc_variance

__all__ = ["RocCurve", "threshold_metrics", "wilson_interval"]


def wilson_interval(successes, trials, confidence_level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a binomial proportion (NaN where ``trials`` is 0).

    Examples
    --------
    >>> lo, hi = wilson_interval(8, 10)
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.4902, 0.9433)
    """
    k = np.asarray(successes, float)
    n = np.asarray(trials, float)
    z = z_value(confidence_level)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return centre - half, centre + half


def _roc_points(pos: np.ndarray, score: np.ndarray):
    """fpr, tpr, thresholds at every distinct score (decreasing), starting at (0, 0, inf) like sklearn."""
    order = np.argsort(-score, kind="stable")
    s = score[order]
    p = pos[order]
    last = np.r_[np.flatnonzero(s[1:] != s[:-1]), len(s) - 1]
    tp = np.cumsum(p)[last]
    fp = (last + 1) - tp
    tpr = np.r_[0.0, tp / p.sum()]
    fpr = np.r_[0.0, fp / (~p).sum()]
    return fpr, tpr, np.r_[np.inf, s[last]]


def threshold_metrics(y_true, y_score, threshold: float, *, pos_label=None, confidence_level: float = 0.95,
                      n_bootstraps: int = 1000, random_state=None) -> pd.DataFrame:
    """Sensitivity, specificity, PPV, NPV, F1 and accuracy at ``score >= threshold``, with CIs.

    Proportions (sensitivity, specificity, PPV, NPV, accuracy) get Wilson score intervals;
    F1 (not a proportion) gets a percentile bootstrap interval over ``n_bootstraps`` case resamples.
    Fit the threshold on one set (e.g. ``RocCurve.youden()`` on training) and apply it here.

    Examples
    --------
    >>> t = threshold_metrics([0, 0, 1, 1], [0.1, 0.6, 0.7, 0.9], 0.65, random_state=0)
    >>> t.set_index("metric").loc["sensitivity", "value"], t.set_index("metric").loc["specificity", "value"]
    (np.float64(1.0), np.float64(1.0))
    """
    owner = "threshold_metrics"
    pos = as_binary(y_true, "y_true", owner, pos_label=pos_label, require_both=False)
    score = as_1d(y_score, "y_score", owner)
    same_length(owner, y_true=pos, y_score=score)
    level = check_level(confidence_level, owner)
    if not np.isfinite(threshold):
        raise InputError(f"The 'threshold' parameter of {owner} must be a finite number. Got {threshold!r} instead.")
    pred = score >= threshold
    tp, fp = int((pred & pos).sum()), int((pred & ~pos).sum())
    fn, tn = int((~pred & pos).sum()), int((~pred & ~pos).sum())
    rows = {
        "sensitivity": (tp, tp + fn), "specificity": (tn, tn + fp), "ppv": (tp, tp + fp),
        "npv": (tn, tn + fn), "accuracy": (tp + tn, len(pos)),
    }
    out = []
    for name, (k, n) in rows.items():
        lo, hi = wilson_interval(k, n, level)
        out.append((name, k / n if n else np.nan, float(lo), float(hi), "wilson"))
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else np.nan
    rng = np.random.default_rng(random_state)
    idx = rng.integers(0, len(pos), size=(n_bootstraps, len(pos)))
    bp, bpred = pos[idx], pred[idx]
    btp = (bp & bpred).sum(1)
    denom = 2 * btp + (bpred & ~bp).sum(1) + (~bpred & bp).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        bf1 = 2 * btp / denom
    lo, hi = percentile_ci(bf1[np.isfinite(bf1)], level)
    out.append(("f1", f1, lo, hi, "bootstrap"))
    frame = pd.DataFrame(out, columns=["metric", "value", "lower", "upper", "ci_method"])
    frame["threshold"] = threshold
    return frame


class RocCurve:
    """ROC curve of one score with AUC, DeLong and bootstrap CIs and a bootstrap band for the curve.

    Build with :meth:`from_predictions`. Attributes: ``fpr``, ``tpr``, ``thresholds`` (every distinct
    score, decreasing, first ``inf`` as in ``sklearn.metrics.roc_curve(drop_intermediate=False)``),
    ``auc``, ``auc_se`` (DeLong), ``ci_delong``, ``ci_bootstrap``, ``bootstrap_aucs``,
    ``n_bootstraps``, ``n_skipped`` (resamples with a single class, only when not stratified),
    ``band`` (DataFrame fpr, tpr_lower, tpr_upper: pointwise percentile band of sensitivity at fixed
    false-positive rates), ``n_positive``, ``n_negative``, ``name``.
    """

    def __init__(self, **values):
        self.__dict__.update(values)

    @classmethod
    def from_predictions(cls, y_true, y_score, *, pos_label=None, name: str = "model", n_bootstraps: int = 2000,
                         stratified: bool = True, confidence_level: float = 0.95, random_state=None,
                         band_points: int = 101) -> "RocCurve":
        """Compute the curve, AUC and its CIs.

        Parameters
        ----------
        y_true : array-like of shape (n,)
            Binary outcome; both classes required.
        y_score : array-like of shape (n,)
            Score, higher = more likely positive; NaN raises (drop those cases first).
        n_bootstraps : int
            Resamples for the bootstrap CI and band (0 skips the bootstrap).
        stratified : bool
            Resample positives and negatives separately (default). When False, resamples with a single
            class are skipped and counted in ``n_skipped``.

        Examples
        --------
        >>> roc = RocCurve.from_predictions([0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.2, 0.9],
        ...                                 n_bootstraps=200, random_state=0)
        >>> round(roc.auc, 4), roc.youden()
        (0.8889, np.float64(0.35))
        """
        owner = "RocCurve.from_predictions"
        pos = as_binary(y_true, "y_true", owner, pos_label=pos_label)
        score = as_1d(y_score, "y_score", owner)
        same_length(owner, y_true=pos, y_score=score)
        level = check_level(confidence_level, owner)
        fpr, tpr, thresholds = _roc_points(pos, score)
        auc, var = delong_auc_variance(pos, score)
        se = float(np.sqrt(var))
        z = z_value(level)
        grid = np.linspace(0, 1, band_points)
        boot, skipped, band = np.array([]), 0, None
        if n_bootstraps:
            rng = np.random.default_rng(random_state)
            boot, skipped, band = bootstrap_auc(pos, score, n_resamples=n_bootstraps, stratified=stratified,
                                                rng=rng, fpr_grid=grid)
        if band is not None:
            lo, hi = np.percentile(band, [50 * (1 - level), 50 * (1 + level)], axis=0)
            band = pd.DataFrame({"fpr": grid, "tpr_lower": lo, "tpr_upper": hi})
        return cls(
            name=name, fpr=fpr, tpr=tpr, thresholds=thresholds, auc=auc, auc_se=se,
            ci_delong=(max(0.0, auc - z * se), min(1.0, auc + z * se)), ci_bootstrap=percentile_ci(boot, level),
            bootstrap_aucs=boot, n_bootstraps=n_bootstraps, n_skipped=skipped, band=band,
            confidence_level=level, n_positive=int(pos.sum()), n_negative=int((~pos).sum()),
            stratified=stratified, _pos=pos, _score=score, _random_state=random_state,
        )

    def youden(self) -> float:
        """Threshold maximising sensitivity + specificity - 1 (first, i.e. highest, on ties)."""
        j = self.tpr - self.fpr
        k = int(np.argmax(j[1:])) + 1  # skip the (0, 0, inf) point
        return self.thresholds[k]

    def metrics(self, threshold: float | None = None) -> pd.DataFrame:
        """:func:`threshold_metrics` on this curve's cases at ``threshold`` (default: this curve's Youden).

        To apply a threshold fitted elsewhere: ``roc_test.metrics(roc_train.youden())``.
        """
        threshold = self.youden() if threshold is None else threshold
        return threshold_metrics(self._pos, self._score, threshold, confidence_level=self.confidence_level,
                                 random_state=self._random_state)

    def confusion_matrix(self, threshold: float | None = None) -> pd.DataFrame:
        """2x2 counts at ``score >= threshold``: rows actual (negative, positive), columns predicted."""
        threshold = self.youden() if threshold is None else threshold
        pred = self._score >= threshold
        pos = self._pos
        return pd.DataFrame(
            [[int((~pred & ~pos).sum()), int((pred & ~pos).sum())], [int((~pred & pos).sum()), int((pred & pos).sum())]],
            index=pd.Index(["negative", "positive"], name="actual"),
            columns=pd.Index(["negative", "positive"], name="predicted"),
        )

    def summary(self) -> pd.DataFrame:
        """One row: AUC with DeLong and bootstrap CIs and the counts."""
        return pd.DataFrame([{
            "model": self.name, "auc": self.auc, "se_delong": self.auc_se,
            "delong_lower": self.ci_delong[0], "delong_upper": self.ci_delong[1],
            "bootstrap_lower": self.ci_bootstrap[0], "bootstrap_upper": self.ci_bootstrap[1],
            "n_bootstraps": self.n_bootstraps, "n_skipped": self.n_skipped,
            "n_positive": self.n_positive, "n_negative": self.n_negative,
        }])

    def to_frame(self) -> pd.DataFrame:
        """Tidy curve: model, threshold, fpr, tpr, specificity."""
        return pd.DataFrame({"model": self.name, "threshold": self.thresholds, "fpr": self.fpr, "tpr": self.tpr,
                             "specificity": 1 - self.fpr})

    def plot(self, *, color: str | None = None, show_band: bool = True, show_chance: bool = True,
             label: str | None = None, **opts):
        """HoloViews overlay: the curve, its bootstrap band and the chance diagonal. ``label`` names the curve in
        the legend (default: name and AUC; a fixed label lets a live view update the curve in place)."""
        from ._plotting import holoviews

        hv = holoviews()

        label = f"{self.name} (AUC {self.auc:.3f})" if label is None else label
        curve = hv.Curve((self.fpr, self.tpr), "False positive rate", "True positive rate", label=label)
        if color:
            curve = curve.opts(color=color)
        layers = []
        if show_band and self.band is not None:
            area = hv.Area((self.band.fpr, self.band.tpr_lower, self.band.tpr_upper),
                           kdims="False positive rate", vdims=["True positive rate", "tpr_upper"], label=label)
            layers.append(area.opts(alpha=0.2, **({"color": color} if color else {})))
        layers.append(curve)
        if show_chance:
            layers.append(hv.Curve(([0, 1], [0, 1]), "False positive rate", "True positive rate").opts(
                color="grey", line_dash="dashed"))
        return hv.Overlay(layers).opts(**opts) if opts else hv.Overlay(layers)
