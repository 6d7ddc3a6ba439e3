"""Survival page: risk groups by a cut-off fitted on training rows and frozen, KM with numbers at risk,
log-rank p, hazard ratio, C-index with CI and time-dependent AUC."""

from __future__ import annotations

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the bokeh backend that .opts() styles)
import numpy as np
import pandas as pd
import panel as pn
import param

from radlab.evaluation import KaplanMeier, RiskGroups, TimeDependentAuc, concordance_index, cox_univariate
from radlab.errors import InputError
from radlab.ui._store import AVERAGING_NOTE, PredictionStore, ProblemPanes, placeholder, widget_column

__all__ = ["SurvivalPage", "SurvivalStore"]

GROUP_NAMES = np.array(["low risk", "high risk"], dtype=object)


class SurvivalStore(PredictionStore):
    """Survival state: selection, cut-off method (fitted on the training rows via RiskGroups, then frozen).

    A split without events has Kaplan-Meier curves but no log-rank test, hazard ratio, C-index or AUC(t): the
    page says "not estimable: no events in <split>"; a cut-off that cannot be fitted says why.
    """

    cutoff_method = param.Selector(objects=["median", "percentile", "youden", "fixed"], default="median",
                                   doc="how the high/low risk cut-off is fitted on the training rows")
    percentile = param.Number(default=75.0, bounds=(1.0, 99.0), doc="training percentile ('percentile')")
    horizon = param.Number(default=1.0, bounds=(0, None), doc="time t for 'youden' (event by t)")
    cutoff = param.Number(default=0.0, doc="cut-off on the risk score ('fixed')")
    n_bootstraps = param.Integer(default=500, bounds=(0, 5000), doc="bootstrap resamples (C-index, AUC(t))")

    def __init__(self, predictions: pd.DataFrame, **params):
        super().__init__(predictions, outcome="survival", **params)
        self._on_model()

    @param.depends("cohort", "model", watch=True)
    def _on_model(self):
        rows, _ = self.fit_rows()
        with param.parameterized.batch_call_watchers(self):
            self.horizon = float(np.round(np.median(rows.time), 2))
            self.cutoff = float(np.round(np.median(rows.score), 3))

    def _cutoff_key(self) -> tuple:
        arg = {"percentile": self.percentile, "youden": self.horizon, "fixed": self.cutoff}.get(self.cutoff_method)
        return self.cohort, self.model, self.cutoff_method, arg

    def risk_groups(self) -> RiskGroups:
        """RiskGroups fitted on the training (out-of-fold) rows, cached per method and its parameter."""
        def compute():
            from sksurv.util import Surv

            rows, _ = self.fit_rows()
            rg = RiskGroups(method=self.cutoff_method, percentile=self.percentile, time=self.horizon,
                            cutoff=self.cutoff)
            y = Surv.from_arrays(rows.event.astype(bool), rows.time) if self.cutoff_method == "youden" else None
            return rg.fit(rows[["score"]].to_numpy(), y)
        return self.cached(("groups", *self._cutoff_key()), compute)

    def cutoff_problem(self) -> str | None:
        """Why the cut-off cannot be fitted (e.g. "youden" without cases by the horizon), or None."""
        try:
            self.risk_groups()
        except InputError as exc:
            return f"cut-off not estimable: {exc}"
        return None

    def groups(self) -> np.ndarray:
        """"low risk" / "high risk" for the chosen split's cases, by the frozen cut-off."""
        return GROUP_NAMES[self.risk_groups().transform(self.rows()[["score"]].to_numpy()).ravel()]

    def kaplan_meier(self) -> KaplanMeier:
        """KM by risk group on the chosen split, cached per selection and cut-off."""
        def compute():
            rows = self.rows()
            return KaplanMeier.from_survival(rows.time, rows.event.astype(bool), groups=self.groups())
        return self.cached(("km", self.split, *self._cutoff_key()), compute)

    def hazard_ratio(self) -> pd.Series | None:
        """Cox HR of high vs low risk (Efron ties, Wald CI; None when a group is empty or has no events)."""
        def compute():
            rows = self.rows()
            high = (self.groups() == "high risk").astype(float)
            if high.min() == high.max():
                return None
            try:
                return cox_univariate(rows.time, rows.event, high)
            except ValueError:  # e.g. no event in one group: no finite hazard ratio
                return None
        return self.cached(("hr", self.split, *self._cutoff_key()), compute)

    def concordance(self):
        """Harrell's C with a bootstrap CI, or None when the selection is not estimable."""
        if self.not_estimable():
            return None
        rows = self.rows()
        return self.cached(("cindex", self.cohort, self.split, self.model, self.n_bootstraps), lambda: concordance_index(
            rows.time, rows.event.astype(bool), rows.score, n_bootstraps=self.n_bootstraps, random_state=0))

    def td_auc(self) -> TimeDependentAuc | None:
        """AUC(t) at the 25th, 50th and 75th percentiles of the event times of the chosen split (None when not
        estimable)."""
        rows = self.rows()
        if self.not_estimable():
            return None

        def compute():
            t, e = rows.time.to_numpy(), rows.event.to_numpy().astype(bool)
            times = np.unique(np.round(np.percentile(t[e], [25, 50, 75]), 2))
            times = times[(times > t.min()) & (times < t.max())]
            if not len(times):
                return None
            return TimeDependentAuc.from_survival(t, e, rows.score, times, n_bootstraps=min(self.n_bootstraps, 200),
                                                  random_state=0, name=self.model)
        return self.cached(("tdauc", self.cohort, self.split, self.model, self.n_bootstraps), compute)

    # ------------------------------------------------------------------ figures
    @param.depends("cohort", "split", "model", "cutoff_method", "percentile", "horizon", "cutoff")
    def km_plot(self):
        if msg := self.km_problem():
            return placeholder(f"Kaplan-Meier · {self.model}: {msg}", "Time", "Survival")
        return self.kaplan_meier().plot().opts(frame_width=460, frame_height=340, legend_position="top_right",
                                               title=f"Kaplan-Meier · {self.model} · {self.split}")

    def km_problem(self) -> str | None:
        """Why there are no Kaplan-Meier curves (no rows in the split, or no cut-off), or None."""
        msg = self.not_estimable()
        return msg if msg and "no usable rows" in msg else self.cutoff_problem()

    def at_risk_table(self) -> pd.DataFrame:
        return pd.DataFrame() if self.km_problem() else self.kaplan_meier().at_risk_table()

    def figures(self) -> dict:
        td, c = self.td_auc(), self.concordance()
        out = {"Kaplan-Meier": self.km_plot(), "Numbers at risk": self.at_risk_table(),
               "C-index": c.to_frame() if c is not None else pd.DataFrame(
                   [{"estimate": np.nan, "problem": self.not_estimable()}])}
        if td is not None:
            out["Time-dependent AUC"] = td.plot()
        if len(problems := self.selection_problems()):
            out["Input problems"] = problems
        return out


