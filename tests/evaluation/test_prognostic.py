"""C-index, time-dependent AUC, risk groups and NRI/IDI against scikit-survival, lifelines and brute force."""

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks
from sksurv.metrics import concordance_index_censored, concordance_index_ipcw, cumulative_dynamic_auc
from sksurv.util import Surv

from radlab.evaluation import (
    RiskGroups,
    TimeDependentAuc,
    compare_concordance,
    concordance_index,
    integrated_discrimination_improvement,
    net_reclassification_improvement,
)


def test_harrell_matches_sksurv_and_lifelines(survival_data):
    from lifelines.utils import concordance_index as ll_cindex

    t, e, x, _ = survival_data
    xr = np.round(x, 1)  # risk ties
    ours = concordance_index(t, e, xr, n_bootstraps=0).estimate
    assert ours == pytest.approx(concordance_index_censored(e.astype(bool), t, xr)[0], abs=1e-12)
    # lifelines takes "higher = longer survival" scores; it agrees when there are no tied times
    tu = t + np.arange(len(t)) * 1e-7
    assert concordance_index(tu, e, x, n_bootstraps=0).estimate == pytest.approx(ll_cindex(tu, -x, e), abs=1e-12)


@pytest.mark.parametrize("tau", [None, 3.0])
def test_uno_matches_sksurv(survival_data, tau):
    t, e, x, _ = survival_data
    y = Surv.from_arrays(e.astype(bool), t)
    ours = concordance_index(t, e, x, method="uno", tau=tau, n_bootstraps=0).estimate
    assert ours == pytest.approx(concordance_index_ipcw(y, y, x, tau=tau)[0], abs=1e-10)
    # censoring distribution from a separate training set
    tr = slice(0, 250)
    ours = concordance_index(t[250:], e[250:], x[250:], method="uno", train_durations=t[tr],
                             train_event_observed=e[tr], n_bootstraps=0).estimate
    ref = concordance_index_ipcw(Surv.from_arrays(e[tr].astype(bool), t[tr]),
                                 Surv.from_arrays(e[250:].astype(bool), t[250:]), x[250:])[0]
    assert ours == pytest.approx(ref, abs=1e-10)


def test_bootstrap_ci_matches_loop(survival_data):
    t, e, x, _ = survival_data
    r = concordance_index(t, e, x, n_bootstraps=300, random_state=0)
    rng = np.random.default_rng(1)
    loop = []
    for _ in range(300):
        i = rng.integers(0, len(t), len(t))
        loop.append(concordance_index_censored(e[i].astype(bool), t[i], x[i])[0])
    assert r.ci_low < r.estimate < r.ci_high
    assert r.se == pytest.approx(np.std(loop, ddof=1), rel=0.2)  # same statistic, independent MC draws
    assert np.mean([r.ci_low, r.ci_high]) == pytest.approx(np.mean(loop), abs=0.01)


def test_compare_concordance(survival_data):
    t, e, x, _ = survival_data
    noisy = x + np.random.default_rng(0).normal(size=len(x)) * 2
    r = compare_concordance(t, e, x, noisy, n_bootstraps=500, random_state=0)
    assert r.c_a == pytest.approx(concordance_index_censored(e.astype(bool), t, x)[0])
    assert r.difference > 0 and r.ci_low < r.difference < r.ci_high and r.p_value < 0.05
    same = compare_concordance(t, e, x, x, n_bootstraps=50, random_state=0)
    assert same.difference == 0 and same.p_value == 1.0
    ab = compare_concordance(t, e, x, noisy, n_bootstraps=100, random_state=3)
    ba = compare_concordance(t, e, noisy, x, n_bootstraps=100, random_state=3)
    assert ab.difference == -ba.difference and ab.ci_low == pytest.approx(-ba.ci_high)


def test_concordance_edge_cases():
    with pytest.raises(ValueError, match="no events"):
        concordance_index([1, 2, 3], [0, 0, 0], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="'method' parameter"):
        concordance_index([1, 2, 3], [1, 0, 1], [0.1, 0.2, 0.3], method="gonen")
    with pytest.raises(ValueError, match="'risk' .* must be finite"):
        concordance_index([1, 2, 3], [1, 0, 1], [0.1, np.nan, 0.3])
    assert concordance_index([1, 2], [1, 0], [5, 5], n_bootstraps=0).estimate == 0.5  # tied risks


