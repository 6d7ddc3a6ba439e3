"""Selectors: reference values (scipy, sklearn, statsmodels) on real tables, known signal on synthetic data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import roc_auc_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from radlab.models import survival_target
from radlab.select import (
    MRMR,
    CorrelationFilter,
    ICCFilter,
    LassoSelector,
    StabilitySelection,
    UnivariateFilter,
    univariate_auc,
    univariate_cox,
    volume_proxies,
)


@pytest.fixture(scope="module")
def breast():
    data = load_breast_cancer(as_frame=True)
    return data.data, data.target


@pytest.fixture(scope="module")
def gbsg2():
    from sksurv.datasets import load_gbsg2

    X, y = load_gbsg2()
    return X.select_dtypes("number"), survival_target(y["time"], y["cens"])


def _signal(seed=0, n=150, p=40, k=4):
    """Binary outcome driven by the first k features; the rest noise."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    y = (X[:, :k].sum(1) + 0.8 * rng.normal(size=n) > 0).astype(int)
    return X, y


def test_univariate_auc_matches_sklearn_and_scipy(breast):
    X, y = breast
    t = univariate_auc(X, y)
    for j in (0, 5, 29):
        assert np.isclose(t.auc[j], roc_auc_score(y, X.iloc[:, j]), atol=1e-12)
        p = stats.mannwhitneyu(X.iloc[:, j][y == 1], X.iloc[:, j][y == 0]).pvalue
        assert np.isclose(t.p_value[j], p, rtol=1e-10)


def test_univariate_cox_matches_statsmodels_breslow(gbsg2):
    from statsmodels.duration.hazard_regression import PHReg

    X, y = gbsg2
    t = univariate_cox(X, y["time"], y["event"])
    for j, name in enumerate(X.columns):
        m = PHReg(y["time"], X[[name]].to_numpy(), status=y["event"].astype(int), ties="breslow").fit()
        # same partial likelihood and Newton optimum: agreement to numerical precision (1e-8)
        assert np.isclose(t.coef[j], m.params[0], rtol=1e-8, atol=1e-12)
        assert np.isclose(t.se[j], m.bse[0], rtol=1e-8)
        assert np.isclose(t.p_value[j], m.pvalues[0], rtol=1e-6, atol=1e-300)
    assert univariate_cox(np.c_[np.ones(len(y)), X["age"]], y["time"], y["event"]).p_value[0] == 1.0


def test_univariate_filter_k_and_alpha(breast, gbsg2):
    X, y = breast
    f = UnivariateFilter(k=5).fit(X, y)
    best = np.argsort(-np.abs(univariate_auc(X, y).auc.to_numpy() - 0.5))[:5]
    assert set(np.flatnonzero(f.get_support())) == set(best)
    Xs, ys = gbsg2
    g = UnivariateFilter(k=None, alpha=0.01).fit(Xs, ys)
    assert set(g.get_feature_names_out()) == set(Xs.columns[univariate_cox(Xs, ys["time"], ys["event"]).p_value < 0.01])
    assert {"pnodes", "progrec"} <= set(g.get_feature_names_out())


def test_correlation_filter_keeps_the_better_of_each_pair(breast):
    X, y = breast
    f = CorrelationFilter(0.85).fit(X, y)
    rho = np.abs(stats.spearmanr(X).statistic)
    kept = np.flatnonzero(f.get_support())
    sub = rho[np.ix_(kept, kept)] - np.eye(len(kept))
    assert sub.max() <= 0.85
    score = np.abs(univariate_auc(X, y).auc.to_numpy() - 0.5)
    for j in np.flatnonzero(~f.get_support()):  # each dropped feature has a better, kept, correlated partner
        partners = kept[rho[j, kept] > 0.85]
        assert len(partners) and score[partners].max() >= score[j]
    assert 5 < len(kept) < 25
    unsupervised = CorrelationFilter().fit(X)  # y=None: the higher-variance feature of each pair is kept
    assert np.abs(unsupervised.correlation_[np.ix_(unsupervised.get_support(), unsupervised.get_support())]
                  - np.eye(unsupervised.get_support().sum())).max() <= 0.85


