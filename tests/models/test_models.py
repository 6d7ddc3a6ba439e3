"""Models against lifelines / scikit-survival / scipy on GBSG2 and breast-cancer Wisconsin."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from radlab.models import MODELS, CoxPH, Nomogram, PrognosticIndexStack, make_model, survival_target, table_one


@pytest.fixture(scope="module")
def gbsg2():
    from sksurv.datasets import load_gbsg2

    X, y = load_gbsg2()
    clinical = X.assign(horTh=(X.horTh == "yes").astype(float), menostat=(X.menostat == "Post").astype(float),
                        tgrade=X.tgrade.cat.codes.astype(float))
    return clinical, survival_target(y["time"], y["cens"])


def test_cox_matches_lifelines_efron(gbsg2):
    from lifelines import CoxPHFitter

    X, y = gbsg2
    cols = ["age", "pnodes", "progrec", "tsize", "horTh"]
    ours = CoxPH(alpha=0.0).fit(X[cols], y)
    cph = CoxPHFitter().fit(X[cols].assign(T=y["time"], E=y["event"]), "T", "E")
    # same Efron partial likelihood, both Newton to convergence: coefficients agree to 1e-4 relative (convergence tolerances)
    np.testing.assert_allclose(ours.coef_, cph.params_[cols].to_numpy(), rtol=1e-4, atol=1e-7)
    c = ours.score(X[cols], y)
    assert abs(c - cph.concordance_index_) < 1e-9
    s = ours.predict_survival_function(X[cols].iloc[:3], [365.0, 1825.0])
    s_ll = cph.predict_survival_function(X[cols].iloc[:3], times=[365.0, 1825.0]).T.to_numpy()
    np.testing.assert_allclose(s, s_ll, atol=2e-3)  # Breslow baseline in sksurv vs lifelines' (Efron-based)


def test_factory_builds_every_model(gbsg2):
    X, y = gbsg2
    data = load_breast_cancer()
    Xb, yb = data.data[:200, :5], data.target[:200]
    for name in MODELS:
        m = make_model(name, random_state=0)
        if name in ("logistic", "random_forest", "gradient_boosting"):
            m = make_pipeline(StandardScaler(), m).fit(Xb, yb)
            assert m.score(Xb, yb) > 0.8
        else:
            cols = ["age", "pnodes", "progrec", "tsize"]
            if name == "random_survival_forest":
                m.set_params(n_estimators=20)
            m = make_pipeline(StandardScaler(), m).fit(X[cols], y)
            assert m.score(X[cols], y) > 0.6
    with pytest.raises(ValueError, match="'name' parameter of make_model must be one of"):
        make_model("svm")
    lasso = CoxPH(alpha=0.1, l1_ratio=1.0).fit(StandardScaler().fit_transform(X[["age", "pnodes", "progrec", "tsize"]]), y)
    assert (lasso.coef_ == 0).any() and lasso.coef_[1] > 0


def test_prognostic_index_stack(gbsg2):
    X, y = gbsg2
    groups = {"imaging": ["tsize", "pnodes", "progrec"], "clinical": ["age", "horTh", "tgrade"]}
    m = PrognosticIndexStack(groups, cv=3, random_state=0).fit(X, y)
    pis = m.prognostic_indices(X)
    np.testing.assert_allclose(pis["clinical"], m.estimators_["clinical"].predict(X[groups["clinical"]]))
    np.testing.assert_allclose(m.predict(X), pis.to_numpy() @ m.coef_.to_numpy())
    assert (m.coef_ > 0).all()
    single = max(CoxPH(alpha=0.1).fit(X[c], y).score(X[c], y) for c in groups.values())
    assert m.score(X, y) > single - 0.01
    with pytest.raises(ValueError, match="absent from X"):
        PrognosticIndexStack({"a": ["nope"]}).fit(X, y)


def test_nomogram_logistic_reproduces_predict_proba():
    data = load_breast_cancer(as_frame=True)
    X = data.data[["mean radius", "mean texture", "mean smoothness"]]
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, data.target)
    nom = Nomogram.from_estimator(model, X)
    prob = nom.risk_from_points(nom.total_points(X))["probability"].to_numpy()
    np.testing.assert_allclose(prob, model.predict_proba(X)[:, 1], atol=1e-10)
    t = nom.to_frame()
    assert t.groupby("variable").points.max().max() == pytest.approx(100.0)
    assert t.points.min() == pytest.approx(0.0)
    import holoviews as hv

    assert isinstance(nom.plot(), hv.Overlay)


def test_nomogram_cox_reproduces_survival(gbsg2):
    X, y = gbsg2
    cols = ["age", "pnodes", "tsize", "horTh"]
    model = make_pipeline(StandardScaler(), CoxPH(alpha=0.1)).fit(X[cols], y)
    nom = Nomogram.from_estimator(model, X[cols], times=[1000.0, 2000.0])
    surv = nom.risk_from_points(nom.total_points(X[cols].iloc[:20]))
    ref = np.vstack([f([1000.0, 2000.0]) for f in model[-1].model_.predict_survival_function(
        model[0].transform(X[cols].iloc[:20]))])
    np.testing.assert_allclose(surv[["survival_1000", "survival_2000"]].to_numpy(), ref, atol=1e-10)
    with pytest.raises(ValueError, match="'times' parameter"):
        Nomogram.from_estimator(model, X[cols])
    assert len(nom.plot().data) == 3


def test_table_one_p_values_match_scipy(gbsg2):
    X, _ = gbsg2
    df = X.assign(cohort=np.where(np.arange(len(X)) % 3 == 0, "external", "train"),
                  grade=X.tgrade.astype(int).astype(str), centre=np.arange(len(X)) % 3)
    t = table_one(df, by="cohort", variables=["age", "pnodes", "grade", "horTh"], categorical=["horTh"],
                  nonnormal=["pnodes"]).set_index(["variable", "level"])
    a, b = (df[df.cohort == c] for c in ("train", "external"))
    assert t.loc[("n", ""), "train"] == str(len(a))
    assert np.isclose(t.loc[("age", ""), "p_value"], stats.ttest_ind(a.age, b.age, equal_var=False).pvalue, rtol=1e-12)
    assert np.isclose(t.loc[("pnodes", ""), "p_value"], stats.mannwhitneyu(a.pnodes, b.pnodes).pvalue, rtol=1e-12)
    ct = pd.crosstab(df.grade, df.cohort)
    assert np.isclose(t.loc[("grade", "0"), "p_value"], stats.chi2_contingency(ct).pvalue, rtol=1e-12)
    assert np.isclose(t.loc[("horTh", "0.0"), "p_value"], stats.chi2_contingency(pd.crosstab(df.horTh, df.cohort)).pvalue)
    m = t.p_value.notna().sum()
    assert m == 4 and np.allclose(t.p_adjusted.dropna(), np.minimum(t.p_value.dropna() * 4, 1))
    assert t.loc[("age", ""), "train"] == f"{a.age.mean():.1f} ± {a.age.std():.1f}"
    q1, med, q3 = np.percentile(a.pnodes, [25, 50, 75])
    assert t.loc[("pnodes", ""), "train"] == f"{med:.1f} [{q1:.1f}, {q3:.1f}]"
    three = table_one(df, by="centre", variables=["age", "pnodes"], nonnormal=["pnodes"]).set_index("variable")
    groups = [df.age[df.centre == k] for k in (0, 1, 2)]
    assert np.isclose(three.loc["age", "p_value"], stats.f_oneway(*groups).pvalue)
    assert np.isclose(three.loc["pnodes", "p_value"], stats.kruskal(*[df.pnodes[df.centre == k] for k in (0, 1, 2)]).pvalue)
    small = pd.DataFrame({"g": ["a"] * 6 + ["b"] * 6, "x": ["y"] * 5 + ["n"] + ["n"] * 5 + ["y"]})
    s = table_one(small, by="g").set_index("variable")
    assert s.test.iloc[1] == "Fisher exact"
    assert np.isclose(s.p_value.iloc[1], stats.fisher_exact(pd.crosstab(small.x, small.g).to_numpy()).pvalue)
