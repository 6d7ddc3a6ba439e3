"""SHAP page: global summary (mean |SHAP| per feature, beeswarm-style scatter) and a per-case explanation of a
radiomics model, explained through the whole fitted pipeline."""

from __future__ import annotations

import warnings

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the bokeh backend that .opts() styles)
import numpy as np
import pandas as pd
import panel as pn
import param

from radlab.ui._inputs import Pseudonymiser

__all__ = ["ShapPage", "ShapStore", "shap_values"]


def shap_values(pipeline, X: pd.DataFrame, *, max_cases: int = 100, background: int = 50,
                random_state: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """SHAP values of the pipeline's positive-class probability (or prediction) for up to ``max_cases`` cases.

    Model-agnostic permutation explainer over an independent masker of ``background`` training cases, so
    the explanation covers every pipeline step (scaling, harmonisation, selection). Returns (values,
    explained feature rows, base values), values and rows indexed by case.
    """
    with warnings.catch_warnings():  # shap 0.51's import uses a matplotlib API pending deprecation
        warnings.filterwarnings("ignore", "The set_(bad|over|under) function", PendingDeprecationWarning)
        import shap

    rng = np.random.default_rng(random_state)
    cases = X.index[np.sort(rng.choice(len(X), min(max_cases, len(X)), replace=False))]
    f = ((lambda d: pipeline.predict_proba(pd.DataFrame(d, columns=X.columns))[:, 1])
         if hasattr(pipeline, "predict_proba") else (lambda d: pipeline.predict(pd.DataFrame(d, columns=X.columns))))
    masker = shap.maskers.Independent(X.to_numpy(float), max_samples=background)
    explanation = shap.PermutationExplainer(f, masker, seed=random_state)(X.loc[cases].to_numpy(float), silent=True)
    values = pd.DataFrame(explanation.values, index=cases, columns=X.columns)
    return values, X.loc[cases], np.asarray(explanation.base_values)


class ShapStore(param.Parameterized):
    """A fitted pipeline and its feature table; the case explained and how many features are shown."""

    case = param.Selector(objects={}, doc="case explained (pseudonymised)")
    top = param.Integer(default=12, bounds=(3, 40), doc="features shown")

    def __init__(self, pipeline, X: pd.DataFrame, *, values: pd.DataFrame | None = None,
                 pseudonymiser: Pseudonymiser | None = None, max_cases: int = 100, **params):
        self.pipeline = pipeline
        if values is None:
            values, rows, base = shap_values(pipeline, X, max_cases=max_cases)
        else:
            rows, base = X.loc[values.index], np.zeros(len(values))
        self.values, self.rows, self.base = values, rows, base
        name = pseudonymiser or Pseudonymiser()
        self.labels = {str(c): name(str(c)) for c in values.index}
        self.param.case.objects = {label: c for c, label in self.labels.items()}
        params.setdefault("case", str(values.index[0]))
        super().__init__(**params)

    def importance(self) -> pd.Series:
        """Mean |SHAP| per feature, largest first."""
        return self.values.abs().mean().sort_values(ascending=False)

    def case_explanation(self) -> pd.DataFrame:
        """The chosen case's feature values and SHAP values, largest |SHAP| first."""
        i = self.values.index.astype(str).get_loc(self.case)
        frame = pd.DataFrame({"feature": self.values.columns, "value": self.rows.iloc[i].to_numpy(),
                              "shap": self.values.iloc[i].to_numpy()})
        return frame.reindex(frame.shap.abs().sort_values(ascending=False).index).reset_index(drop=True)

    def summary_plot(self):
        """Beeswarm-style summary: SHAP value per case for the top features, coloured by the feature's rank."""
        feats = list(self.importance().index[: self.top])
        ranks = self.rows[feats].rank(pct=True)
        data = pd.concat([pd.DataFrame({"feature": f, "shap": self.values[f].to_numpy(),
                                        "value (percentile)": ranks[f].to_numpy()}) for f in feats[::-1]])
        jitter = np.random.default_rng(0).uniform(-0.3, 0.3, len(data))
        data["row"] = np.repeat(np.arange(len(feats)), len(self.values)) + jitter
        return hv.Scatter(data, "shap", ["row", "value (percentile)", "feature"]).opts(
            color="value (percentile)", cmap="coolwarm", size=4, colorbar=True, frame_width=420,
            frame_height=22 * len(feats) + 40, yticks=list(enumerate(feats[::-1])), ylabel="",
            xlabel="SHAP value (impact on the model output)", title="SHAP summary", tools=["hover"])

    def case_plot(self):
        e = self.case_explanation().head(self.top).iloc[::-1]
        e = e.assign(label=[f"{f[-30:]} = {v:.3g}" for f, v in zip(e.feature, e.value)],
                     sign=np.where(e.shap > 0, "raises", "lowers"))
        return hv.Bars(e, "label", ["shap", "sign"]).opts(
            invert_axes=True, color="sign", cmap={"raises": "#d62728", "lowers": "#1f77b4"}, frame_width=380,
            frame_height=22 * len(e) + 40, xlabel="", ylabel="SHAP value",
            title=f"Case {self.labels[self.case]}", tools=["hover"])

    def figures(self) -> dict:
        return {"SHAP summary": self.summary_plot(), "Mean |SHAP|": self.importance().rename("mean_abs_shap").to_frame(),
                "Case explanation": self.case_plot()}


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

    def __panel__(self):
        s = self.store
        return pn.Column(
            pn.pane.Markdown(f"## SHAP\nPermutation SHAP of the whole fitted pipeline on {len(s.values)} cases "
                             "(positive-class probability).", sizing_mode="stretch_width"),
            pn.Row(pn.widgets.Select.from_param(s.param.case, width=220),
                   pn.widgets.IntSlider.from_param(s.param.top, width=220)),
            pn.Row(self._summary, self._case), sizing_mode="stretch_width")
