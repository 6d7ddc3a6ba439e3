"""Calibration & decision curves page: binned / smoothed calibration, slope, intercept, Brier, per-centre
view, and net benefit against treat-all / treat-none."""

from __future__ import annotations

import warnings

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the bokeh backend that .opts() styles)
import pandas as pd
import panel as pn
import param

from radlab.errors import InputError
from radlab.evaluation import CalibrationCurve, DecisionCurve
from radlab.ui._inputs import PREDICTION_COLUMNS, selection_problem
from radlab.ui._store import AVERAGING_NOTE, PredictionStore, ProblemPanes, placeholder, widget_column

__all__ = ["CalibrationPage", "CalibrationStore"]

STAT_COLUMNS = ["group", "n", "brier", "slope", "slope_lower", "slope_upper", "intercept", "intercept_lower",
                "intercept_upper", "ici", "hl_p_value"]


class CalibrationStore(PredictionStore):
    """Calibration state: selection, binning, grouping (e.g. by centre) and the decision-curve view.

    Scores must be probabilities in [0, 1]; groups come from any extra column of the predictions table
    (``centre``, ``scanner`` ...) or the cohort. A split with one class only shows "not estimable: only one
    class in <split>" instead of its curves.
    """

    n_bins = param.Integer(default=10, bounds=(3, 20), doc="bins of predicted probability")
    strategy = param.Selector(objects=["quantile", "uniform"], default="quantile")
    show_smooth = param.Boolean(default=True, doc="lowess curve with bootstrap band")
    group_by = param.Selector(objects=[None], default=None, doc="one curve per group (e.g. centre)")
    curve = param.Selector(objects=["net_benefit", "standardized_net_benefit", "net_intervention_avoided",
                                    "clinical_impact"], default="net_benefit")

    def __init__(self, predictions: pd.DataFrame, **params):
        super().__init__(predictions, outcome="label", **params)
        extra = [c for c in self.averaged.columns if c not in PREDICTION_COLUMNS and c != "n_scores"]
        self.param.group_by.objects = [None, *extra]
        out_of_range = self.averaged[(self.averaged.score < 0) | (self.averaged.score > 1)]
        if len(out_of_range):
            raise ValueError(f"The 'predictions' parameter of {type(self).__name__} must hold probabilities in "
                             f"[0, 1]; model(s) {sorted(set(out_of_range.model))} have scores outside.")

    def calibration(self) -> CalibrationCurve:
        return self._calibration()[0]

    def warnings(self) -> list[str]:
        """Warnings raised while fitting the recalibration models (e.g. perfect separation in a small group)."""
        return [] if self.not_estimable() else self._calibration()[1]

    def _calibration(self):
        rows = self.rows()

        def compute():
            groups = None if self.group_by is None else rows[self.group_by].astype(str).to_numpy()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                cal = CalibrationCurve.from_predictions(rows.label, rows.score, groups=groups, n_bins=self.n_bins,
                                                        strategy=self.strategy, n_bootstraps=100, random_state=0)
            return cal, sorted({f"{w.category.__name__}: {w.message}" for w in caught})
        return self.cached(("cal", self.cohort, self.split, self.model, self.group_by, self.n_bins, self.strategy),
                           compute)

    def decision(self) -> DecisionCurve | str:
        """Net benefit of every model of the cohort on the chosen split's cases scored by all of them, or why it
        is not estimable (e.g. one class only)."""
        def compute():
            rows = self.averaged[(self.averaged.cohort == self.cohort) & (self.averaged.split == self.split)]
            wide = rows.pivot_table(index="case", columns="model", values="score").dropna()
            label = rows.drop_duplicates("case").set_index("case").label.loc[wide.index]
            try:
                return DecisionCurve.from_predictions(label, {m: wide[m].to_numpy() for m in wide.columns})
            except InputError as exc:
                return (selection_problem(rows.drop_duplicates("case"), "label", self.split)
                        or f"not estimable: {exc}")
        return self.cached(("dca", self.cohort, self.split), compute)

    def stats(self) -> pd.DataFrame:
        if self.not_estimable():
            return pd.DataFrame(columns=STAT_COLUMNS)
        s = self.calibration().stats
        return s[[c for c in STAT_COLUMNS if c in s]]

    @param.depends("cohort", "split", "model", "group_by", "n_bins", "strategy", "show_smooth")
    def calibration_plot(self):
        if msg := self.not_estimable():
            return placeholder(f"Calibration · {self.model}: {msg}", "Predicted probability", "Observed probability")
        return self.calibration().plot(show_smooth=self.show_smooth).opts(
            frame_width=400, frame_height=400, legend_position="bottom_right",
            title=f"Calibration · {self.model} · {self.split}")

    def decision_plot(self):
        dc = self.decision()
        if isinstance(dc, str):
            return placeholder(f"Decision curve: {dc}", "Threshold probability", "Net benefit")
        return dc.plot(kind=self.curve).opts(frame_width=420, frame_height=320,
                                                         legend_position="top_right", title="Decision curve")

    def figures(self) -> dict:
        out = {"Calibration": self.calibration_plot(), "Calibration statistics": self.stats(),
               "Decision curve": self.decision_plot()}
        if len(problems := self.selection_problems()):
            out["Input problems"] = problems
        return out


