"""Bad outcomes and scores at the statistics' boundary: each kind raises InputError naming the parameter (or
column), the offending values and what to do; equivalent valid codings give identical numbers."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sksurv.util import Surv

from radlab.errors import InputError
from radlab.evaluation import (CalibrationCurve, ConcordanceResult, CoxTable, DecisionCurve, KaplanMeier, RiskGroups,
                               RocCurve, TimeDependentAuc, concordance_index, cox_univariate, delong_test,
                               delong_test_unpaired, hosmer_lemeshow, logistic_recalibration, logrank_test,
                               threshold_metrics)
from radlab.outcomes import check_outcome, column_problem, outcome_problems

RNG = np.random.default_rng(0)
N = 40
X = RNG.normal(size=N)
T = np.round(RNG.exponential(np.exp(-X)) * 10, 2) + 0.01
E = (RNG.random(N) < 0.7).astype(int)
G = np.where(X > 0, "high", "low")
Y = np.r_[np.zeros(N // 2), np.ones(N // 2)].astype(int)
P = np.clip(0.3 + 0.4 * Y + RNG.normal(scale=0.15, size=N), 0.01, 0.99)
FRAME = pd.DataFrame({"t": T, "e": E, "x": X, "z": RNG.normal(size=N)})


def _with(a, i, value):
    out = np.asarray(a, dtype=object if value is None or isinstance(value, str) else float).copy()
    out[i] = value
    return out


# ------------------------------------------------------------------ radlab.outcomes
@pytest.mark.parametrize("kind", ["label", "event"])
def test_valid_binary_codings_have_no_problem(kind):
    values = pd.Series([0, 1, True, False, "0", "1", None, np.nan], dtype=object)
    assert outcome_problems(values, kind, column="c").isna().all()
    assert column_problem(values, kind, column="c") is None
    np.testing.assert_array_equal(check_outcome([0, "1", True, 0.0], kind, name="c"), [False, True, True, False])


ROW_PROBLEMS = {  # id: (kind, value, text)
    "label-2": ("label", 2, "pcr is 2 (a label must be 0 or 1)"),
    "label-half": ("label", 0.5, "pcr is 0.5 (a label must be 0 or 1)"),
    "label-yes": ("label", "yes", "pcr is 'yes' (a label must be 0 or 1)"),
    "event-minus-1": ("event", -1, "pcr is -1 (an event must be 0 or 1)"),
    "time-negative": ("time", -2.5, "pcr is -2.5 (a time must be a number >= 0)"),
    "time-inf": ("time", np.inf, "pcr is inf (a time must be a number >= 0)"),
    "time-text": ("time", "12 months", "pcr is '12 months' (a time must be a number >= 0)"),
}


@pytest.mark.parametrize("kind_id", list(ROW_PROBLEMS))
def test_outcome_problems_names_the_row_and_value(kind_id):
    kind, value, text = ROW_PROBLEMS[kind_id]
    values = pd.Series([0, 1, value, None], index=["a", "b", "c", "d"], dtype=object)
    assert outcome_problems(values, kind, column="pcr").to_dict() == {"a": None, "b": None, "c": text, "d": None}


COLUMN_PROBLEMS = {  # id: (kind, values, diagnosis)
    "event-1-2": ("event", [1, 2, 2, 1], "column 'os_event' uses 1/2 coding (R survival: 1 = censored, 2 = event); "
                  "recode to 0/1"),
    "label-1-2": ("label", [1, 2, 2, 1], "column 'os_event' uses 1/2 coding; recode to 0/1 (1 = the positive class)"),
    "event-fractional": ("event", [0.2, 0.7, 1.0], "column 'os_event' holds fractional values (e.g. 0.2); an event "
                         "must be 0 or 1 (a probability is not an event)"),
    "times-all-negative": ("time", [-3.0, -1.0], "column 'os_event' holds only negative times; times must be >= 0 "
                           "(time since baseline)"),
    "no-numbers": ("event", ["dead", "alive"], "column 'os_event' holds no numbers (e.g. 'dead'); an event must be "
                   "0 or 1"),
}


@pytest.mark.parametrize("kind_id", list(COLUMN_PROBLEMS))
def test_column_problem_diagnoses_the_coding(kind_id):
    kind, values, text = COLUMN_PROBLEMS[kind_id]
    assert column_problem(pd.Series(values), kind, column="os_event") == text


def test_check_outcome_refuses_missing_values_and_says_how_many_to_drop():
    with pytest.raises(InputError, match=r"^'os' must be finite \(no missing values\). Got 2 missing value\(s\) "
                                         r"\(rows 1, 3\); .* drop the 2 rows with a missing time first$"):
        check_outcome([1.0, np.nan, 3.0, None], "time", name="os")


# ------------------------------------------------------------------ the statistics
E12, EFRAC = E + 1, np.where(E == 1, 0.8, 0.2)
TNEG = _with(T, 3, -1.0)
CODING = re.escape("uses 1/2 coding (R survival: 1 = censored, 2 = event); recode to 0/1")
FRACTION = r"holds fractional values \(e.g. 0.[28]\); an event must be 0 or 1 \(a probability is not an event\)"
NEGATIVE = r"must be >= 0 and finite. Got 1 invalid value\(s\): -1 \(row 3\); fix or drop those rows first"


def _youden(t, e):
    return RiskGroups(method="youden", time=3.0).fit(X[:, None], Surv.from_arrays(e.astype(bool), t))


def _cox(**columns):
    return CoxTable.from_survival(FRAME.assign(**columns), "t", "e", ph_test=False)


STATISTIC_ERRORS = {  # id: (call, words of the message)
    # events coded 1/2 or fractional are never cast to bool
    "km-events-1-2": (lambda: KaplanMeier.from_survival(T, E12), f"'event_observed' parameter of "
                      f"KaplanMeier.from_survival {CODING}"),
    "logrank-events-1-2": (lambda: logrank_test(T, E12, G), f"'event_observed' parameter of logrank_test {CODING}"),
    "concordance-events-1-2": (lambda: concordance_index(T, E12, X), f"of concordance_index {CODING}"),
    "cox-events-1-2": (lambda: _cox(e=E12), f"The 'e' column given to CoxTable.from_survival {CODING}"),
    "cox-univariate-events-1-2": (lambda: cox_univariate(T, E12, X), f"'event' parameter of cox_univariate {CODING}"),
    "td-auc-events-1-2": (lambda: TimeDependentAuc.from_survival(T, E12, X, [2.0]), CODING),
    "risk-groups-events-1-2": (lambda: RiskGroups(method="youden", time=3.0).fit(X[:, None], np.array(
        list(zip(E12, T)), dtype=[("event", float), ("time", float)])), r"The 'y\['event'\]' parameter of "
        f"RiskGroups.fit {CODING}"),
    "km-events-fractional": (lambda: KaplanMeier.from_survival(T, EFRAC), FRACTION),
    "cox-events-fractional": (lambda: _cox(e=EFRAC), f"The 'e' column given to CoxTable.from_survival {FRACTION}"),
    "calibration-survival-events-1-2": (lambda: CalibrationCurve.from_survival(T, E12, P, time=2.0), CODING),
    "decision-survival-events-1-2": (lambda: DecisionCurve.from_survival(T, E12, P, time=2.0), CODING),
    # negative, missing or non-numeric times
    "km-time-negative": (lambda: KaplanMeier.from_survival(TNEG, E), f"'durations' parameter of "
                         f"KaplanMeier.from_survival {NEGATIVE}"),
    "logrank-time-negative": (lambda: logrank_test(TNEG, E, G), NEGATIVE),
    "concordance-time-negative": (lambda: concordance_index(TNEG, E, X), NEGATIVE),
    "cox-time-negative": (lambda: _cox(t=TNEG), f"The 't' column given to CoxTable.from_survival {NEGATIVE}"),
    "cox-univariate-time-negative": (lambda: cox_univariate(TNEG, E, X), NEGATIVE),
    "td-auc-time-negative": (lambda: TimeDependentAuc.from_survival(TNEG, E, X, [2.0]), NEGATIVE),
    "risk-groups-time-negative": (lambda: _youden(TNEG, E), r"The 'y\['time'\]' parameter of RiskGroups.fit " + NEGATIVE),
    "km-time-missing": (lambda: KaplanMeier.from_survival(_with(T, 3, np.nan), E), r"must be finite \(no missing "
                        r"values\). Got 1 missing value\(s\) \(row 3\); .* drop the 1 rows with a missing time first"),
    "logrank-event-missing": (lambda: logrank_test(T, _with(E, 5, np.nan), G), r"'event_observed' parameter of "
                              r"logrank_test must have no missing values. Got 1 missing value\(s\) \(row 5\)"),
    "km-time-text": (lambda: KaplanMeier.from_survival(_with(T, 0, "12 months"), E), r"Got 1 invalid value\(s\): "
                     r"'12 months' \(row 0\)"),
    # not enough for the test asked
    "logrank-no-events": (lambda: logrank_test(T, np.zeros(N), G), r"has no events \(40 cases, all censored\); the "
                          "log-rank test needs events"),
    "logrank-one-group": (lambda: logrank_test(T, E, np.full(N, "a")), "must have at least 2 groups"),
    "logrank-no-overlap": (lambda: logrank_test([3, 4, 1, 2], [1, 1, 0, 0], ["a", "a", "b", "b"]),
                           "no event time has cases of two groups at risk"),
    "logrank-group-missing": (lambda: logrank_test(T, E, _with(G, 2, None)), "'groups' parameter of logrank_test "
                              r"must have no missing labels. Got 1 missing"),
    "cox-no-events": (lambda: _cox(e=0), r"The 'e' column given to CoxTable.from_survival has no events \(all "
                      r"censored\); a Cox model cannot be fitted"),
    "cox-constant-covariate": (lambda: _cox(z=1.0), r"The 'z' covariate given to CoxTable.from_survival is constant "
                               r"\(1.0 in every row\); its hazard ratio is not estimable"),
    "cox-text-covariate": (lambda: _cox(z="high"), "The 'z' covariate given to CoxTable.from_survival is not numeric"),
    "cox-missing-column": (lambda: CoxTable.from_survival(FRAME, "t", "e", covariates=["w"]), r"The 'w' column\(s\) "
                           "given to CoxTable.from_survival are not in data"),
    "cox-missing-values": (lambda: _cox(x=_with(X, 0, np.nan)), r"Got missing values \{'x': 1\}; drop those 1 rows"),
    "cox-univariate-constant": (lambda: cox_univariate(T, E, np.ones(N)), "'x' parameter of cox_univariate is "
                                r"constant \(1 for every case\)"),
    "concordance-no-pairs": (lambda: concordance_index([2, 2, 2], [1, 1, 1], [0.1, 0.2, 0.3]),
                             "no comparable pairs"),
    "concordance-tau-negative": (lambda: concordance_index(T, E, X, tau=-1), "'tau' parameter of concordance_index "
                                 "must be a finite time >= 0"),
    "td-auc-times-outside-follow-up": (lambda: TimeDependentAuc.from_survival(T, E, X, [T.max() + 1]),
                                       "must lie within follow-up"),
    "td-auc-times-before-first-event": (lambda: TimeDependentAuc.from_survival(
        np.arange(1.0, 21.0), np.tile([0, 1], 10), X[:20], [1.5]), r"has time\(s\) \[1.5\] before the first event "
        r"\(2.0\): no case to score at them"),
    "td-auc-times-nan": (lambda: TimeDependentAuc.from_survival(T, E, X, [np.nan]), "'times' parameter of "
                         "TimeDependentAuc.from_survival must be finite"),
    "risk-groups-y-not-structured": (lambda: RiskGroups(method="youden", time=3.0).fit(X[:, None], E),
                                     "needs y as a structured array"),
    "risk-groups-no-cases-by-time": (lambda: RiskGroups(method="youden", time=1e-3).fit(
        X[:, None], Surv.from_arrays(E.astype(bool), T)), "needs cases with an event by time=0.001"),
    "decision-survival-beyond-follow-up": (lambda: DecisionCurve.from_survival(T, E, P, time=T.max() + 1),
                                           "is beyond the follow-up"),
    "decision-survival-no-events-by-time": (lambda: DecisionCurve.from_survival(T, E, P, time=1e-3),
                                            "has no events by time 0.001"),
    # binary labels and scores
    "roc-labels-1-2": (lambda: RocCurve.from_predictions(Y + 1, P), r"'y_true' parameter of RocCurve.from_predictions "
                       r"uses 1/2 coding; recode to 0/1 \(1 = the positive class\) \(or pass pos_label"),
    "roc-label-2": (lambda: RocCurve.from_predictions(_with(Y, 3, 2), P), r"must be 0 or 1 \(or booleans\). Got 1 "
                    r"invalid value\(s\): 2 \(row 3\)"),
    "roc-labels-yes-no": (lambda: RocCurve.from_predictions(np.where(Y == 1, "yes", "no"), P), "holds no numbers "
                          r"\(e.g. 'no'\); a label must be 0 or 1 \(or pass pos_label to say which class is positive\)"),
    "roc-labels-fractional": (lambda: RocCurve.from_predictions(np.where(Y == 1, 0.9, 0.1), P), "fractional values"),
    "roc-label-missing": (lambda: RocCurve.from_predictions(_with(Y, 0, np.nan), P), "must not contain missing "
                          r"values \(NaN/None\). Got 1"),
    "roc-one-class": (lambda: RocCurve.from_predictions(np.ones(N), P), r"must contain both classes. Got only "
                      r"positives \(40 cases\)"),
    "roc-score-nan": (lambda: RocCurve.from_predictions(Y, _with(P, 1, np.nan)), r"'y_score' parameter of "
                      r"RocCurve.from_predictions must be finite \(no NaN/inf\). Got 1 non-finite"),
    "roc-score-inf": (lambda: RocCurve.from_predictions(Y, _with(P, 1, np.inf)), "must be finite"),
    "roc-score-text": (lambda: RocCurve.from_predictions(Y, _with(P, 1, "high")), r"'y_score' parameter of "
                       r"RocCurve.from_predictions must hold numbers. Got 1 value\(s\) that are not numbers "
                       r"\(e.g. 'high'\)"),
    "roc-length-mismatch": (lambda: RocCurve.from_predictions(Y, P[:-1]), "must have the same length"),
    "delong-one-class": (lambda: delong_test(np.zeros(N), P, P), "'y_true' parameter of delong_test must contain both"),
    "delong-score-nan": (lambda: delong_test(Y, P, _with(P, 0, np.nan)), "'score_b' parameter of delong_test must be "
                         "finite"),
    "delong-unpaired-labels-1-2": (lambda: delong_test_unpaired(Y, P, Y + 1, P), "'y_true_b' parameter of "
                                   "delong_test_unpaired uses 1/2 coding"),
    "threshold-nan": (lambda: threshold_metrics(Y, P, np.nan), "'threshold' parameter of threshold_metrics must be "
                      "a finite number"),
    "calibration-outside-0-1": (lambda: CalibrationCurve.from_predictions(Y, P * 3), r"must be probabilities in "
                                r"\[0, 1\]. Got range .* a risk score is not a probability"),
    "calibration-one-class": (lambda: CalibrationCurve.from_predictions(np.zeros(N), P), "must contain both classes"),
    "calibration-prob-nan": (lambda: CalibrationCurve.from_predictions(Y, _with(P, 2, np.nan)), "'y_prob' parameter "
                             "of CalibrationCurve.from_predictions must be finite"),
    "calibration-survival-outside-0-1": (lambda: CalibrationCurve.from_survival(T, E, P + 1, time=2.0),
                                         "'predicted_survival' parameter of CalibrationCurve.from_survival must be "
                                         "probabilities"),
    "hosmer-lemeshow-one-class": (lambda: hosmer_lemeshow(np.ones(N), P), "'y_true' parameter of hosmer_lemeshow "
                                  "must contain both classes"),
    "recalibration-outside-0-1": (lambda: logistic_recalibration(Y, P - 1), "'y_prob' parameter of "
                                  "logistic_recalibration must be probabilities"),
    "decision-one-class": (lambda: DecisionCurve.from_predictions(np.ones(N), P), "must contain both classes"),
    "decision-threshold-1": (lambda: DecisionCurve.from_predictions(Y, P, thresholds=[0.5, 1.0]),
                             r"'thresholds' parameter of DecisionCurve must hold probabilities in \[0, 1\)"),
    "decision-risk-outside-0-1": (lambda: DecisionCurve.from_predictions(Y, {"m": P * 2}), r"must hold risks in "
                                  r"\[0, 1\]; model 'm'"),
}


@pytest.mark.parametrize("kind", list(STATISTIC_ERRORS))
def test_statistic_refuses_bad_input(kind):
    call, words = STATISTIC_ERRORS[kind]
    with pytest.raises(InputError, match=words):
        call()


# ------------------------------------------------------------------ equivalent codings: the same numbers
@pytest.mark.parametrize("coding", ["bool", "float", "text"])
def test_equivalent_event_codings_give_identical_numbers(coding):
    e = {"bool": E.astype(bool), "float": E.astype(float), "text": E.astype(str)}[coding]
    ref = KaplanMeier.from_survival(T, E, groups=G)
    km = KaplanMeier.from_survival(T, e, groups=G)
    pd.testing.assert_frame_equal(km.table, ref.table)
    assert km.logrank == ref.logrank
    c = concordance_index(T, e, X, n_bootstraps=0)
    assert isinstance(c, ConcordanceResult) and c == concordance_index(T, E, X, n_bootstraps=0)
    assert cox_univariate(T, e, X).equals(cox_univariate(T, E, X))


@pytest.mark.parametrize("coding", ["bool", "float", "text"])
def test_equivalent_label_codings_give_identical_numbers(coding):
    y = {"bool": Y.astype(bool), "float": Y.astype(float), "text": Y.astype(str)}[coding]
    ref = RocCurve.from_predictions(Y, P, n_bootstraps=0)
    assert RocCurve.from_predictions(y, P, n_bootstraps=0).auc == ref.auc
    assert delong_test(y, P, P[::-1]) == delong_test(Y, P, P[::-1])
