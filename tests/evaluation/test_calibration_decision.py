"""Calibration against scikit-learn / statsmodels, decision curves against the dcurves package."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss

from radlab.evaluation import CalibrationCurve, DecisionCurve, hosmer_lemeshow, logistic_recalibration
from radlab.errors import InputError


@pytest.fixture
def probs():
    rng = np.random.default_rng(11)
    p = rng.uniform(0.02, 0.98, 600)
    y = (rng.random(600) < p**1.4).astype(int)
    return y, p


@pytest.mark.parametrize("strategy", ["quantile", "uniform"])
def test_binned_curve_and_brier_match_sklearn(probs, strategy):
    y, p = probs
    cal = CalibrationCurve.from_predictions(y, p, n_bins=8, strategy=strategy, n_bootstraps=0)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=8, strategy=strategy)
    np.testing.assert_allclose(cal.bins.observed, prob_true, atol=1e-12)
    np.testing.assert_allclose(cal.bins.predicted, prob_pred, atol=1e-12)
    assert cal.stats.brier.iloc[0] == pytest.approx(brier_score_loss(y, p), abs=1e-12)
    assert ((cal.bins.lower <= cal.bins.observed) & (cal.bins.observed <= cal.bins.upper)).all()


def test_recalibration_matches_statsmodels_and_sklearn(probs):
    import statsmodels.formula.api as smf
    from sklearn.linear_model import LogisticRegression

    y, p = probs
    lp = np.log(p / (1 - p))
    r = logistic_recalibration(y, p)
    df = pd.DataFrame({"y": y, "lp": lp})
    ref = smf.logit("y ~ lp", df).fit(disp=0)
    assert r["slope"] == pytest.approx(ref.params["lp"], rel=1e-6)  # GLM-IRLS vs Newton: optimiser tolerance
    assert r["slope_lower"] == pytest.approx(ref.conf_int().loc["lp", 0], rel=1e-5)
    lr = LogisticRegression(C=np.inf, tol=1e-10, max_iter=1000).fit(lp[:, None], y)
    assert r["slope"] == pytest.approx(lr.coef_[0, 0], rel=1e-4)
    ref_int = smf.glm("y ~ 1", df, offset=lp, family=__import__("statsmodels.api").api.families.Binomial()).fit()
    assert r["intercept"] == pytest.approx(ref_int.params.iloc[0], rel=1e-6)


def test_perfectly_calibrated_data_has_slope_one():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.05, 0.95, 20000)
    y = rng.random(20000) < p
    cal = CalibrationCurve.from_predictions(y, p, n_bootstraps=0)
    s = cal.stats.iloc[0]
    assert s.slope_lower < 1 < s.slope_upper and s.intercept_lower < 0 < s.intercept_upper
    assert s.ici < 0.02 and s.e50 <= s.e90 <= s.emax


def test_hosmer_lemeshow_by_hand(probs):
    y, p = probs
    r = hosmer_lemeshow(y, p, n_bins=10)
    edges = np.percentile(p, np.arange(0, 101, 10))
    stat = 0.0
    for k in range(10):
        sel = (p >= edges[k]) & ((p < edges[k + 1]) if k < 9 else (p <= edges[k + 1]))
        o1, e1 = y[sel].sum(), p[sel].sum()
        o0, e0 = sel.sum() - o1, sel.sum() - e1
        stat += (o1 - e1) ** 2 / e1 + (o0 - e0) ** 2 / e0  # the textbook 2 x g form
    assert r["statistic"] == pytest.approx(stat, rel=1e-10) and r["df"] == 8


def test_ici_matches_statsmodels_lowess(probs):
    from statsmodels.nonparametric.smoothers_lowess import lowess

    y, p = probs
    cal = CalibrationCurve.from_predictions(y, p, n_bootstraps=20, random_state=0)
    fitted = lowess(y, p, frac=2 / 3, it=0, return_sorted=False)
    assert cal.stats.ici.iloc[0] == pytest.approx(np.mean(np.abs(np.clip(fitted, 0, 1) - p)), rel=1e-10)
    sm = cal.smooth
    assert (sm.lower <= sm.observed + 1e-9).mean() > 0.9 and (sm.observed <= sm.upper + 1e-9).mean() > 0.9


def test_per_group_curves(probs):
    y, p = probs
    centre = np.repeat(["A", "B", "C"], 200)
    cal = CalibrationCurve.from_predictions(y, p, groups=centre, n_bootstraps=0)
    assert cal.stats.group.tolist() == ["A", "B", "C"]
    sub = CalibrationCurve.from_predictions(y[200:400], p[200:400], n_bootstraps=0)
    assert cal.stats.set_index("group").loc["B", "slope"] == pytest.approx(sub.stats.slope.iloc[0])


def test_survival_calibration_matches_lifelines(survival_data):
    from lifelines import KaplanMeierFitter

    t, e, x, _ = survival_data
    pred = np.exp(-0.3 * np.exp(0.7 * x))  # some predicted survival at t=2
    cal = CalibrationCurve.from_survival(t, e, pred, time=2.0, n_bins=5)
    edges = np.percentile(pred, [0, 20, 40, 60, 80, 100])
    sel = pred < edges[1]
    ref = KaplanMeierFitter().fit(t[sel], e[sel])
    b0 = cal.bins.iloc[0]
    assert b0.n == sel.sum() and b0.predicted == pytest.approx(pred[sel].mean())
    assert b0.observed == pytest.approx(float(ref.survival_function_at_times(2.0).iloc[0]), abs=1e-12)
    assert b0.lower <= b0.observed <= b0.upper


def test_calibration_errors_and_plot(probs):
    import holoviews as hv

    y, p = probs
    with pytest.raises(ValueError, match=r"'y_prob' .* must be probabilities in \[0, 1\]"):
        CalibrationCurve.from_predictions(y, p * 2)
    with pytest.raises(ValueError, match="'strategy' parameter"):
        CalibrationCurve.from_predictions(y, p, strategy="kmeans")
    with pytest.raises(InputError, match="'y_true' .* must contain both classes. Got only negatives"):
        CalibrationCurve.from_predictions(np.zeros(50), p[:50], n_bootstraps=0)
    groups = np.r_[np.zeros(50), np.ones(50)].astype(int).astype(str)  # group "0": one class, documented: Brier only
    yy = np.r_[np.zeros(50), y[50:100]]
    by_group = CalibrationCurve.from_predictions(yy, p[:100], groups=groups, n_bootstraps=0).stats.set_index("group")
    assert np.isnan(by_group.slope["0"]) and by_group.brier["0"] == pytest.approx(np.mean(p[:50] ** 2))
    assert isinstance(CalibrationCurve.from_predictions(y, p, n_bootstraps=5).plot(), hv.Overlay)


DCURVES_DATA = Path(__import__("dcurves").__file__).parent / "data"
THRESHOLDS = np.round(np.arange(0.01, 1.0, 0.01), 2)
COLUMNS = ["test_pos_rate", "tp_rate", "fp_rate", "net_benefit", "net_intervention_avoided"]


def _compare(ref, ours):
    m = ref.merge(ours, on=["model", "threshold"], suffixes=("_ref", ""))
    assert len(m) == len(ref)
    for c in COLUMNS + ["prevalence"]:
        a, b = m[f"{c}_ref"].astype(float).to_numpy(), m[c].to_numpy()
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_allclose(a[~np.isnan(a)], b[~np.isnan(b)], atol=1e-10)  # float noise only


@pytest.mark.filterwarnings("ignore::FutureWarning")  # dcurves' pandas usage (third party)
def test_binary_decision_curve_matches_dcurves():
    import dcurves

    d = pd.read_csv(DCURVES_DATA / "df_binary.csv")
    models = ["cancerpredmarker", "famhistory"]
    ref = dcurves.dca(data=d, outcome="cancer", modelnames=models, thresholds=THRESHOLDS, harm={"famhistory": 0.01})
    ours = DecisionCurve.from_predictions(d.cancer, {m: d[m] for m in models}, thresholds=THRESHOLDS,
                                          harm={"famhistory": 0.01}).table
    _compare(ref, ours)
    row = ours.query("model == 'cancerpredmarker' and threshold == 0.2").iloc[0]
    assert row.standardized_net_benefit == pytest.approx(row.net_benefit / row.prevalence)
    assert row.n_high_risk == pytest.approx(1000 * row.test_pos_rate)


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_threshold_zero_and_exact_0_1_risks_match_dcurves():
    # dcurves (Python port of R dcurves, _rectify_model_risk_boundaries) nudges risks of exactly 0 / 1 by machine
    # epsilon. famhistory is a 0/1 marker, so at pt = 0 its zeros are test-negative. Tolerance 1e-10 (float noise).
    import dcurves

    d = pd.read_csv(DCURVES_DATA / "df_binary.csv")
    models = ["cancerpredmarker", "famhistory"]
    thr = [0.0, 0.01, 0.5, 0.99]
    ref = dcurves.dca(data=d, outcome="cancer", modelnames=models, thresholds=thr)
    ours = DecisionCurve.from_predictions(d.cancer, {m: d[m] for m in models}, thresholds=thr).table
    _compare(ref, ours)
    at0 = ours[ours.threshold == 0].set_index("model")
    assert at0.loc["none", "net_benefit"] == 0.0 and at0.loc["none", "net_intervention_avoided"] == -np.inf
    assert at0.loc["none", "test_pos_rate"] == 0.0
    assert at0.loc["all", "net_benefit"] == pytest.approx(d.cancer.mean(), abs=1e-15)
    assert at0.loc["famhistory", "test_pos_rate"] == pytest.approx(d.famhistory.mean(), abs=1e-15)


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_case_control_prevalence_matches_dcurves():
    import dcurves

    d = pd.read_csv(DCURVES_DATA / "df_case_control.csv")
    ref = dcurves.dca(data=d, outcome="casecontrol", modelnames=["cancerpredmarker"], thresholds=THRESHOLDS,
                      prevalence=0.20)
    ours = DecisionCurve.from_predictions(d.casecontrol, d.cancerpredmarker, thresholds=THRESHOLDS,
                                          prevalence=0.20).table.replace({"model": {"model": "cancerpredmarker"}})
    _compare(ref, ours)


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_survival_decision_curve_matches_dcurves():
    import dcurves

    s = pd.read_csv(DCURVES_DATA / "df_surv.csv")
    ref = dcurves.dca(data=s, outcome="cancer", modelnames=["cancerpredmarker"], thresholds=THRESHOLDS, time=1.5,
                      time_to_outcome_col="ttcancer")
    ours = DecisionCurve.from_survival(s.ttcancer, s.cancer, {"cancerpredmarker": s.cancerpredmarker}, time=1.5,
                                       thresholds=THRESHOLDS).table
    _compare(ref, ours)


def test_as_probability_binary_is_logistic_risk():
    # R dcurves as_probability (binary): fitted risks of glm(outcome ~ marker, binomial). Reference: an unpenalised
    # scikit-learn LogisticRegression on the same data (independent optimiser), tolerance 1e-6. (The Python dcurves
    # port's models_to_prob does not convert here: its marker rows equal the raw marker's, so it is not the reference.)
    from sklearn.linear_model import LogisticRegression

    d = pd.read_csv(DCURVES_DATA / "df_binary.csv")
    lr = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(d[["marker"]], d.cancer)
    risk = lr.predict_proba(d[["marker"]])[:, 1]
    from radlab.evaluation._decision import _logistic_risk

    np.testing.assert_allclose(_logistic_risk(d.cancer.to_numpy(), d.marker.to_numpy()), risk, atol=1e-6)
    assert np.abs(risk[:, None] - np.array([0.1, 0.3])).min() > 1e-5  # 1e-6 differences cannot flip a case
    ours = DecisionCurve.from_predictions(d.cancer, {"marker": d.marker}, thresholds=[0.1, 0.3],
                                          as_probability=["marker"]).table
    ref = DecisionCurve.from_predictions(d.cancer, {"marker": risk}, thresholds=[0.1, 0.3]).table
    np.testing.assert_allclose(ours.net_benefit, ref.net_benefit, atol=1e-12)
    with pytest.raises(ValueError, match="'as_probability' parameter of DecisionCurve.from_predictions names"):
        DecisionCurve.from_predictions(d.cancer, {"marker": d.marker}, as_probability=["markr"])


def test_as_probability_survival_is_one_minus_cox_survival():
    # R dcurves as_probability (survival): 1 - S(time | marker) from coxph(Surv(ttcancer, cancer) ~ marker) and
    # survfit's Breslow baseline (no tied times here). Reference written out: b from statsmodels PHReg (Efron),
    # H0(t) = sum over event times <= t of 1 / sum_{at risk} exp(b x), S = exp(-H0 exp(b x)); tolerance 1e-6
    # (two optimisers). (The Python dcurves port returns S, not 1 - S, so it is not the reference.)
    from statsmodels.duration.hazard_regression import PHReg

    from radlab.evaluation._decision import _cox_risk

    s = pd.read_csv(DCURVES_DATA / "df_surv.csv")
    t, e, x = s.ttcancer.to_numpy(), s.cancer.to_numpy().astype(bool), s.marker.to_numpy()
    b = PHReg(t, x[:, None], status=e.astype(int), ties="efron").fit().params[0]
    h0 = sum(1 / np.exp(b * x[t >= ti]).sum() for ti in np.sort(t[e & (t <= 1.5)]))
    risk = 1 - np.exp(-h0 * np.exp(b * x))
    np.testing.assert_allclose(_cox_risk(t, e, x, 1.5), risk, atol=1e-6)
    thr = [0.1, 0.3]  # no risk within 1e-5 of these, so 1e-6 differences cannot flip a case
    assert np.abs(risk[:, None] - np.array(thr)).min() > 1e-5
    ours = DecisionCurve.from_survival(t, e, {"marker": x}, time=1.5, thresholds=thr, as_probability=["marker"])
    ref = DecisionCurve.from_survival(t, e, {"marker": risk}, time=1.5, thresholds=thr)
    np.testing.assert_allclose(ours.table.net_benefit, ref.table.net_benefit, atol=1e-12)


def test_decision_bootstrap_band_and_plot(probs):
    import holoviews as hv

    y, p = probs
    dc = DecisionCurve.from_predictions(y, p, thresholds=[0.1, 0.3, 0.5], n_bootstraps=200, random_state=0)
    m = dc.table.query("model == 'model'")
    assert (m.nb_lower <= m.net_benefit).all() and (m.net_benefit <= m.nb_upper).all()
    for kind in ("net_benefit", "standardized_net_benefit", "clinical_impact"):
        assert isinstance(dc.plot(kind=kind), hv.Overlay)
    with pytest.raises(ValueError, match="must hold risks in"):
        DecisionCurve.from_predictions(y, p + 1)
