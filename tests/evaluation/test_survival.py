"""Kaplan-Meier, log-rank and Cox tables against lifelines and statsmodels."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifelines import KaplanMeierFitter
from lifelines.statistics import logrank_test as ll_logrank
from lifelines.statistics import multivariate_logrank_test
from lifelines.utils import median_survival_times

from radlab.evaluation import CoxTable, KaplanMeier, cox_univariate, logrank_test


def test_km_matches_lifelines(survival_data):
    t, e, _, g = survival_data
    km = KaplanMeier.from_survival(t, e, groups=g)
    for label in np.unique(g):
        sel = g == label
        ref = KaplanMeierFitter().fit(t[sel], e[sel])
        tab = km.table[km.table.group == label]
        np.testing.assert_allclose(tab.time, ref.survival_function_.index, atol=0)
        np.testing.assert_allclose(tab.survival, ref.survival_function_.iloc[:, 0], atol=1e-12)  # float noise
        np.testing.assert_allclose(tab[["lower", "upper"]], ref.confidence_interval_, atol=1e-12)
        np.testing.assert_allclose(tab.at_risk, ref.event_table.at_risk, atol=0)
        med = km.medians.set_index("group").loc[label]
        assert med["median"] == ref.median_survival_time_
        ci = median_survival_times(ref.confidence_interval_)
        assert (med["lower"], med["upper"]) == tuple(ci.iloc[0])
        sa = km.survival_at([1.0, 3.3])
        np.testing.assert_allclose(sa[sa.group == label].survival, ref.survival_function_at_times([1.0, 3.3]),
                                   atol=1e-12)


def test_numbers_at_risk_brute_force(survival_data):
    t, e, _, g = survival_data
    km = KaplanMeier.from_survival(t, e, groups=g, at_risk_times=[0, 2, 5])
    row = km.at_risk.query("group == 1 and time == 2").iloc[0]
    sel = g == 1
    assert row.at_risk == (t[sel] >= 2).sum()
    assert row.events == ((t[sel] < 2) & (e[sel] == 1)).sum()
    assert row.at_risk + row.events + row.censored == sel.sum()
    assert km.at_risk_table().shape == (3, 3)


def test_logrank_matches_lifelines(survival_data):
    t, e, _, g = survival_data
    ours = logrank_test(t, e, g)
    ref = multivariate_logrank_test(t, g, e)
    assert ours.statistic == pytest.approx(ref.test_statistic, rel=1e-10)
    assert ours.p_value == pytest.approx(ref.p_value, rel=1e-8)
    assert ours.df == 2
    two = g < 2
    ours2 = logrank_test(t[two], e[two], g[two])
    ref2 = ll_logrank(t[two & (g == 0)], t[two & (g == 1)], e[two & (g == 0)], e[two & (g == 1)])
    assert ours2.statistic == pytest.approx(ref2.test_statistic, rel=1e-10)
    # with two groups the trend test is the ordinary log-rank test
    assert logrank_test(t[two], e[two], g[two], trend=True).statistic == pytest.approx(ours2.statistic, rel=1e-10)


def test_logrank_trend_brute_force(survival_data):
    # trend statistic (sum_g w_g (O_g - E_g))^2 / w'Vw written out with a loop over event times
    t, e, _, g = survival_data
    w = np.array([0.0, 1.0, 2.0])
    u, v = 0.0, 0.0
    for time in np.unique(t[e == 1]):
        at = t >= time
        n_g = np.array([(at & (g == k)).sum() for k in range(3)], float)
        d_g = np.array([((t == time) & (e == 1) & (g == k)).sum() for k in range(3)], float)
        n, d = n_g.sum(), d_g.sum()
        u += w @ (d_g - n_g * d / n)
        if n > 1:
            v += d * (n - d) / (n - 1) * ((w**2 @ n_g) / n - (w @ n_g / n) ** 2)
    ours = logrank_test(t, e, g, trend=True)
    assert ours.statistic == pytest.approx(u**2 / v, rel=1e-10)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.booleans()), min_size=1, max_size=60))
def test_km_non_increasing_in_unit_interval(cases):
    t = np.array([c[0] for c in cases], float)
    e = np.array([c[1] for c in cases])
    tab = KaplanMeier.from_survival(t, e).table
    s = tab.survival.to_numpy()
    assert np.all(np.diff(s) <= 1e-15) and np.all((s >= 0) & (s <= 1))
    ok = tab.lower.notna().to_numpy()  # NaN exactly where Greenwood's variance is undefined (the curve is at 0)
    np.testing.assert_array_equal(~ok, (s == 0) | ~np.isfinite(tab.greenwood))
    assert np.all(tab.lower[ok] <= s[ok] + 1e-12) and np.all(s[ok] <= tab.upper[ok] + 1e-12)


def test_edge_cases():
    km = KaplanMeier.from_survival([1, 2, 3], [0, 0, 0])  # all censored: flat at 1, median not reached
    assert (km.table.survival == 1).all() and km.medians["median"].iloc[0] == np.inf
    with pytest.raises(ValueError, match="at least 2 groups"):
        logrank_test([1, 2], [1, 1], ["a", "a"])
    with pytest.raises(ValueError, match="'durations' parameter of KaplanMeier.from_survival must be finite"):
        KaplanMeier.from_survival([1, np.nan], [1, 1])
    with pytest.raises(ValueError, match="must be >= 0"):
        KaplanMeier.from_survival([-1, 2], [1, 1])
    single = KaplanMeier.from_survival([4.0], [1])  # tiny n: drops to 0 at the event
    assert single.table.survival.tolist() == [1.0, 0.0]
    with pytest.raises(ValueError, match="has no events"):  # no events at all: nothing to test (not p = 1)
        logrank_test([1, 2, 3, 4], [0, 0, 0, 0], [0, 0, 1, 1])


def test_km_plot_and_frame(survival_data):
    import holoviews as hv

    t, e, _, g = survival_data
    km = KaplanMeier.from_survival(t, e, groups=g)
    assert isinstance(km.plot(), hv.Overlay)
    assert {"group", "time", "survival", "lower", "upper", "at_risk"} <= set(km.to_frame().columns)
    assert km.logrank.to_frame().shape[0] == 1


@pytest.fixture
def cox_frame(survival_data):
    t, e, x, g = survival_data
    return pd.DataFrame({"t": t, "e": e, "x": x, "grp": (g == 1).astype(float)})


def test_cox_matches_statsmodels(cox_frame):
    from statsmodels.duration.hazard_regression import PHReg

    cox = CoxTable.from_survival(cox_frame, "t", "e")
    ref = PHReg(cox_frame.t, cox_frame[["x", "grp"]], status=cox_frame.e, ties="efron").fit()
    # lifelines (Newton, Efron ties) vs statsmodels (Efron ties): agree to optimiser tolerance
    np.testing.assert_allclose(cox.table.coef, ref.params, rtol=1e-5)
    np.testing.assert_allclose(cox.table.se, ref.bse, rtol=1e-4)
    np.testing.assert_allclose(cox.table.hr, np.exp(ref.params), rtol=1e-5)
    null_ll = PHReg(cox_frame.t, np.zeros((len(cox_frame), 1)), status=cox_frame.e, ties="efron").loglike(np.zeros(1))
    assert cox.lr_test["statistic"] == pytest.approx(2 * (ref.llf - null_ll), rel=1e-5)
    assert cox.lr_test["df"] == 2
    assert set(cox.table.columns) >= {"ph_statistic", "ph_p", "hr_lower", "hr_upper", "p"}
    assert cox.table.hr_lower.iloc[0] < cox.table.hr.iloc[0] < cox.table.hr_upper.iloc[0]


def test_cox_errors_and_plot(cox_frame):
    import holoviews as hv

    with pytest.raises(ValueError, match="has no events"):
        CoxTable.from_survival(cox_frame.assign(e=0), "t", "e")
    with pytest.raises(ValueError, match="'time' column"):
        CoxTable.from_survival(cox_frame, "time", "e")
    assert isinstance(CoxTable.from_survival(cox_frame, "t", "e", ph_test=False).plot(), hv.Overlay)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("binary", [False, True])
def test_cox_univariate_matches_statsmodels_and_lifelines(ties, binary):
    """Efron ties, Wald CI / p: statsmodels PHReg to 1e-8 (both converge fully); lifelines to its optimiser
    tolerance (1e-5 on coef, 1e-6 relative on SE)."""
    from lifelines import CoxPHFitter
    from scipy import stats
    from statsmodels.duration.hazard_regression import PHReg

    rng = np.random.default_rng(3)
    n = 800
    x = (rng.random(n) < 0.3).astype(float) if binary else rng.normal(size=n)
    t = rng.exponential(5, n) * np.exp(-0.6 * x)
    t = np.ceil(t) if ties else t  # integer times: many tied events
    e = (rng.random(n) < 0.7).astype(float)
    r = cox_univariate(t, e, x, confidence_level=0.9)
    ref = PHReg(t, x[:, None], status=e, ties="efron").fit()
    assert r.coef == pytest.approx(ref.params[0], abs=1e-8)
    assert r.se == pytest.approx(ref.bse[0], rel=1e-8)
    assert r.p == pytest.approx(2 * stats.norm.sf(abs(ref.params[0] / ref.bse[0])), rel=1e-6)
    ll = CoxPHFitter(alpha=0.1).fit(pd.DataFrame({"t": t, "e": e, "x": x}), "t", "e").summary.iloc[0]
    assert r.coef == pytest.approx(ll["coef"], abs=1e-5)
    assert r.se == pytest.approx(ll["se(coef)"], rel=1e-6)
    assert r.hr_lower == pytest.approx(ll["exp(coef) lower 90%"], rel=1e-5)
    assert r.hr_upper == pytest.approx(ll["exp(coef) upper 90%"], rel=1e-5)


def test_cox_univariate_errors():
    t, e = np.arange(1.0, 11.0), np.ones(10)
    with pytest.raises(ValueError, match="not estimable"):  # the x = 1 group has no events
        cox_univariate(t, np.r_[np.ones(5), np.zeros(5)], np.r_[np.zeros(5), np.ones(5)])
    with pytest.raises(ValueError, match="no events"):
        cox_univariate(t, np.zeros(10), np.arange(10.0))
    with pytest.raises(ValueError, match="same non-zero length"):
        cox_univariate(t, e, np.arange(9.0))
    with pytest.raises(ValueError, match="finite"):
        cox_univariate(t, e, np.r_[np.nan, np.arange(9.0)])


# R survival's aml data (Miller 1981): weeks to relapse, status 1 = relapse, by maintenance chemotherapy.
AML_T = {"Maintained": [9, 13, 13, 18, 23, 28, 31, 34, 45, 48, 161],
         "Nonmaintained": [5, 5, 8, 8, 12, 16, 23, 27, 30, 33, 43, 45]}
AML_E = {"Maintained": [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0], "Nonmaintained": [1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1]}


def _aml(**kw):
    g = np.repeat(list(AML_T), [len(v) for v in AML_T.values()])
    return KaplanMeier.from_survival(np.concatenate(list(AML_T.values())), np.concatenate(list(AML_E.values())),
                                     groups=g, **kw)


def test_km_log_ci_matches_r_survfit_aml():
    # R: summary(survfit(Surv(time, status) ~ x, data = aml)) (conf.type = "log", R's default), as printed in
    # published R output (4 decimals for the lower limit, 3 for the upper; tolerance half a unit of the last digit).
    # At t = 45 the Nonmaintained curve reaches 0: R prints std.err NaN and the CI NA.
    km = _aml(conf_type="log")
    tab = km.table.set_index(["group", "time"])
    r_maintained = {9: (0.909, 0.7541, 1.000), 13: (0.818, 0.6192, 1.000), 18: (0.716, 0.4884, 1.000),
                    23: (0.614, 0.3769, 0.999), 31: (0.491, 0.2549, 0.946), 34: (0.368, 0.1549, 0.875),
                    48: (0.184, 0.0359, 0.944)}
    r_nonmaintained = {5: (0.8333, 0.6470, 1.000), 8: (0.6667, 0.4468, 0.995), 12: (0.5833, 0.3616, 0.941),
                       23: (0.4861, 0.2675, 0.883), 30: (0.2917, 0.1148, 0.741), 43: (0.0972, 0.0153, 0.620)}
    for group, ref in (("Maintained", r_maintained), ("Nonmaintained", r_nonmaintained)):
        for time, (s, lo, hi) in ref.items():
            row = tab.loc[(group, float(time))]
            assert row.survival == pytest.approx(s, abs=5e-4 if s in (0.909, 0.818, 0.716, 0.614, 0.491,
                                                                        0.368, 0.184) else 5e-5)
            assert row.lower == pytest.approx(lo, abs=5e-5)
            assert row.upper == pytest.approx(hi, abs=5e-4)
    end = tab.loc[("Nonmaintained", 45.0)]
    assert end.survival == 0 and np.isnan(end.lower) and np.isnan(end.upper) and end.greenwood == np.inf
    # print(survfit(...)): n events median 0.95LCL 0.95UCL = 11 7 31 18 NA / 12 11 23 8 NA
    med = km.medians.set_index("group")
    assert med.loc["Maintained", ["n", "events", "median", "lower"]].tolist() == [11, 7, 31.0, 18.0]
    assert med.loc["Nonmaintained", ["n", "events", "median", "lower"]].tolist() == [12, 11, 23.0, 8.0]
    assert med.loc["Maintained", "upper"] == np.inf  # upper curve stays above 0.5 (R: NA, "not reached")
    assert np.isnan(med.loc["Nonmaintained", "upper"])  # undefined where the curve hits 0 (R: NA)


def test_km_plain_ci_and_midpoint_median_hand_derived():
    # Durations 1, 2, 3, 4, all events: S = 3/4, 1/2, 1/4, 0; greenwood = sum d/(n(n-d)) = 1/12, 1/12 + 1/6, ...
    # plain CI (R conf.type = "plain") = S (1 -+ z sqrt(greenwood)), clipped to [0, 1]; exact to 1e-15.
    from scipy.stats import norm

    km = KaplanMeier.from_survival([1, 2, 3, 4], [1, 1, 1, 1], conf_type="plain")
    z = norm.ppf(0.975)
    row = km.table.iloc[2]  # t = 2
    assert (row.survival, row.greenwood) == pytest.approx((0.5, 1 / 12 + 1 / 6), abs=1e-15)
    assert row.lower == pytest.approx(max(0.0, 0.5 * (1 - z * np.sqrt(0.25))), abs=1e-15)
    assert row.upper == pytest.approx(0.5 * (1 + z * np.sqrt(0.25)), abs=1e-15)
    # Median: S = 0.5 exactly on [2, 3). lifelines: first time with S <= 0.5 = 2; R median.survfit: (2 + 3)/2.
    assert km.medians["median"].iloc[0] == 2.0
    assert KaplanMeier.from_survival([1, 2, 3, 4], [1, 1, 1, 1], median_rule="midpoint").medians["median"].iloc[0] \
        == 2.5
    # One patient: the curve drops to 0, Greenwood undefined: median 4, CI NA (not a zero-width [4, 4]).
    one = KaplanMeier.from_survival([4.0], [1]).medians.iloc[0]
    assert one["median"] == 4.0 and np.isnan(one["lower"]) and np.isnan(one["upper"])
    assert (one["n"], one["events"]) == (1, 1)
    with pytest.raises(ValueError, match="'conf_type' parameter of KaplanMeier.from_survival must be one of"):
        KaplanMeier.from_survival([1, 2], [1, 1], conf_type="arcsin")
