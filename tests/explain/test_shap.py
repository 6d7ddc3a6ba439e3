"""SHAP through pipelines: additivity (values + base == model output), closed form for linear models."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline as sk_pipeline
from sklearn.preprocessing import StandardScaler

from radlab.explain import explain
from radlab.validation import make_pipeline


@pytest.fixture(scope="module")
def breast():
    d = load_breast_cancer(as_frame=True)
    X = d.data.iloc[:, :8].set_axis([f"c{i}" for i in range(len(d.data))])
    X.columns = [c.replace(" ", "_") for c in X.columns]
    return X, d.target.to_numpy()


def test_tree_explainers_are_additive(breast):
    X, y = breast
    rf = sk_pipeline(StandardScaler(), RandomForestClassifier(n_estimators=30, max_depth=4, random_state=0)).fit(X, y)
    e = explain(rf, X.iloc[:40])
    assert e.explainer == "tree" and e.output == "probability"
    np.testing.assert_allclose(e.model_output(), rf.predict_proba(X.iloc[:40])[:, 1], atol=1e-6)
    gb = GradientBoostingClassifier(n_estimators=30, random_state=0).fit(X, y)
    e = explain(gb, X.iloc[:40])
    assert e.output == "log-odds"
    np.testing.assert_allclose(e.model_output(), gb.decision_function(X.iloc[:40]), atol=1e-6)


def test_linear_through_combat_and_selection_credits_input_features(breast):
    X, y = breast
    Xc = X.assign(centre=np.where(np.arange(len(X)) % 2, "A", "B"))
    pipe = make_pipeline(batch="centre", k=4).fit(Xc, y)
    e = explain(pipe, Xc.iloc[:50])
    assert e.explainer == "linear" and list(e.values.columns) == list(Xc.columns)
    # tolerance 1e-8: LinearExplainer is exact for a linear model with independent masking
    np.testing.assert_allclose(e.model_output(), pipe.decision_function(Xc.iloc[:50]), atol=1e-8)
    kept = set(pipe[:-1].get_feature_names_out())
    assert (e.values.drop(columns=list(kept)).abs().to_numpy() == 0).all() and len(kept) == 4
    # closed form on a plain scaler pipeline: coef / scale * (x - mean of background), in input units
    lin = make_pipeline(selector=None, correlation=None, variance=None).fit(X, y)
    e2 = explain(lin, X.iloc[:5], background=X, max_background=len(X))
    b = lin[-1].coef_.ravel() / lin.named_steps["scale"].scale_
    np.testing.assert_allclose(e2.values.to_numpy(), b * (X.iloc[:5].to_numpy() - X.to_numpy().mean(0)), atol=1e-8)


@pytest.mark.slow
def test_cox_and_permutation_explainers():
    from sksurv.datasets import load_gbsg2

    from radlab.models import CoxPH, survival_target

    Xg, yg = load_gbsg2()
    Xg = Xg[["age", "pnodes", "progrec", "tsize"]]
    cox = sk_pipeline(StandardScaler(), CoxPH(alpha=0.1)).fit(Xg, survival_target(yg["time"], yg["cens"]))
    e = explain(cox, Xg.iloc[:30])
    assert e.output == "risk"
    np.testing.assert_allclose(e.model_output(), cox.predict(Xg.iloc[:30]), atol=1e-8)
    y = yg["cens"].astype(int)
    knn = sk_pipeline(StandardScaler(), KNeighborsClassifier(5)).fit(Xg, y)
    ep = explain(knn, Xg.iloc[:3], background=Xg.iloc[:10])
    assert ep.explainer == "permutation"
    np.testing.assert_allclose(ep.model_output(), knn.predict_proba(Xg.iloc[:3])[:, 1], atol=1e-8)
    with pytest.raises(ValueError, match="'explainer' parameter of explain"):
        explain(knn, Xg.iloc[:3], explainer="kernel")


def test_result_objects_and_plots(breast):
    import holoviews as hv

    X, y = breast
    gb = GradientBoostingClassifier(n_estimators=20, random_state=0).fit(X, y)
    e = explain(gb, X.iloc[:30])
    s = e.summary(max_features=5)
    assert len(s.to_frame()) == 5 and s.to_frame().mean_abs_shap.is_monotonic_decreasing
    assert isinstance(s.plot(), hv.Bars)
    d = e.dependence("mean_radius")
    assert len(d.to_frame()) == 30 and isinstance(d.plot(), hv.Scatter)
    w = e.waterfall("c3", max_features=3)
    f = w.to_frame()
    assert len(f) == 4 and np.isclose(f.end.iloc[-1], w.output_value) and np.isclose(f.start.iloc[0], w.base_value)
    assert np.isclose(w.output_value, gb.decision_function(X.loc[["c3"]])[0])
    assert isinstance(w.plot(), hv.Overlay)
    tidy = e.to_frame()
    assert len(tidy) == 30 * 8 and list(tidy.columns) == ["case", "feature", "value", "shap"]
    with pytest.raises(ValueError, match="'feature' parameter"):
        e.dependence("nope")
