"""SHAP page: global importance and a per-case waterfall of a radiomics model, explained through the whole
fitted pipeline by :func:`radlab.explain.explain` (the right explainer chosen automatically)."""

from __future__ import annotations

import pandas as pd
import panel as pn
import param

from radlab.ui._inputs import Pseudonymiser

__all__ = ["ShapPage", "ShapStore"]


class ShapStore(param.Parameterized):
    """A :class:`radlab.explain.ShapExplanation`; the case explained and how many features are shown."""

    case = param.Selector(objects={}, doc="case explained (pseudonymised)")
    feature = param.Selector(objects=[], doc="feature of the dependence plot")
    top = param.Integer(default=12, bounds=(3, 40), doc="features shown")

    def __init__(self, explanation, *, pseudonymiser: Pseudonymiser | None = None, **params):
        self.explanation = explanation
        name = pseudonymiser or Pseudonymiser()
        cases = [str(c) for c in explanation.values.index]
        self.labels = {c: name(c) for c in cases}
        self.param.case.objects = {label: c for c, label in self.labels.items()}
        ranked = list(self.importance().index)
        self.param.feature.objects = ranked
        params.setdefault("case", cases[0])
        params.setdefault("feature", ranked[0])
        super().__init__(**params)

    @classmethod
    def from_pipeline(cls, pipeline, X: pd.DataFrame, **params) -> ShapStore:
        from radlab.explain import explain

        return cls(explain(pipeline, X), **params)

    def importance(self) -> pd.Series:
        """Mean |SHAP| per feature, largest first."""
        return self.explanation.values.abs().mean().sort_values(ascending=False)

    def _case_key(self):
        index = self.explanation.values.index
        return index[index.astype(str).get_loc(self.case)]

    def case_explanation(self) -> pd.DataFrame:
        """The chosen case's contributions, from the base value (largest |SHAP| first)."""
        return self.explanation.waterfall(self._case_key(), max_features=self.top).to_frame()

    def summary_plot(self):
        return self.explanation.summary(max_features=self.top).plot(title="Mean |SHAP|")

    def case_plot(self):
        w = self.explanation.waterfall(self._case_key(), max_features=self.top)
        # the result's own title names the case id: viewers see the pseudonym instead
        return w.plot().opts(title=f"Case {self.labels[self.case]}: {w.base_value:.3g} -> {w.output_value:.3g}")

    def dependence_plot(self):
        return self.explanation.dependence(self.feature).plot(title=f"Dependence: {self.feature[-40:]}")

    def figures(self) -> dict:
        return {"SHAP summary": self.summary_plot(), "Mean |SHAP|": self.importance().rename("mean_abs_shap").to_frame(),
                "Case explanation": self.case_plot(), "Dependence": self.dependence_plot()}


class ShapPage(pn.viewable.Viewer):
    """SHAP global and per-case views over a :class:`ShapStore`."""

    def __init__(self, store: ShapStore, **params):
        self.store = store
        super().__init__(**params)

    @param.depends("store.top")
    def _summary(self):
        return pn.pane.HoloViews(self.store.summary_plot(), linked_axes=False)

    @param.depends("store.case", "store.top")
    def _case(self):
        return pn.pane.HoloViews(self.store.case_plot(), linked_axes=False)

    @param.depends("store.feature")
    def _dependence(self):
        return pn.pane.HoloViews(self.store.dependence_plot(), linked_axes=False)

    def __panel__(self):
        s = self.store
        e = s.explanation
        return pn.Column(
            pn.pane.Markdown(f"## SHAP\n{e.explainer.capitalize()} SHAP of the whole fitted pipeline on "
                             f"{len(e.values)} cases, in units of the model's {e.output}; values are credited to "
                             "the input features.", sizing_mode="stretch_width"),
            pn.Row(pn.widgets.Select.from_param(s.param.case, width=220),
                   pn.widgets.IntSlider.from_param(s.param.top, width=220),
                   pn.widgets.Select.from_param(s.param.feature, width=320)),
            pn.Row(self._summary, self._case), self._dependence, sizing_mode="stretch_width")
