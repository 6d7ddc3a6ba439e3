"""ROC page: curve with CI band, AUC with CIs, DeLong comparison, live threshold metrics and confusion matrix."""

from __future__ import annotations

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the bokeh backend that .opts() styles)
import numpy as np
import pandas as pd
import panel as pn
import param

from radlab.evaluation import RocCurve, delong_test, threshold_metrics
from radlab.ui._inputs import selection_problem
from radlab.ui._store import AVERAGING_NOTE, PredictionStore, ProblemPanes, placeholder, widget_column

__all__ = ["RocPage", "RocStore"]


class RocStore(PredictionStore):
    """ROC state: the selection, a second model to compare with and the decision threshold.

    The threshold defaults to the Youden threshold of the chosen model fitted on the training
    (out-of-fold) rows and is applied unchanged to the chosen split (their median score when those rows have
    one class only). A selection that is not estimable (one class, no rows) shows why instead of its figures.
    """

    compare = param.Selector(objects=[None], doc="second model for the paired DeLong test")
    threshold = param.Number(default=0.5, doc="test positive when score >= threshold")
    n_bootstraps = param.Integer(default=1000, bounds=(0, 10000), doc="bootstrap resamples for the CIs")

    def __init__(self, predictions: pd.DataFrame, **params):
        super().__init__(predictions, outcome="label", **params)
        self._on_model()

    @param.depends("cohort", "model", watch=True)
    def _on_model(self):
        others = [m for m in self.param.model.objects if m != self.model]
        self.param.compare.objects = [None, *others]
        if self.compare not in self.param.compare.objects:
            self.compare = None
        scores = self.averaged.score[self.averaged.cohort == self.cohort]
        self.param.threshold.softbounds = (float(scores.min()), float(scores.max()))
        self.threshold = self.youden_threshold()

    def roc(self, model: str | None = None) -> RocCurve:
        """RocCurve of a model on the chosen split, cached per (cohort, split, model, n_bootstraps)."""
        model = model or self.model
        rows = self.rows(model)
        return self.cached(("roc", self.cohort, self.split, model, self.n_bootstraps), lambda: RocCurve.from_predictions(
            rows.label, rows.score, name=model, n_bootstraps=self.n_bootstraps, random_state=0))

    def youden_threshold(self) -> float:
        """Youden threshold of the chosen model on its training (out-of-fold) rows; their median score when
        they have one class only (:meth:`fit_problem` says so)."""
        def compute():
            rows, _ = self.fit_rows()
            if self.fit_problem():
                return float(rows.score.median())
            return float(RocCurve.from_predictions(rows.label, rows.score, n_bootstraps=0).youden())
        return self.cached(("youden", self.cohort, self.model), compute)

    def fit_problem(self) -> str | None:
        """Why no Youden threshold can be fitted on the chosen model's training rows, or None."""
        rows, what = self.fit_rows()
        return selection_problem(rows, "label", f"the {what}")

    def metrics(self) -> pd.DataFrame:
        """Sensitivity, specificity, PPV, NPV, accuracy, F1 with CIs at the threshold on the chosen split
        (no rows when the selection is not estimable)."""
        rows = self.rows()
        if self.not_estimable():
            return pd.DataFrame(columns=["metric", "value", "lower", "upper", "ci_method", "threshold"])
        return threshold_metrics(rows.label, rows.score, self.threshold, n_bootstraps=200, random_state=0)

    def confusion_matrix(self) -> pd.DataFrame:
        if self.not_estimable():
            return pd.DataFrame(index=pd.Index(["negative", "positive"], name="actual"),
                                columns=pd.Index(["negative", "positive"], name="predicted"))
        return self.roc().confusion_matrix(self.threshold)

    def delong(self):
        """Paired DeLong test of the chosen model against ``compare`` on the cases both scored, or None (also
        when either selection is not estimable)."""
        if self.compare is None or self.not_estimable() or self.not_estimable(self.compare):
            return None
        def compute():
            both = self.rows().merge(self.rows(self.compare), on="case", suffixes=("_a", "_b"))
            return delong_test(both.label_a, both.score_a, both.score_b)
        return self.cached(("delong", self.cohort, self.split, self.model, self.compare), compute)

    def operating_point(self) -> tuple[float, float]:
        """(false positive rate, sensitivity) at the threshold, from the confusion matrix."""
        cm = self.confusion_matrix().to_numpy()
        return cm[0, 1] / cm[0].sum(), cm[1, 1] / cm[1].sum()

    # ------------------------------------------------------------------ figures (plain HoloViews)
    @param.depends("cohort", "split", "model", "compare", "n_bootstraps")
    def curves(self):
        # labels without the AUC (it is in the text above): a new split updates the glyphs in place
        if msg := self.not_estimable():
            return placeholder(f"ROC · {self.model}: {msg}", "False positive rate", "True positive rate")
        overlay = self.roc().plot(color="#1f77b4", label=self.model)
        if self.compare is not None and not self.not_estimable(self.compare):
            overlay = overlay * self.roc(self.compare).plot(color="#ff7f0e", show_chance=False, label=self.compare)
        return overlay.opts(legend_position="bottom_right", frame_width=420, frame_height=420,
                            title=f"ROC · {self.cohort} · {self.split}")

    @param.depends("cohort", "split", "model", "threshold")
    def marker(self):
        fpr, tpr = (np.nan, np.nan) if self.not_estimable() else self.operating_point()
        return hv.Scatter(([fpr], [tpr]), "False positive rate", "True positive rate",
                          label=f"threshold {self.threshold:.3g}").opts(size=11, color="black", marker="circle")

    def figures(self) -> dict:
        """The page's figures and tables for the current selection (for export), and the input problems."""
        auc = self.roc().summary() if not self.not_estimable() else pd.DataFrame(
            [{"model": self.model, "auc": np.nan, "problem": self.not_estimable()}])
        out = {"ROC": self.curves() * self.marker(), "AUC": auc, "Metrics at threshold": self.metrics(),
               "Confusion matrix": self.confusion_matrix()}
        if len(problems := self.selection_problems()):
            out["Input problems"] = problems
        return out


