"""SHAP values of a fitted pipeline, in terms of its input features, with result objects that plot.

shap is imported inside the functions (``import radlab.explain`` stays light).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from radlab.results import Result

__all__ = ["ShapDependence", "ShapExplanation", "ShapSummary", "ShapWaterfall", "explain"]


def _featurewise(step) -> bool:
    """True for steps whose every output column is a function of one input column (plus batch labels)."""
    from sklearn.base import OneToOneFeatureMixin
    from sklearn.feature_selection import SelectorMixin

    from radlab.harmonize import ComBat

    return step in (None, "passthrough") or isinstance(step, (OneToOneFeatureMixin, SelectorMixin, ComBat))


def _is_tree(model) -> bool:
    return hasattr(model, "tree_") or (hasattr(model, "estimators_") and hasattr(model, "feature_importances_"))


def _names(step, X):
    names = step.get_feature_names_out() if hasattr(step, "get_feature_names_out") else None
    return list(names) if names is not None else list(X.columns)


@dataclass(frozen=True, eq=False)
class ShapExplanation(Result):
    """SHAP values per case and input feature (Display pattern: computed once by :func:`explain`).

    Fields: ``values`` (DataFrame case x input feature), ``base_values`` (array per case), ``data`` (the
    explained input rows), ``output`` ("probability", "log-odds", "risk" or "score"), ``explainer``
    ("tree", "linear", "permutation"). ``values.sum(1) + base_values`` equals the model output.
    Saved and reloaded exactly with ``save``/``load`` (:mod:`radlab.results`).
    """

    values: pd.DataFrame
    base_values: np.ndarray
    data: pd.DataFrame
    output: str
    explainer: str

    def model_output(self) -> pd.Series:
        """Sum of SHAP values plus the base value per case (the explained model output)."""
        return self.values.sum(axis=1) + self.base_values

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: case, feature, value (input), shap."""
        v = self.values.stack().rename("shap")
        d = self.data[self.values.columns].stack().rename("value")
        out = pd.concat([d, v], axis=1).reset_index()
        out.columns = ["case", "feature", "value", "shap"]
        return out

    def summary(self, *, max_features: int = 20) -> "ShapSummary":
        """Global importance: mean |SHAP| per feature."""
        imp = self.values.abs().mean().sort_values(ascending=False)
        return ShapSummary(importance=imp.head(max_features), output=self.output, frame=self.to_frame())

    def dependence(self, feature: str) -> "ShapDependence":
        """SHAP value of one feature against its value, across cases."""
        if feature not in self.values:
            raise ValueError(f"The 'feature' parameter of ShapExplanation.dependence must be an explained feature. "
                             f"Got {feature!r} instead.")
        return ShapDependence(feature=feature, frame=pd.DataFrame({"value": self.data[feature].to_numpy(float),
                                                                   "shap": self.values[feature].to_numpy()}),
                              output=self.output)

    def waterfall(self, case, *, max_features: int = 10) -> "ShapWaterfall":
        """Contributions of the features to one case's output, from the base value."""
        row = self.values.loc[case]
        order = row.abs().sort_values(ascending=False).index
        top, rest = row[order[:max_features]], row[order[max_features:]].sum()
        contrib = pd.concat([top, pd.Series({f"{len(order) - max_features} other features": rest})]) \
            if len(order) > max_features else top
        base = float(self.base_values[self.values.index.get_loc(case)])
        start = base + np.r_[0, np.cumsum(contrib.to_numpy())[:-1]]
        frame = pd.DataFrame({"feature": contrib.index, "shap": contrib.to_numpy(), "start": start,
                              "end": start + contrib.to_numpy()})
        return ShapWaterfall(case=case, base_value=base, output_value=base + float(row.sum()), frame=frame,
                             output=self.output)


