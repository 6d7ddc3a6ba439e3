"""C-index, time-dependent AUC, risk groups and NRI/IDI against scikit-survival, lifelines and brute force."""

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks
from sksurv.metrics import concordance_index_censored, concordance_index_ipcw, cumulative_dynamic_auc
from sksurv.util import Surv

from radlab.errors import InputError
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


@pytest.mark.parametrize("data", ["simulated", "gbsg2"])
def test_pair_counts_match_sksurv(survival_data, data):
    """concordant, discordant, tied_risk and tied_time: scikit-survival's concordance_index_censored (exactly),
    with tied risks and tied times present; on the real GBSG2 trial data, the Cox-like score pnodes."""
    if data == "gbsg2":
        from sksurv.datasets import load_gbsg2

        X, y = load_gbsg2()
        t, e, x = y["time"].astype(float), y["cens"].astype(int), X["pnodes"].to_numpy(float)
    else:
        t, e, x, _ = survival_data
        x = np.round(x, 1)
    r = concordance_index(t, e, x, n_bootstraps=0)
    ref = concordance_index_censored(e.astype(bool), t, x)
    assert (r.concordant, r.discordant, r.tied_risk, r.tied_time) == tuple(int(v) for v in ref[1:])
    assert r.estimate == pytest.approx(ref[0], abs=1e-12) and r.n_strata == 1
    assert r.tied_risk > 0 and r.tied_time >= 0


def test_stratified_concordance_pools_pairs_within_strata(survival_data):
    """R survival's concordance(Surv(t, e) ~ x + strata(g)): pairs within a stratum only, counts pooled, C =
    (concordant + tied_risk / 2) / comparable pairs. Reference: scikit-survival's counts per stratum, pooled."""
    t, e, x, g = survival_data
    x = np.round(x, 1)
    r = concordance_index(t, e, x, strata=np.array(["a", "b", "c"])[g], n_bootstraps=20, random_state=0)
    parts = np.array([concordance_index_censored(e[g == k].astype(bool), t[g == k], x[g == k])[1:4]
                      for k in range(3)]).sum(axis=0)
    assert (r.concordant, r.discordant, r.tied_risk) == tuple(int(v) for v in parts) and r.n_strata == 3
    assert r.estimate == pytest.approx((parts[0] + parts[2] / 2) / parts.sum(), abs=1e-12)
    assert r.estimate != pytest.approx(concordance_index(t, e, x, n_bootstraps=0).estimate, abs=1e-6)
    with pytest.raises(ValueError, match="'strata' has 3 values for 400 cases"):
        concordance_index(t, e, x, strata=[1, 2, 3])
    with pytest.raises(ValueError, match=r"'strata' is missing for 1 case\(s\) \(first at position 0\)"):
        concordance_index(t, e, x, strata=[None] + [1] * 399)
    with pytest.raises(ValueError, match="no comparable pairs .* within a stratum"):
        concordance_index([1, 2], [1, 1], [0.2, 0.1], strata=["a", "b"])


def test_concordance_results_round_trip(survival_data, tmp_path):
    from radlab.results import load

    t, e, x, _ = survival_data
    for result in (concordance_index(t, e, x, n_bootstraps=10, random_state=0),
                   compare_concordance(t, e, x, -x, n_bootstraps=10, random_state=0)):
        assert load(result.save(tmp_path / "c.json")) == result


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
    assert list(td.to_frame().columns) == ["model", "time", "auc", "lower", "upper", "mean_auc"]
    assert (td.to_frame().mean_auc == td.mean_auc).all() and f"mean_auc={td.mean_auc:.3f}" in repr(td)
    assert isinstance(td.plot(), hv.Overlay)
    assert concordance_index(t, e, x, n_bootstraps=10, random_state=0).to_frame().shape == (1, 12)
    assert compare_concordance(t, e, x, -x, n_bootstraps=10, random_state=0).to_frame().loc[0, "difference"] > 0


def test_survival_decision_curve_bootstrap(survival_data):
    from radlab.evaluation import DecisionCurve

    t, e, x, _ = survival_data
    risk = 1 - np.exp(-0.2 * np.exp(0.7 * x))
    dc = DecisionCurve.from_survival(t, e, risk, time=2.0, thresholds=[0.1, 0.2, 0.3], n_bootstraps=20,
                                     random_state=0)
    m = dc.table.query("model == 'model'")
    assert (m.nb_lower <= m.nb_upper).all() and dc.kind == "survival"


def _gbsg2_risk_per_time():
    """GBSG2 (686 breast cancer patients) and a risk that changes with time: positive nodes at the first time,
    tumour size at the second, low progesterone receptor at the third (integers, so with ties)."""
    from sksurv.datasets import load_gbsg2

    X, y = load_gbsg2()
    times = np.array([365.0, 1095.0, 1825.0])
    risk = np.column_stack([X.pnodes, X.tsize, -X.progrec])
    return y["time"], y["cens"], risk, times, y