def _fmt(value, digits=3):
    return "–" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


class RocPage(ProblemPanes, pn.viewable.Viewer):
    """ROC page over a :class:`RocStore` (or a predictions table)."""

    def __init__(self, store: RocStore | pd.DataFrame, **params):
        self.store = store if isinstance(store, RocStore) else RocStore(store)
        super().__init__(**params)

    @param.depends("store.cohort", "store.split", "store.model", "store.n_bootstraps")
    def _auc(self) -> str:
        s = self.store
        if msg := s.not_estimable():
            return f"**{s.model} · {s.split}: {msg}** (no AUC)."
        roc = s.roc()
        _, fitted_on = s.fit_rows()
        if fit := s.fit_problem():
            youden = f"Threshold {s.youden_threshold():.3g}: the median score (Youden {fit})"
        else:
            youden = f"Youden threshold {s.youden_threshold():.3g} fitted on the {fitted_on} of {s.model}"
        return (f"**AUC {roc.auc:.3f}** (95% CI DeLong {_fmt(roc.ci_delong[0])}–{_fmt(roc.ci_delong[1])}, "
                f"bootstrap {_fmt(roc.ci_bootstrap[0])}–{_fmt(roc.ci_bootstrap[1])}, {roc.n_bootstraps} resamples) · "
                f"{roc.n_positive} positive, {roc.n_negative} negative cases · {youden}.")

    @param.depends("store.cohort", "store.split", "store.model", "store.compare")
    def _delong(self) -> str:
        s = self.store
        if s.compare is not None and (msg := s.not_estimable() or s.not_estimable(s.compare)):
            return f"**DeLong**: {msg}."
        d = s.delong()
        if d is None:
            return "Pick a second model to compare the AUCs (paired DeLong test)."
        return (f"**DeLong** {self.store.model} vs {self.store.compare}: ΔAUC {d.difference:+.3f} "
                f"(95% CI {d.ci_low:+.3f} to {d.ci_high:+.3f}), z = {d.statistic:.2f}, p = {d.p_value:.3g}")

    @param.depends("store.cohort", "store.split", "store.model", "store.threshold")
    def _metrics(self) -> pd.DataFrame:
        return self.store.metrics().set_index("metric")[["value", "lower", "upper"]].round(3)

    @param.depends("store.cohort", "store.split", "store.model", "store.threshold")
    def _confusion(self) -> pd.DataFrame:
        return self.store.confusion_matrix()

    def __panel__(self):
        s = self.store
        widgets = widget_column(
            pn.widgets.Select.from_param(s.param.cohort), pn.widgets.Select.from_param(s.param.model),
            pn.widgets.Select.from_param(s.param.split), pn.widgets.Select.from_param(s.param.compare),
            pn.widgets.FloatSlider.from_param(s.param.threshold, step=0.001),
            pn.widgets.IntInput.from_param(s.param.n_bootstraps, step=500), width=280)
        plot = pn.pane.HoloViews(hv.DynamicMap(s.curves) * hv.DynamicMap(s.marker), linked_axes=False)
        return pn.Column(
            pn.pane.Markdown(f"## ROC\n{AVERAGING_NOTE}", sizing_mode="stretch_width"),
            # panes whose objects are the methods above update in place when a widget moves
            pn.Row(widgets, pn.Column(pn.pane.Markdown(self._auc, sizing_mode="stretch_width"),
                                      pn.pane.Markdown(self._problems, sizing_mode="stretch_width"), plot,
                                      pn.pane.Markdown(self._delong, sizing_mode="stretch_width"),
                                      pn.Row(pn.pane.DataFrame(self._metrics, width=280),
                                             pn.pane.DataFrame(self._confusion, width=260)))),
            self._problem_table, sizing_mode="stretch_width")
