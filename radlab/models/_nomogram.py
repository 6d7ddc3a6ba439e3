"""Nomogram (points table and plot) for a fitted logistic or Cox model on original feature units."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from radlab.results import Result

__all__ = ["Nomogram"]


def _unwrap(estimator):
    """Final linear model and the (scale, mean) of a StandardScaler before it, if any."""
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    scale = mean = None
    if isinstance(estimator, Pipeline):
        pre = [s for _, s in estimator.steps[:-1] if s != "passthrough" and s is not None]
        if len(pre) > 1 or (pre and not isinstance(pre[0], StandardScaler)):
            raise ValueError("Nomogram supports a linear model alone or after a single StandardScaler. "
                             f"Got preprocessing steps {[type(s).__name__ for s in pre]} instead.")
        if pre:
            scale, mean = pre[0].scale_, pre[0].mean_
        estimator = estimator.steps[-1][1]
    if not hasattr(estimator, "coef_"):
        raise ValueError(f"Nomogram needs a fitted linear model with coef_. Got {type(estimator).__name__} instead.")
    return estimator, scale, mean


@dataclass(frozen=True, eq=False)
class Nomogram(Result):
    """Points per variable, total points and the predicted risk they map to (Display pattern).

    Built with :meth:`from_estimator`. Fields: ``kind`` ("logistic" | "cox"), ``coef`` (Series: per unit of the
    original variables), ``intercept``, ``ranges`` (DataFrame variable, low, high), ``points_per_unit``,
    ``n_ticks`` (values per variable in :meth:`to_frame`), ``times`` (Cox, else None), ``baseline_survival``
    (Cox, S0 at ``times`` for a linear predictor of 0, else None). Saved and reloaded exactly with
    ``save``/``load`` (:mod:`radlab.results`).
    """

    kind: str
    coef: pd.Series
    intercept: float
    ranges: pd.DataFrame
    points_per_unit: float
    n_ticks: int = 5
    times: np.ndarray | None = None
    baseline_survival: np.ndarray | None = None

    @classmethod
    def from_estimator(cls, estimator, X: pd.DataFrame, *, times=None, n_ticks: int = 5) -> "Nomogram":
        """Nomogram of a fitted logistic regression or Cox model (optionally after a StandardScaler).

        ``X`` (training features, DataFrame) gives the variable names and the ranges drawn.
        ``times``: survival horizons for a Cox model (e.g. 1, 3, 5 years).

        Examples
        --------
        >>> from sklearn.linear_model import LogisticRegression
        >>> X = pd.DataFrame({"age": [40.0, 50, 60, 70], "size": [1.0, 3, 2, 4]})
        >>> nom = Nomogram.from_estimator(LogisticRegression().fit(X, [0, 0, 1, 1]), X)
        >>> nom.total_points(X).round(1).tolist()
        [1.0, 33.7, 67.3, 100.0]
        """
        model, scale, mean = _unwrap(estimator)
        X = pd.DataFrame(X)
        coef = np.ravel(model.coef_).astype(float)
        intercept = float(np.ravel(getattr(model, "intercept_", 0.0))[0])
        if scale is not None:
            coef = coef / scale
            intercept -= float(coef @ mean)
        kind = "logistic" if hasattr(model, "predict_proba") else "cox"
        low, high = X.min().to_numpy(float), X.max().to_numpy(float)
        spans = np.abs(coef) * (high - low)
        ppu = 100.0 / spans.max()
        out = cls(kind=kind, coef=pd.Series(coef, index=X.columns), intercept=intercept,
                  ranges=pd.DataFrame({"variable": X.columns, "low": low, "high": high}),
                  points_per_unit=float(ppu), n_ticks=n_ticks)
        if kind == "logistic":
            return out
        if times is None:
            raise ValueError("The 'times' parameter of Nomogram.from_estimator is required for a Cox model.")
        times = np.atleast_1d(np.asarray(times, float))
        x0 = X.iloc[:1]
        lp0 = float(out.linear_predictor(x0)[0])
        xm = x0.to_numpy(float) if scale is None else (x0.to_numpy(float) - mean) / scale
        if hasattr(model, "feature_names_in_"):  # a model fitted on a DataFrame is given one
            xm = pd.DataFrame(xm, columns=model.feature_names_in_)
        fns = model.predict_survival_function(xm) if not hasattr(model, "model_") else None
        s = fns[0](times) if fns is not None else model.predict_survival_function(xm, times)[0]
        return dataclasses.replace(out, times=times, baseline_survival=np.asarray(s, float) ** np.exp(-lp0))

    def _min_contribution(self):
        c = self.coef.to_numpy()
        return np.minimum(c * self.ranges.low.to_numpy(), c * self.ranges.high.to_numpy())

    def linear_predictor(self, X) -> np.ndarray:
        """Model linear predictor (log-odds, or Cox prognostic index) in original units."""
        return self.intercept + np.asarray(X, float) @ self.coef.to_numpy()

    def points(self, X) -> pd.DataFrame:
        """Points of each variable per case."""
        c = np.asarray(X, float) * self.coef.to_numpy()
        return pd.DataFrame((c - self._min_contribution()) * self.points_per_unit, columns=self.coef.index,
                            index=getattr(X, "index", None))

    def total_points(self, X) -> pd.Series:
        """Sum of the variable points per case."""
        return self.points(X).sum(axis=1)

    def risk_from_points(self, total) -> pd.DataFrame:
        """Predicted probability (logistic) or survival at each of ``times`` (Cox) for total points."""
        total = np.atleast_1d(np.asarray(total, float))
        lp = self.intercept + self._min_contribution().sum() + total / self.points_per_unit
        if self.kind == "logistic":
            return pd.DataFrame({"total_points": total, "probability": 1 / (1 + np.exp(-lp))})
        surv = self.baseline_survival[None, :] ** np.exp(lp)[:, None]
        return pd.concat([pd.DataFrame({"total_points": total}),
                          pd.DataFrame(surv, columns=[f"survival_{t:g}" for t in self.times])], axis=1)

    def to_frame(self) -> pd.DataFrame:
        """Tidy points table: variable, value, points (``n_ticks`` values across each variable's range)."""
        rows = []
        for (_, r), b in zip(self.ranges.iterrows(), self.coef.to_numpy()):
            for v in np.linspace(r.low, r.high, self.n_ticks):
                rows.append((r.variable, v, (b * v - min(b * r.low, b * r.high)) * self.points_per_unit))
        return pd.DataFrame(rows, columns=["variable", "value", "points"])

    def plot(self, *, width: int = 700, row_height: int = 40, **opts):
        """HoloViews nomogram: a points scale, one axis per variable, total points and risk axes."""
        import holoviews as hv
        import holoviews.plotting.bokeh  # noqa: F401

        table = self.to_frame()
        names = list(self.coef.index)
        rows = [("Points", np.linspace(0, 100, 11), np.linspace(0, 100, 11))]
        rows += [(n, g.points.to_numpy(), g.value.to_numpy()) for n, g in table.groupby("variable", sort=False)]
        top = float(np.ceil(self.points(self.ranges.set_index("variable")[["high", "low"]].T[names]
                                        .to_numpy()).sum(axis=1).max() / 10) * 10) or 100.0
        tp = np.linspace(0, top, 6)
        risk = self.risk_from_points(tp)
        scale = 100 / top
        rows.append(("Total points", tp * scale, tp))
        for col in risk.columns[1:]:
            rows.append((col.replace("_", " "), tp * scale, risk[col].to_numpy()))
        segs, labels = [], []
        for i, (name, xs, vals) in enumerate(rows):
            y = -i
            segs.append((float(np.min(xs)), y, float(np.max(xs)), y))
            labels += [(float(x), y + 0.25, f"{v:.3g}") for x, v in zip(xs, vals)]
            labels.append((-3.0, y, name))
        seg = hv.Segments(segs, kdims=["x0", "y0", "x1", "y1"]).opts(color="black")
        ticks = hv.Labels([(x, y, t) for x, y, t in labels if x >= 0], ["x", "y"], "text").opts(text_font_size="8pt")
        names_el = hv.Labels([(x, y, t) for x, y, t in labels if x < 0], ["x", "y"], "text").opts(
            text_align="right", text_font_size="9pt")
        return (seg * ticks * names_el).opts(width=width, height=row_height * (len(rows) + 1), xaxis=None,
                                              yaxis=None, title=f"Nomogram ({self.kind})", **opts)
