"""ROC / AUC / DeLong against scikit-learn, a naive O(n^2) DeLong and published values."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score, roc_curve

from radlab.evaluation import RocCurve, delong_test, delong_test_unpaired, threshold_metrics, wilson_interval


def naive_delong(y, scores):
    """DeLong et al. (1988) written out pairwise: O(m n) kernel psi, covariance of structural components."""
    y = np.asarray(y).astype(bool)
    v10, v01 = [], []
    for s in scores:
        x, z = s[y], s[~y]
        psi = (x[:, None] > z[None, :]) + 0.5 * (x[:, None] == z[None, :])
        v10.append(psi.mean(1))
        v01.append(psi.mean(0))
    s10, s01 = np.atleast_2d(np.cov(v10)), np.atleast_2d(np.cov(v01))
    aucs = np.array([v.mean() for v in v10])
    return aucs, s10 / y.sum() + s01 / (~y).sum()


# Hanley & McNeil (1982, Radiology 143:29-36, Table 1): CT ratings 1-5 of 58 normal and 51 abnormal cases.
HANLEY_NEG = np.repeat([1, 2, 3, 4, 5], [33, 6, 6, 11, 2])
HANLEY_POS = np.repeat([1, 2, 3, 4, 5], [3, 2, 2, 11, 33])


def test_published_hanley_mcneil_delong():
    # Stata [R] roctab manual, example 1 (same data, DeLong SE is roctab's default):
    # ROC area 0.8932, Std. Err. 0.0307, asymptotic normal 95% CI 0.83295 - 0.95339.
    y = np.r_[np.zeros(58), np.ones(51)]
    s = np.r_[HANLEY_NEG, HANLEY_POS]
    roc = RocCurve.from_predictions(y, s, n_bootstraps=0)
    assert roc.auc == pytest.approx(0.8932, abs=5e-5)  # printed to 4 decimals
    assert roc.auc_se == pytest.approx(0.0307, abs=5e-5)
    assert roc.ci_delong[0] == pytest.approx(0.83295, abs=5e-6)  # printed to 5 decimals
    assert roc.ci_delong[1] == pytest.approx(0.95339, abs=5e-6)


def test_auc_and_curve_match_sklearn(binary_data):
    y, a, _ = binary_data
    a = np.round(a, 1)  # force ties
    roc = RocCurve.from_predictions(y, a, n_bootstraps=0)
    fpr, tpr, thr = roc_curve(y, a, drop_intermediate=False)
    np.testing.assert_allclose(roc.auc, roc_auc_score(y, a), rtol=0, atol=1e-12)
    np.testing.assert_allclose(roc.fpr, fpr, atol=1e-12)
    np.testing.assert_allclose(roc.tpr, tpr, atol=1e-12)
    np.testing.assert_array_equal(roc.thresholds, thr)


def test_paired_delong_matches_naive(binary_data):
    y, a, b = binary_data
    a, b = np.round(a, 1), np.round(b, 1)
    res = delong_test(y, a, b)
    aucs, cov = naive_delong(y, [a, b])
    var = cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]
    np.testing.assert_allclose([res.auc_a, res.auc_b], aucs, atol=1e-12)
    np.testing.assert_allclose(res.se, np.sqrt(var), rtol=1e-10)
    from scipy.stats import norm

    z = (aucs[0] - aucs[1]) / np.sqrt(var)
    np.testing.assert_allclose(res.statistic, z, rtol=1e-10)
    np.testing.assert_allclose(res.p_value, 2 * norm.sf(abs(z)), rtol=1e-9)
    assert res.ci_low < res.difference < res.ci_high


def test_single_auc_variance_matches_naive(binary_data):
    y, a, _ = binary_data
    roc = RocCurve.from_predictions(y, a, n_bootstraps=0)
    _, cov = naive_delong(y, [a])
    np.testing.assert_allclose(roc.auc_se, np.sqrt(cov[0, 0]), rtol=1e-10)


def test_unpaired_delong_is_sum_of_variances(binary_data):
    y, a, b = binary_data
    res = delong_test_unpaired(y[:150], a[:150], y[150:], b[150:])
    (_, va), (_, vb) = naive_delong(y[:150], [a[:150]]), naive_delong(y[150:], [b[150:]])
    np.testing.assert_allclose(res.se, np.sqrt(va[0, 0] + vb[0, 0]), rtol=1e-10)
    assert not res.paired


def test_unpaired_delong_welch_t_hand_derived():
    # pROC roc.test(paired=FALSE, method="delong"): D = (AUC_a - AUC_b) / sqrt(V_a + V_b), p from Student's t with
    # df = (V_a + V_b)^2 / (V_a^2 / (N_a - 1) + V_b^2 / (N_b - 1)) (pROC R/delong.R, delong.unpaired.test).
    # Hand-derived, exact: curve a has V10 = [1/2, 1], V01 = [1, 1/2] -> AUC 3/4, V_a = 1/8; curve b has
    # V10 = [1, 1, 1/2], V01 = [1, 2/3] -> AUC 5/6, V_b = 1/18; so D = (-1/12) / sqrt(13/72), df = 169/31.
    from scipy.stats import t

    r = delong_test_unpaired([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], [0, 1, 0, 1, 1], [0.2, 0.6, 0.5, 0.9, 0.3])
    d = (-1 / 12) / np.sqrt(13 / 72)
    assert (r.auc_a, r.auc_b) == pytest.approx((3 / 4, 5 / 6), abs=1e-15)
    assert r.statistic == pytest.approx(d, rel=1e-13)
    assert r.df == pytest.approx(169 / 31, rel=1e-13)
    assert r.p_value == pytest.approx(2 * t.sf(abs(d), 169 / 31), rel=1e-12)
    q = t.ppf(0.975, 169 / 31)
    assert (r.ci_low, r.ci_high) == pytest.approx((-1 / 12 - q * np.sqrt(13 / 72), -1 / 12 + q * np.sqrt(13 / 72)))
    less = delong_test_unpaired([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], [0, 1, 0, 1, 1], [0.2, 0.6, 0.5, 0.9, 0.3],
                                alternative="less")
    assert less.p_value == pytest.approx(t.cdf(d, 169 / 31), rel=1e-12)  # pROC: "less" -> pt(D, df)
    assert type(r).from_dict(r.to_dict()) == r  # exact round trip


def test_paired_delong_covariance_and_alternatives(binary_data):
    # Hand-derived DeLong covariance: a has V10 = [1/2, 1], V01 = [1, 1/2]; b has V10 = [1, 1/2], V01 = [1/2, 1];
    # cov = cov(V10a, V10b)/m + cov(V01a, V01b)/n = (-1/8)/2 + (-1/8)/2 = -1/8 (pROC's cov(roc1, roc2), delong).
    r = delong_test([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], [0.3, 0.2, 0.6, 0.25])
    assert r.covariance == pytest.approx(-1 / 8, abs=1e-15)
    assert r.df == np.inf
    y, a, b = binary_data
    aucs, cov = naive_delong(y, [a, b])
    two, greater, less = (delong_test(y, a, b, alternative=k) for k in ("two.sided", "greater", "less"))
    assert two.covariance == pytest.approx(cov[0, 1], rel=1e-10)
    from scipy.stats import norm  # pROC: "greater" -> pnorm(-Z), "less" -> pnorm(Z)

    assert greater.p_value == pytest.approx(norm.sf(two.statistic), rel=1e-12)
    assert less.p_value == pytest.approx(norm.cdf(two.statistic), rel=1e-12)
    assert greater.p_value + less.p_value == pytest.approx(1.0, abs=1e-15)
    with pytest.raises(ValueError, match="'alternative' parameter of delong_test must be one of"):
        delong_test(y, a, b, alternative="two-sided")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 20), min_size=6, max_size=40), st.integers(0, 10_000))
def test_delong_antisymmetric(values, seed):
    rng = np.random.default_rng(seed)
    y = np.r_[0, 1, rng.integers(0, 2, len(values) - 2)]
    a = np.asarray(values, float)
    b = rng.permutation(a)
    ab, ba = delong_test(y, a, b), delong_test(y, b, a)
    assert ab.statistic == pytest.approx(-ba.statistic, abs=1e-12)
    assert ab.p_value == pytest.approx(ba.p_value, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-50, 50, allow_nan=False), min_size=4, max_size=50), st.integers(0, 10_000))
def test_auc_invariant_to_monotone_transform(values, seed):
    rng = np.random.default_rng(seed)
    s = np.round(np.asarray(values), 2)  # keeps ties, so strict monotone maps keep them too
    y = np.r_[0, 1, rng.integers(0, 2, len(s) - 2)]
    base = RocCurve.from_predictions(y, s, n_bootstraps=0)
    for f in (np.exp, lambda v: 3 * v + 7, np.arctan):
        other = RocCurve.from_predictions(y, f(s / 25.0), n_bootstraps=0)
        assert other.auc == pytest.approx(base.auc, abs=1e-12)
        assert other.auc_se == pytest.approx(base.auc_se, abs=1e-9)


def test_bootstrap_ci_and_band(binary_data):
    y, a, _ = binary_data
    roc = RocCurve.from_predictions(y, a, n_bootstraps=500, random_state=1)
    # Loop over sklearn: same statistic, so the bootstrap distributions must agree in location and spread
    rng = np.random.default_rng(2)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    ref = [roc_auc_score(y[idx], a[idx]) for idx in
           (np.r_[rng.choice(pos, len(pos)), rng.choice(neg, len(neg))] for _ in range(500))]
    assert np.mean(roc.bootstrap_aucs) == pytest.approx(np.mean(ref), abs=0.005)  # MC error ~0.001
    assert np.std(roc.bootstrap_aucs) == pytest.approx(np.std(ref), rel=0.15)
    assert roc.ci_bootstrap[0] < roc.auc < roc.ci_bootstrap[1]
    # DeLong and bootstrap CIs agree to within Monte-Carlo noise at n=300
    assert roc.ci_bootstrap[0] == pytest.approx(roc.ci_delong[0], abs=0.02)
    band = roc.band
    assert (band.tpr_lower <= band.tpr_upper).all() and band.tpr_upper.iloc[-1] == 1.0
    assert roc.n_skipped == 0 and len(roc.bootstrap_aucs) == 500


def test_exact_bootstrap_auc_on_fixed_resample():
    # the vectorised count-based AUC equals sklearn on the same explicit resample
    from radlab.evaluation._bootstrap import auc_from_counts, tie_groups

    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 60).astype(bool)
    s = np.round(rng.normal(size=60), 1)
    idx = rng.integers(0, 60, 60)
    g, ng = tie_groups(s)
    pc = np.bincount(g[idx][y[idx]], minlength=ng)[None].astype(float)
    nc = np.bincount(g[idx][~y[idx]], minlength=ng)[None].astype(float)
    assert auc_from_counts(pc, nc)[0] == pytest.approx(roc_auc_score(y[idx], s[idx]), abs=1e-12)


def test_unstratified_bootstrap_skips_single_class_resamples():
    y = np.r_[np.zeros(9), 1]
    s = np.arange(10.0)
    roc = RocCurve.from_predictions(y, s, n_bootstraps=400, stratified=False, random_state=0)
    # P(no positive drawn) = 0.9**10 = 0.349 -> about 140 of 400 skipped
    assert 90 < roc.n_skipped < 190
    assert len(roc.bootstrap_aucs) == 400 - roc.n_skipped


def test_youden_fitted_on_train_applied_to_test(binary_data):
    y, a, _ = binary_data
    train = RocCurve.from_predictions(y[:200], a[:200], n_bootstraps=0)
    thr = train.youden()
    j = train.tpr - train.fpr
    assert j[train.thresholds == thr][0] == pytest.approx(j.max())
    test = RocCurve.from_predictions(y[200:], a[200:], n_bootstraps=0, random_state=0)
    m = test.metrics(thr).set_index("metric")
    cm = test.confusion_matrix(thr)
    tn, fp, fn, tp = cm.values.ravel()
    pred = a[200:] >= thr
    assert tp == int((pred & (y[200:] == 1)).sum())
    assert m.loc["sensitivity", "value"] == pytest.approx(tp / (tp + fn))
    assert m.loc["ppv", "value"] == pytest.approx(tp / (tp + fp))
    assert m.loc["npv", "value"] == pytest.approx(tn / (tn + fn))
    assert m.loc["f1", "value"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    assert m.loc["accuracy", "value"] == pytest.approx((tp + tn) / 100)
    assert (m.lower <= m.value).all() and (m.value <= m.upper).all()


def test_wilson_matches_statsmodels():
    from statsmodels.stats.proportion import proportion_confint

    for k, n in [(0, 10), (3, 10), (10, 10), (45, 112)]:
        lo, hi = wilson_interval(k, n)
        rlo, rhi = proportion_confint(k, n, method="wilson")
        assert lo == pytest.approx(rlo, abs=1e-12) and hi == pytest.approx(rhi, abs=1e-12)


def test_edge_cases():
    with pytest.raises(ValueError, match="'y_true' parameter of RocCurve.from_predictions must contain both"):
        RocCurve.from_predictions([1, 1, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="'y_score' .* must be finite"):
        RocCurve.from_predictions([0, 1, 1], [0.1, np.nan, 0.3])
    with pytest.raises(ValueError, match="same length"):
        delong_test([0, 1], [0.1, 0.2], [0.3])
    # tiny n: one positive, one negative -> AUC defined, SE 0 (no within-class spread)
    roc = RocCurve.from_predictions([0, 1], [0.2, 0.8], n_bootstraps=10, random_state=0)
    assert roc.auc == 1.0
    # all scores tied -> AUC 0.5
    assert RocCurve.from_predictions([0, 1, 0, 1], [1, 1, 1, 1], n_bootstraps=0).auc == 0.5
    # identical scores in a paired test -> difference 0, statistic 0, p 1
    r = delong_test([0, 1, 0, 1], [0.1, 0.4, 0.3, 0.9], [0.1, 0.4, 0.3, 0.9])
    assert r.statistic == 0 and r.p_value == 1
    tm = threshold_metrics([0, 0, 0], [0.1, 0.2, 0.3], 0.15, random_state=0).set_index("metric")
    assert np.isnan(tm.loc["sensitivity", "value"])  # no positives: documented NaN


def test_frames_and_plot(binary_data):
    import holoviews as hv

    y, a, _ = binary_data
    roc = RocCurve.from_predictions(y, a, n_bootstraps=50, random_state=0, name="A")
    frame = roc.to_frame()
    assert list(frame.columns) == ["model", "threshold", "fpr", "tpr", "specificity"]
    assert roc.summary().loc[0, "auc"] == roc.auc
    assert isinstance(roc.plot(), hv.Overlay)
    assert delong_test(y, a, a + 1).to_frame().shape == (1, 13)  # + covariance, df, alternative


def test_band_sensitivities_match_sklearn_per_resample():
    """tpr_at_fpr on count matrices = max sensitivity at FPR <= g from sklearn's roc_curve, row by row."""
    from sklearn.metrics import roc_curve

    from radlab.evaluation._bootstrap import tie_groups, tpr_at_fpr

    rng = np.random.default_rng(5)
    y = rng.random(200) < 0.4
    s = np.round(rng.normal(size=200) + y, 1)  # ties
    groups, n_groups = tie_groups(s)
    grid = np.linspace(0, 1, 41)
    rows = [rng.integers(0, 200, 200) for _ in range(5)]
    pc = np.array([np.bincount(groups[i][y[i]], minlength=n_groups) for i in rows], dtype=float)
    nc = np.array([np.bincount(groups[i][~y[i]], minlength=n_groups) for i in rows], dtype=float)
    got = tpr_at_fpr(pc, nc, grid)
    for r, i in enumerate(rows):
        fpr, tpr, _ = roc_curve(y[i], s[i], drop_intermediate=False)  # keep every threshold
        ref = [tpr[fpr <= g + 1e-12].max() for g in grid]
        np.testing.assert_allclose(got[r], ref, atol=1e-12)