class CalibrationPage(ProblemPanes, pn.viewable.Viewer):
    """Calibration & decision curves over a :class:`CalibrationStore` (or a predictions table)."""

    def __init__(self, store: CalibrationStore | pd.DataFrame, **params):
        self.store = store if isinstance(store, CalibrationStore) else CalibrationStore(store)
        super().__init__(**params)

    _CALIBRATION = ("store.cohort", "store.split", "store.model", "store.group_by", "store.n_bins", "store.strategy")

    @param.depends(*_CALIBRATION)
    def _stats(self) -> pd.DataFrame:
        return self.store.stats().round(3)

    @param.depends(*_CALIBRATION)
    def _warnings(self) -> str:
        notes = "".join(f"\n- {w}" for w in self.store.warnings())
        return f"Warnings while fitting:{notes}" if notes else ""

    def _calibration(self):
        """Panes updated in place when a widget moves: the curve (a DynamicMap), its statistics, warnings."""
        return pn.Column(pn.pane.Markdown(self._problems, sizing_mode="stretch_width"),
                         pn.pane.HoloViews(hv.DynamicMap(self.store.calibration_plot), linked_axes=False),
                         pn.pane.DataFrame(self._stats, index=False, sizing_mode="stretch_width"),
                         pn.pane.Markdown(self._warnings))

    @param.depends("store.cohort", "store.split", "store.curve")
    def _decision(self):
        return pn.pane.HoloViews(self.store.decision_plot(), linked_axes=False)

    def __panel__(self):
        s = self.store
        widgets = widget_column(
            pn.widgets.Select.from_param(s.param.cohort), pn.widgets.Select.from_param(s.param.model),
            pn.widgets.Select.from_param(s.param.split), pn.widgets.Select.from_param(s.param.group_by),
            pn.widgets.IntSlider.from_param(s.param.n_bins), pn.widgets.RadioButtonGroup.from_param(s.param.strategy),
            pn.widgets.Checkbox.from_param(s.param.show_smooth), pn.widgets.Select.from_param(s.param.curve),
            width=280)
        return pn.Column(
            pn.pane.Markdown("## Calibration & decision curves\nSlope and intercept by logistic recalibration "
                             f"(ideal 1 and 0), Brier score, Hosmer-Lemeshow p. {AVERAGING_NOTE}",
                             sizing_mode="stretch_width"),
            pn.Row(widgets, self._calibration(), self._decision), self._problem_table, sizing_mode="stretch_width")