def test_lasso_selectors_find_signal(gbsg2):
    X, y = _signal()
    s = LassoSelector(cv=3, random_state=0).fit(X, y)
    assert set(range(4)) <= set(np.flatnonzero(s.get_support())) and s.get_support().sum() < 25
    Xs, ys = gbsg2
    c = LassoSelector(alpha=0.05).fit(Xs, ys)
    assert {"pnodes", "progrec"} <= set(c.get_feature_names_out())
    c2 = LassoSelector(cv=3, random_state=0).fit(Xs, ys)
    assert 0 < c2.alpha_ and "pnodes" in c2.get_feature_names_out()


def test_mrmr_and_stability_find_signal():
    X, y = _signal()
    X = np.c_[X, X[:, 0] + 0.01 * np.random.default_rng(1).normal(size=len(X))]  # a near copy of feature 0
    m = MRMR(n_features=4).fit(X, y)
    assert not (m.get_support()[0] and m.get_support()[-1])  # never both copies
    assert len(set(m.ranking_) & {0, 1, 2, 3, 40}) >= 3
    s = StabilitySelection(n_bootstraps=20, random_state=0).fit(X[:, :40], y)
    assert set(np.flatnonzero(s.get_support())) == {0, 1, 2, 3}
    assert s.frequencies_[:4].min() >= 0.6 > s.frequencies_[4:].max()


def test_icc_filter_and_volume_proxies():
    X = pd.DataFrame({"a": [1.0, 2, 3, 4], "b": [1.0, 0, 1, 0], "c": [0.0, 1, 1, 0]})
    icc = pd.Series({"a": 0.95, "b": 0.6})
    with pytest.raises(ValueError, match=r"Got no ICC for \['c'\]"):
        ICCFilter(icc).fit(X)
    assert ICCFilter(icc, missing="drop").fit(X).get_feature_names_out().tolist() == ["a"]
    assert ICCFilter(icc, missing="keep").fit(X).get_feature_names_out().tolist() == ["a", "c"]
    assert ICCFilter([0.9, 0.8, 0.1], threshold=0.8).fit(X.to_numpy()).get_support().tolist() == [True, True, False]
    vp = volume_proxies(X, [1, 2, 3, 4.5])
    assert vp.loc[0, "feature"] == "a" and vp.loc[0, "rho"] == pytest.approx(1.0) and vp.proxy.sum() == 1


def test_errors_name_parameter():
    with pytest.raises(ValueError, match="requires y"):
        UnivariateFilter().fit(np.ones((4, 2)))
    with pytest.raises(ValueError, match="must be binary"):
        UnivariateFilter().fit(np.random.default_rng(0).normal(size=(6, 2)), [0, 1, 2, 0, 1, 2])


def test_icc_series_on_an_array_uses_scikit_learn_names():
    icc = pd.Series({"x0": 0.9, "x2": 0.8, "x1": 0.2})
    assert ICCFilter(icc).fit(np.ones((3, 3))).get_support().tolist() == [True, False, True]


def test_stability_subsamples_keep_both_classes():
    """Subsamples are stratified: with 4 positives in 40 cases each subsample of 20 holds 2 of them (an
    unstratified draw misses every positive in ~5 % of subsamples, and the base selector then fails)."""
    seen = []

    class Spy(UnivariateFilter):
        def fit(self, X, y=None):
            seen.append((len(y), int(np.sum(y))))
            return super().fit(X, y)

    X, _ = _signal(n=40, p=6)
    y = np.zeros(40, int)
    y[[3, 11, 25, 31]] = 1
    StabilitySelection(Spy(k=2), n_bootstraps=40, random_state=0).fit(X, y)
    assert seen == [(20, 2)] * 40


# Every generic check passes: the selectors declare y as a binary classifier's (tags), so the checks pass them
# two classes; ICCFilter is built with a per-name ICC table (x0, x1 for arrays) that keeps unlisted features.
@parametrize_with_checks([UnivariateFilter(k=2), CorrelationFilter(), LassoSelector(C=1.0), MRMR(n_features=2),
                          StabilitySelection(n_bootstraps=5, threshold=0.0, random_state=0),
                          ICCFilter(pd.Series({"x0": 0.9, "x1": 0.5}), missing="keep")])
def test_sklearn_api(estimator, check):
    check(estimator)