class SurvivalPage(ProblemPanes, pn.viewable.Viewer):
    """Survival page over a :class:`SurvivalStore` (or a predictions table)."""

    def __init__(self, store: SurvivalStore | pd.DataFrame, **params):
        self.store = store if isinstance(store, SurvivalStore) else SurvivalStore(store)
        super().__init__(**params)

    _SELECTION = ("store.cohort", "store.split", "store.model", "store.cutoff_method", "store.percentile",
                  "store.horizon", "store.cutoff")

    @param.depends(*_SELECTION)
    def _summary(self) -> str:
        s = self.store
        if msg := s.km_problem():
            return f"**{s.model} · {s.split}: {msg}**"
        km = s.kaplan_meier()
        hr = s.hazard_ratio()
        _, fitted_on = s.fit_rows()
        lr = (f"log-rank p = {km.logrank.p_value:.3g}" if km.logrank is not None else
              f"log-rank: {s.not_estimable() or 'not estimable (one group only, or no overlap in follow-up)'}")
        hr_text = (f"HR high vs low {hr.hr:.2f} (95% CI {hr.hr_lower:.2f}–{hr.hr_upper:.2f})" if hr is not None
                   else "HR: not estimable (a group is empty or has no events)")
        return (f"Cut-off **{s.risk_groups().cutoff_[0]:.3g}** ({s.cutoff_method}, fitted on the {fitted_on}, "
                f"frozen) · {lr} · {hr_text}")

    @param.depends(*_SELECTION)
    def _at_risk(self) -> pd.DataFrame:
        return self.store.at_risk_table()

    @param.depends("store.cohort", "store.split", "store.model", "store.n_bootstraps")
    def _discrimination(self):
        s = self.store
        c = s.concordance()
        td = s.td_auc()
        if c is None:
            return pn.Column(pn.pane.Markdown(f"**Harrell C-index: {s.not_estimable()}**"))
        parts = [pn.pane.Markdown(f"**Harrell C-index {c.estimate:.3f}** (95% CI {c.ci_low:.3f}–{c.ci_high:.3f}, "
                                  f"{c.n_bootstraps} resamples)")]
        if td is not None:
            parts.append(pn.pane.HoloViews(td.plot().opts(frame_width=320, frame_height=220,
                                                          title="Time-dependent AUC"), linked_axes=False))
        return pn.Column(*parts)

    def __panel__(self):
        s = self.store
        widgets = widget_column(
            pn.widgets.Select.from_param(s.param.cohort), pn.widgets.Select.from_param(s.param.model),
            pn.widgets.Select.from_param(s.param.split), pn.widgets.Select.from_param(s.param.cutoff_method),
            pn.widgets.FloatSlider.from_param(s.param.percentile, step=1.0),
            pn.widgets.FloatInput.from_param(s.param.horizon), pn.widgets.FloatInput.from_param(s.param.cutoff),
            pn.widgets.IntInput.from_param(s.param.n_bootstraps, step=100), width=280)
        return pn.Column(
            pn.pane.Markdown(f"## Survival\nRisk score = the model's score (higher = earlier event). {AVERAGING_NOTE}",
                             sizing_mode="stretch_width"),
            pn.Row(widgets, pn.Column(self._km(), self._discrimination)), self._problem_table,
            sizing_mode="stretch_width")

    def _km(self):
        """Panes that update in place (no new Bokeh models when a widget moves): summary, KM plot, at-risk table."""
        return pn.Column(pn.pane.Markdown(self._summary, sizing_mode="stretch_width"),
                         pn.pane.Markdown(self._problems, sizing_mode="stretch_width"),
                         pn.pane.HoloViews(hv.DynamicMap(self.store.km_plot), linked_axes=False),
                         pn.pane.Markdown("Numbers at risk"),
                         pn.pane.DataFrame(self._at_risk, sizing_mode="stretch_width"))