def test_td_auc_2d_risk_matches_sksurv():
    t, e, risk, times, y = _gbsg2_risk_per_time()
    td = TimeDependentAuc.from_survival(t, e, risk, times, n_bootstraps=20, random_state=0)
    auc, mean_auc = cumulative_dynamic_auc(y, y, risk, times)
    np.testing.assert_allclose(td.auc, auc, rtol=0, atol=1e-12)
    assert abs(td.mean_auc - mean_auc) <= 1e-12
    # sksurv's mean: the AUC(t) weighted by the drop of the Kaplan-Meier survival at each time
    from sksurv.nonparametric import kaplan_meier_estimator

    km_t, km_s = kaplan_meier_estimator(e, t)
    s = km_s[np.searchsorted(km_t, times, side="right") - 1]
    assert td.mean_auc == pytest.approx((auc * -np.diff(np.r_[1.0, s])).sum() / (1 - s[-1]), abs=1e-12)
    one = [TimeDependentAuc.from_survival(t, e, risk[:, k], times) for k in range(3)]  # column j scores times[j]
    assert [o.auc[k] for k, o in enumerate(one)] == pytest.approx(td.auc, abs=1e-12)
    assert (td.lower <= td.auc).all() and (td.auc <= td.upper).all()
    assert "mean_auc" in td.to_frame() and f"mean_auc={mean_auc:.3f}" in repr(td)


def test_td_auc_2d_risk_column_count():
    t, e, risk, times, _ = _gbsg2_risk_per_time()
    with pytest.raises(InputError, match=r"The 'risk' parameter of TimeDependentAuc.from_survival must have one "
                                         r"column per time \(2\) when 2-D. Got shape \(686, 3\) instead."):
        TimeDependentAuc.from_survival(t, e, risk, times[:2])


def test_td_auc_2d_risk_nan():
    t, e, risk, times, _ = _gbsg2_risk_per_time()
    risk[5, 1] = np.nan
    with pytest.raises(InputError, match=r"The 'risk' parameter of TimeDependentAuc.from_survival must be finite "
                                         r"\(no NaN/inf\). Got 1 non-finite value\(s\) instead"):
        TimeDependentAuc.from_survival(t, e, risk, times)


def test_td_auc_2d_risk_not_numbers():
    t, e, risk, times, _ = _gbsg2_risk_per_time()
    risk = risk.astype(object)
    risk[0, 2] = "high"
    with pytest.raises(InputError, match=r"The 'risk' parameter of TimeDependentAuc.from_survival must hold "
                                         r"numbers. Got 1 value\(s\) that are not numbers \(e.g. 'high'\)"):
        TimeDependentAuc.from_survival(t, e, risk, times)


def test_td_auc_2d_risk_times_not_increasing():
    t, e, risk, times, _ = _gbsg2_risk_per_time()
    with pytest.raises(InputError, match=r"The 'times' parameter of TimeDependentAuc.from_survival must be "
                                         r"increasing when 'risk' is 2-D \(column j scores times\[j\]\). "
                                         r"Got \[1825.0, 1095.0, 365.0\] instead."):
        TimeDependentAuc.from_survival(t, e, risk, times[::-1])


def test_td_auc_risk_3d():
    t, e, risk, times, _ = _gbsg2_risk_per_time()
    with pytest.raises(InputError, match=r"The 'risk' parameter of TimeDependentAuc.from_survival must be 1-D \(one "
                                         r"score per case\) or 2-D \(one column per time\). Got shape "
                                         r"\(686, 3, 1\) instead."):
        TimeDependentAuc.from_survival(t, e, risk[:, :, None], times)


def test_td_auc_2d_risk_rows():
    t, e, risk, times, _ = _gbsg2_risk_per_time()
    with pytest.raises(InputError, match=r"The inputs of TimeDependentAuc.from_survival must have the same "
                                         r"length. Got \{'durations': 686, 'risk': 685\} instead."):
        TimeDependentAuc.from_survival(t, e, risk[1:], times)


@pytest.mark.parametrize("risk_dims", [1, 2])
def test_td_auc_bootstrap_equals_sksurv_on_each_resample(risk_dims):
    """The vectorised bootstrap gives, resample by resample, sksurv's cumulative_dynamic_auc (ties included)."""
    from sksurv.metrics import cumulative_dynamic_auc
    from sksurv.nonparametric import CensoringDistributionEstimator
    from sksurv.util import Surv

    from radlab.evaluation._td_auc import _bootstrap_auc_t

    rng = np.random.default_rng(11)
    x = rng.normal(size=150)
    t, e = rng.exponential(np.exp(-x)), rng.random(150) < 0.7
    r = np.round(x, 1) if risk_dims == 1 else np.column_stack([np.round(x, 1), np.round(x ** 2, 1)])  # ties
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