def test_time_dependent_auc_matches_sksurv(survival_data):
    t, e, x, _ = survival_data
    y = Surv.from_arrays(e.astype(bool), t)
    times = [1.0, 2.0, 4.0]
    td = TimeDependentAuc.from_survival(t, e, x, times, n_bootstraps=30, random_state=0)
    auc, mean_auc = cumulative_dynamic_auc(y, y, x, times)
    np.testing.assert_allclose(td.auc, auc, atol=1e-12)
    assert td.mean_auc == pytest.approx(mean_auc)
    assert (td.lower <= td.auc).all() and (td.auc <= td.upper).all()
    # brute-force IPCW AUC at t=2 (Uno 2007): cases T<=t with event weighted 1/G(T_i-), controls T>t
    from sksurv.nonparametric import CensoringDistributionEstimator

    w = CensoringDistributionEstimator().fit(y).predict_ipcw(y)
    case = (t <= 2.0) & (e == 1)
    ctrl = t > 2.0
    conc = (x[case][:, None] > x[ctrl][None, :]) + 0.5 * (x[case][:, None] == x[ctrl][None, :])
    brute = (w[case][:, None] * conc).sum() / (w[case].sum() * ctrl.sum())
    assert td.auc[1] == pytest.approx(brute, abs=1e-10)
    with pytest.raises(ValueError, match="within follow-up"):
        TimeDependentAuc.from_survival(t, e, x, [t.max() + 1])


def test_risk_groups_frozen_cutoffs(survival_data):
    t, e, x, _ = survival_data
    train, test = x[:200, None], x[200:, None]
    med = RiskGroups().fit(train)
    assert med.cutoff_[0] == np.median(train)
    out = med.transform(test).ravel()
    np.testing.assert_array_equal(out, (test.ravel() >= np.median(train)).astype(int))
    assert RiskGroups(method="percentile", percentile=75).fit(train).cutoff_[0] == np.percentile(train, 75)
    assert RiskGroups(method="fixed", cutoff=0.3).fit(train).transform([[0.2], [0.3]]).ravel().tolist() == [0, 1]
    y = Surv.from_arrays(e[:200].astype(bool), t[:200])
    yd = RiskGroups(method="youden", time=2.0).fit(train, y)
    from sklearn.metrics import roc_curve

    keep = ((t[:200] <= 2) & (e[:200] == 1)) | (t[:200] > 2)
    fpr, tpr, thr = roc_curve(((t[:200] <= 2) & (e[:200] == 1))[keep], x[:200][keep])
    assert yd.cutoff_[0] == thr[np.argmax(tpr - fpr)]
    with pytest.raises(ValueError, match="needs 'time'"):
        RiskGroups(method="youden").fit(train, y)
    with pytest.raises(ValueError, match="'cutoff' parameter"):
        RiskGroups(method="fixed").fit(train)


@parametrize_with_checks([RiskGroups(), RiskGroups(method="percentile", percentile=75),
                          RiskGroups(method="fixed", cutoff=0.0)])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def _nri_loop(y, old, new, cuts=None):
    if cuts is not None:
        old, new = np.digitize(old, cuts), np.digitize(new, cuts)
    ev = [np.sign(n - o) for yy, o, n in zip(y, old, new) if yy == 1]
    ne = [np.sign(o - n) for yy, o, n in zip(y, old, new) if yy == 0]
    return np.mean(ev) + np.mean(ne)