@dataclass(frozen=True, eq=False)
class ShapSummary(Result):
    """Mean |SHAP| per feature; ``.plot()`` horizontal bars.

    Fields: ``importance`` (Series feature -> mean |SHAP|, largest first), ``output`` (as in
    :class:`ShapExplanation`), ``frame`` (the explanation's tidy table: case, feature, value, shap).
    """

    importance: pd.Series
    output: str
    frame: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """Columns: feature, mean_abs_shap."""
        return self.importance.rename("mean_abs_shap").rename_axis("feature").reset_index()

    def plot(self, *, width: int = 500, height: int = 400, **opts):
        import holoviews as hv
        import holoviews.plotting.bokeh  # noqa: F401

        return hv.Bars(self.to_frame().iloc[::-1], "feature", "mean_abs_shap").opts(
            invert_axes=True, width=width, height=height, xlabel="", ylabel=f"mean |SHAP| ({self.output})", **opts)


@dataclass(frozen=True, eq=False)
class ShapDependence(Result):
    """SHAP value of one feature against the feature's value; ``.plot()`` scatter.

    Fields: ``feature`` (its name), ``frame`` (one row per case: value, shap), ``output``.
    """

    feature: str
    frame: pd.DataFrame
    output: str

    def to_frame(self) -> pd.DataFrame:
        """Columns: value, shap (a copy of ``frame``)."""
        return self.frame.copy()

    def plot(self, *, width: int = 450, height: int = 350, **opts):
        import holoviews as hv
        import holoviews.plotting.bokeh  # noqa: F401

        return hv.Scatter(self.frame, "value", "shap").opts(width=width, height=height, xlabel=self.feature,
                                                            ylabel=f"SHAP ({self.output})", tools=["hover"], **opts)


@dataclass(frozen=True, eq=False)
class ShapWaterfall(Result):
    """One case: base value, each feature's contribution, output value; ``.plot()`` waterfall segments.

    Fields: ``case`` (its index label), ``base_value``, ``output_value`` (base value plus every contribution),
    ``frame`` (feature, shap, start, end: one row per shown feature, the rest summed in a last row), ``output``.
    """

    case: object
    base_value: float
    output_value: float
    frame: pd.DataFrame
    output: str

    def to_frame(self) -> pd.DataFrame:
        """Columns: feature, shap, start, end (a copy of ``frame``)."""
        return self.frame.copy()

    def plot(self, *, width: int = 550, height: int = 380, **opts):
        import holoviews as hv
        import holoviews.plotting.bokeh  # noqa: F401

        f = self.frame.iloc[::-1].reset_index(drop=True)
        f["y"] = np.arange(len(f))
        f["sign"] = np.where(f.shap >= 0, "up", "down")
        seg = hv.Segments(f, ["start", "y", "end", "y"], ["feature", "shap", "sign"]).opts(
            color="sign", cmap={"up": "#d62728", "down": "#1f77b4"}, line_width=14, tools=["hover"])
        labels = hv.Labels({"x": np.minimum(f.start, f.end), "y": f.y, "text": f.feature}, ["x", "y"], "text").opts(
            text_align="right", text_font_size="8pt")
        return (seg * labels).opts(width=width, height=height, yaxis=None, xlabel=self.output,
                                   title=f"case {self.case}: {self.base_value:.3g} -> {self.output_value:.3g}", **opts)