def test_nri_idi_against_direct_formulas(binary_data):
    from scipy.special import expit

    y, a, b = binary_data
    old, new = expit(a - 0.5), expit(0.6 * a + 0.6 * b - 0.5)
    cat = net_reclassification_improvement(y, old, new, cutoffs=[0.2, 0.5], n_bootstraps=500, random_state=0)
    assert cat.estimate == pytest.approx(_nri_loop(y, old, new, [0.2, 0.5]), abs=1e-12)
    cont = net_reclassification_improvement(y, old, new, n_bootstraps=500, random_state=0)
    assert cont.estimate == pytest.approx(_nri_loop(y, old, new), abs=1e-12)
    assert cont.ci_low < cont.estimate < cont.ci_high
    # Pencina (2008) SE for the continuous NRI
    e, ne = y == 1, y == 0
    up, down = new > old, new < old
    se = np.sqrt((up[e].mean() + down[e].mean()) / e.sum() + (up[ne].mean() + down[ne].mean()) / ne.sum())
    assert cont.se == pytest.approx(se)
    idi = integrated_discrimination_improvement(y, old, new, n_bootstraps=500, random_state=0)
    slope = lambda p: p[e].mean() - p[ne].mean()  # noqa: E731  discrimination slope
    assert idi.estimate == pytest.approx(slope(new) - slope(old), abs=1e-12)
    d = new - old
    assert idi.se == pytest.approx(np.sqrt(d[e].var(ddof=1) / e.sum() + d[ne].var(ddof=1) / ne.sum()))
    assert idi.ci_low < idi.estimate < idi.ci_high
    # bootstrap SE close to Pencina's asymptotic SE
    assert (idi.ci_high - idi.ci_low) / (2 * 1.96) == pytest.approx(idi.se, rel=0.25)
    same = net_reclassification_improvement(y, old, old, n_bootstraps=0)
    assert same.estimate == 0 and np.isnan(same.p_value)
    with pytest.raises(ValueError, match="must contain both classes"):
        integrated_discrimination_improvement([1, 1], [0.1, 0.2], [0.3, 0.4])


def test_frames_and_plots(survival_data):
    import holoviews as hv

    t, e, x, _ = survival_data
    td = TimeDependentAuc.from_survival(t, e, x, [1.0, 2.0], n_bootstraps=10, random_state=0, name="lp")
    assert list(td.to_frame().columns) == ["model", "time", "auc", "lower", "upper"]
    assert isinstance(td.plot(), hv.Overlay)
    assert concordance_index(t, e, x, n_bootstraps=10, random_state=0).to_frame().shape == (1, 7)
    assert compare_concordance(t, e, x, -x, n_bootstraps=10, random_state=0).to_frame().loc[0, "difference"] > 0


def test_survival_decision_curve_bootstrap(survival_data):
    from radlab.evaluation import DecisionCurve

    t, e, x, _ = survival_data
    risk = 1 - np.exp(-0.2 * np.exp(0.7 * x))
    dc = DecisionCurve.from_survival(t, e, risk, time=2.0, thresholds=[0.1, 0.2, 0.3], n_bootstraps=20,
                                     random_state=0)
    m = dc.table.query("model == 'model'")
    assert (m.nb_lower <= m.nb_upper).all() and dc.kind == "survival"


def test_td_auc_bootstrap_equals_sksurv_on_each_resample():
    """The vectorised bootstrap gives, resample by resample, sksurv's cumulative_dynamic_auc (ties included)."""
    from sksurv.metrics import cumulative_dynamic_auc
    from sksurv.nonparametric import CensoringDistributionEstimator
    from sksurv.util import Surv

    from radlab.evaluation._td_auc import _bootstrap_auc_t

    rng = np.random.default_rng(11)
    x = rng.normal(size=150)
    t, e = rng.exponential(np.exp(-x)), rng.random(150) < 0.7
    r = np.round(x, 1)  # tied risks
    times = np.percentile(t[e], [30, 60])
    train = Surv.from_arrays(e, t)
    ipcw = CensoringDistributionEstimator().fit(train).predict_ipcw(train)
    got = _bootstrap_auc_t(t, e, r, times, ipcw, 20, np.random.default_rng(3))
    draws = np.random.default_rng(3).integers(0, 150, size=(20, 150))
    ref = []
    for idx in draws:  # the same resamples, one at a time
        try:
            ref.append(cumulative_dynamic_auc(train, Surv.from_arrays(e[idx], t[idx]), r[idx], times)[0])
        except ValueError:
            continue
    assert len(got) == len(ref) >= 15
    np.testing.assert_allclose(got, np.array(ref), atol=1e-12)