def explain(estimator, X: pd.DataFrame, *, background: pd.DataFrame | None = None, explainer: str = "auto",
            max_background: int = 100, random_state=0) -> ShapExplanation:
    """SHAP values of a fitted model or Pipeline for the rows of ``X``, in terms of X's columns.

    ``explainer="auto"``: when every preprocessing step maps one input column to one output column
    (scalers, selectors, ComBat with the batch held at each case's value), the final model is explained on
    the transformed features -- TreeExplainer for tree ensembles (output: probability for random forests,
    log-odds for gradient boosting), LinearExplainer for linear models (log-odds, or the Cox prognostic
    index) -- and each value is credited to its input column (dropped features and batch/covariate columns
    get 0). Otherwise (or ``explainer="permutation"``) a permutation explainer runs on the whole pipeline's
    score (numeric X only). ``background``: reference cases (default: X, subsampled to ``max_background``).

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> X = pd.DataFrame({"a": [0.0, 1, 2, 3, 4, 5], "b": [1.0, 0, 1, 0, 1, 0]})
    >>> e = explain(LogisticRegression().fit(X, [0, 0, 0, 1, 1, 1]), X)
    >>> e.explainer, bool(np.allclose(e.model_output(), LogisticRegression().fit(X, [0, 0, 0, 1, 1, 1]).decision_function(X)))
    ('linear', True)
    """
    import warnings

    from sklearn.pipeline import Pipeline

    with warnings.catch_warnings():  # shap's import touches a matplotlib API matplotlib marks as pending removal
        warnings.filterwarnings("ignore", r"The set_\w+ function will be deprecated", PendingDeprecationWarning)
        import shap

    X = pd.DataFrame(X)
    bg = X if background is None else pd.DataFrame(background)
    if len(bg) > max_background:
        bg = bg.sample(max_background, random_state=random_state)
    steps = estimator.steps if isinstance(estimator, Pipeline) else [("model", estimator)]
    pre, model = steps[:-1], steps[-1][1]
    kind = explainer
    if kind == "auto":
        simple = all(_featurewise(s) for _, s in pre)
        kind = ("tree" if _is_tree(model) else "linear" if hasattr(model, "coef_") else "permutation") \
            if simple else "permutation"
    if kind not in ("tree", "linear", "permutation"):
        raise ValueError(f"The 'explainer' parameter of explain must be 'auto', 'tree', 'linear' or 'permutation'. "
                         f"Got {explainer!r} instead.")
    if kind == "permutation":
        from radlab.validation import score_cases

        if not all(pd.api.types.is_numeric_dtype(X[c]) for c in X):
            raise ValueError("The permutation explainer needs numeric X columns; encode batch/categorical columns "
                             "or use a pipeline of feature-wise steps (tree/linear explainers).")
        cols = list(X.columns)
        f = lambda a: score_cases(estimator, pd.DataFrame(a, columns=cols))  # noqa: E731
        exp = shap.PermutationExplainer(f, shap.maskers.Independent(bg.to_numpy(float), max_samples=len(bg)),
                                        seed=random_state)
        res = exp(X.to_numpy(float), silent=True)
        values, base = res.values, np.asarray(res.base_values, float).reshape(len(X))
        output = "probability" if hasattr(estimator, "predict_proba") else "score"
        return ShapExplanation(values=pd.DataFrame(values, index=X.index, columns=cols), base_values=base, data=X,
                               output=output, explainer="permutation")
    Z, Zb = X, bg
    for _, step in pre:
        if step in (None, "passthrough"):
            continue
        Z, Zb = (pd.DataFrame(np.asarray(step.transform(d)), index=d.index, columns=_names(step, d)) for d in (Z, Zb))
    if kind == "tree":
        exp = shap.TreeExplainer(model)
        values = np.asarray(exp.shap_values(Z.to_numpy(float), check_additivity=False))
        base = np.asarray(exp.expected_value, float).ravel()
        if values.ndim == 3:  # one slice per class: keep the positive class
            values, base = values[:, :, -1], base[-1:]
        output = ("log-odds" if hasattr(model, "decision_function") else "probability") \
            if hasattr(model, "predict_proba") else "score"
    else:
        coef = np.ravel(model.coef_)
        intercept = float(np.ravel(getattr(model, "intercept_", 0.0))[0])
        exp = shap.LinearExplainer((coef, intercept), shap.maskers.Independent(Zb.to_numpy(float),
                                                                                max_samples=len(Zb)))
        values = exp.shap_values(Z.to_numpy(float))
        base = np.asarray(exp.expected_value, float).ravel()
        output = "log-odds" if hasattr(model, "predict_proba") else "risk"
    full = pd.DataFrame(0.0, index=X.index, columns=X.columns)
    full[list(Z.columns)] = values
    return ShapExplanation(values=full, base_values=np.broadcast_to(base, (len(X),)).copy(), data=X, output=output,
                           explainer=kind)
