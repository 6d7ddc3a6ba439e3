"""Bad predictions tables: every problem is listed per model (cohort, model, split, rows, what is wrong), the
damaged rows leave only the pages that read them, no model vanishes silently, a split that is not estimable
says so on the page, and the other models' numbers are those of the clean table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from radlab.errors import InputError
from radlab.evaluation import RocCurve, concordance_index
from radlab.ui._inputs import PROBLEM_COLUMNS, read_predictions, validate_predictions

LABEL_PAGES, SURVIVAL_PAGES, ALL_PAGES = "ROC, calibration", "survival", "all pages"


def synthetic(n: int = 30, seed: int = 0) -> pd.DataFrame:
    """Cohort "study": models a, b (labels 0/1) on "train" (out-of-fold, 2 repeats) and "test"; cohort "surv":
    Cox models cox, cox2 (time, event) on "train" and "test"."""
    rng = np.random.default_rng(seed)
    y = np.r_[np.zeros(n // 2), np.ones(n - n // 2)]
    rows = []
    for split, repeats in (("train", 2), ("test", 1)):
        for model, signal in (("a", 1.5), ("b", 0.8)):
            for r in range(repeats):
                p = 1 / (1 + np.exp(-(2 * signal * (y - 0.5) + rng.normal(size=n))))
                rows += [{"case": f"{split}{i:03d}", "cohort": "study", "split": split,
                          "fold": i % 3 if split == "train" else -1, "repeat": r if split == "train" else -1,
                          "model": model, "score": p[i], "label": y[i], "time": np.nan, "event": np.nan}
                         for i in range(n)]
    x = rng.normal(size=n)
    t = np.round(rng.exponential(np.exp(-x)) * 10, 2) + 0.01
    e = (rng.random(n) < 0.7).astype(float)
    for split in ("train", "test"):
        for model, noise in (("cox", 0.3), ("cox2", 1.0)):
            risk = x + rng.normal(size=n) * noise
            rows += [{"case": f"s{split}{i:03d}", "cohort": "surv", "split": split,
                      "fold": 0 if split == "train" else -1, "repeat": 0 if split == "train" else -1,
                      "model": model, "score": risk[i], "label": np.nan, "time": t[i], "event": e[i]}
                     for i in range(n)]
    return pd.DataFrame(rows)


CLEAN = synthetic()


def _where(t, model, split="test", case=None):
    sel = (t.model == model) & (t.split == split)
    return sel & (t.case == case) if case is not None else sel


def _auc(t, model, split="test", drop=()):
    rows = t[_where(t, model, split) & ~t.case.isin(drop)]
    return RocCurve.from_predictions(rows.label, rows.score, n_bootstraps=0).auc


def _cindex(t, model, split="test", drop=()):
    rows = t[_where(t, model, split) & ~t.case.isin(drop)]
    return concordance_index(rows.time, rows.event, rows.score, n_bootstraps=0).estimate


def _set(t, mask, column, value):
    t = t.astype({column: object}) if isinstance(value, str) else t.copy()
    t.loc[mask, column] = value
    return t


# ------------------------------------------------------------------ row problems: listed, excluded, numbers kept
CASE, SCASE = "test004", "stest004"


def _duplicate(t):
    row = t[_where(t, "b", case=CASE)].assign(score=0.999)
    return pd.concat([t, row], ignore_index=True)


def _flip_label(t):
    return _set(t, _where(t, "b", case=CASE), "label", 1 - t.loc[_where(t, "b", case=CASE), "label"].iloc[0])


LABEL_KINDS = {  # id: (damage, problem text, affects, rows, models whose AUC loses CASE)
    "score-nan": (lambda t: _set(t, _where(t, "b", case=CASE), "score", np.nan),
                  "score is missing (NaN): rows excluded", ALL_PAGES, 1, {"b"}),
    "score-not-a-number": (lambda t: _set(t, _where(t, "b", case=CASE), "score", "abc"),
                           "score is not a number (e.g. 'abc'): rows excluded", ALL_PAGES, 1, {"b"}),
    "score-inf": (lambda t: _set(t, _where(t, "b", case=CASE), "score", np.inf),
                  "score is not finite (e.g. inf): rows excluded", ALL_PAGES, 1, {"b"}),
    "label-2": (lambda t: _set(t, _where(t, "b", case=CASE), "label", 2.0),
                "label is not 0/1 (e.g. 2.0): rows left out of the ROC and calibration pages", LABEL_PAGES, 1, {"b"}),
    "label-yes": (lambda t: _set(t, _where(t, "b", case=CASE), "label", "yes"),
                  "label is not 0/1 (e.g. 'yes'): rows left out of the ROC and calibration pages", LABEL_PAGES, 1,
                  {"b"}),
    "fold-not-a-number": (lambda t: _set(t, _where(t, "b", case=CASE), "fold", "x"),
                          "fold is not a number (e.g. 'x'): rows excluded", ALL_PAGES, 1, {"b"}),
    "duplicate-row": (_duplicate, "duplicate rows (same cohort, split, model, case, fold and repeat): the first of "
                      "each kept", ALL_PAGES, 1, set()),
    "conflicting-labels": (_flip_label, "case has different labels in different rows: rows left out of the ROC and "
                           "calibration pages", LABEL_PAGES, 1, {"a", "b"}),
}


@pytest.mark.parametrize("kind", list(LABEL_KINDS))
def test_label_row_problem_is_listed_and_only_that_row_leaves(kind):
    from radlab.ui._roc_page import RocStore
    from radlab.ui._store import problems_markdown

    damage, text, affects, n, loses = LABEL_KINDS[kind]
    table = damage(CLEAN)
    _, problems = validate_predictions(table, "test")
    assert list(problems.columns) == PROBLEM_COLUMNS
    assert problems.to_dict("records") == [{"cohort": "study", "model": model, "split": "test", "rows": n,
                                            "problem": text, "affects": affects} for model in sorted(loses) or ["b"]]
    store = RocStore(table, n_bootstraps=0)
    assert store.param.model.objects == ["a", "b"]  # the damaged model stays
    store.param.update(model="b", split="test")
    assert f"**b · test: {text}** ({n} row)" in problems_markdown(store)
    for model in ("a", "b"):  # each model's AUC: the clean table's, without the damaged case where it left
        store.model = model
        assert store.roc().auc == pytest.approx(_auc(CLEAN, model, drop=[CASE] if model in loses else ()), abs=1e-12)


def _recode_events(t, mapping):
    sel = t.model == "cox"
    return _set(t, sel, "event", t.loc[sel, "event"].map(mapping))


SURVIVAL_KINDS = {  # id: (damage, problem text, rows, model cox keeps its other rows)
    "time-negative": (lambda t: _set(t, _where(t, "cox", case=SCASE), "time", -3.0),
                      "time is negative or not a number (e.g. -3.0): rows left out of the survival page", 1, True),
    "time-not-a-number": (lambda t: _set(t, _where(t, "cox", case=SCASE), "time", "soon"),
                          "time is negative or not a number (e.g. 'soon'): rows left out of the survival page", 1,
                          True),
    "event-2": (lambda t: _set(t, _where(t, "cox", case=SCASE), "event", 2.0),
                "event is not 0/1 (e.g. 2.0): rows left out of the survival page", 1, True),
    "time-missing": (lambda t: _set(t, _where(t, "cox", case=SCASE), "time", np.nan),
                     "time missing where the event is given: rows left out of the survival page", 1, True),
    "event-missing": (lambda t: _set(t, _where(t, "cox", case=SCASE), "event", np.nan),
                      "event missing where the time is given: rows left out of the survival page", 1, True),
    "events-coded-1-2": (lambda t: _recode_events(t, {0.0: 1.0, 1.0: 2.0}),
                         "column 'event' uses 1/2 coding (R survival: 1 = censored, 2 = event); recode to 0/1: rows "
                         "left out of the survival page", 30, False),
    "events-fractional": (lambda t: _recode_events(t, {0.0: 0.3, 1.0: 0.8}),
                          "column 'event' holds fractional values (e.g. 0.8); an event must be 0 or 1 (a probability "
                          "is not an event): rows left out of the survival page", 30, False),
}


@pytest.mark.parametrize("kind", list(SURVIVAL_KINDS))
def test_survival_row_problem_is_listed_and_only_those_rows_leave(kind):
    from radlab.ui._survival_page import SurvivalStore

    damage, text, n, kept = SURVIVAL_KINDS[kind]
    table = damage(CLEAN)
    _, problems = validate_predictions(table, "test")
    first = problems[problems.cohort == "surv"].iloc[0].to_dict()
    assert first == {"cohort": "surv", "model": "cox", "split": "test" if kept else "train", "rows": n,
                     "problem": text, "affects": SURVIVAL_PAGES}
    store = SurvivalStore(table, n_bootstraps=0)
    assert store.cohort == "surv" and store.param.model.objects == (["cox", "cox2"] if kept else ["cox2"])
    assert text in set(store.selection_problems().problem)  # a model without usable rows is listed, not hidden
    store.param.update(model="cox2", split="test")
    assert store.concordance().estimate == pytest.approx(_cindex(CLEAN, "cox2"), abs=1e-12)  # unchanged
    if kept:
        store.model = "cox"
        assert store.concordance().estimate == pytest.approx(_cindex(CLEAN, "cox", drop=[SCASE]), abs=1e-12)


def test_missing_model_name_is_listed_under_missing():
    from radlab.ui._roc_page import RocStore

    table = _set(CLEAN, _where(CLEAN, "b", case=CASE), "model", np.nan)
    _, problems = validate_predictions(table, "test")
    assert problems.iloc[0][["model", "split", "rows", "problem"]].tolist() == [
        "(missing)", "test", 1, "missing model: rows excluded"]
    store = RocStore(table, n_bootstraps=0, model="b", split="test")
    assert store.param.model.objects == ["a", "b"] and store.roc().auc == pytest.approx(_auc(CLEAN, "b", drop=[CASE]))


def test_validation_leaves_a_clean_table_unchanged():
    usable, problems = validate_predictions(CLEAN, "test")
    assert problems.empty
    pd.testing.assert_frame_equal(usable, CLEAN)


# ------------------------------------------------------------------ not estimable: the page says why
def test_one_class_split_says_not_estimable_on_the_roc_and_calibration_pages():
    from radlab.ui._calibration_page import CalibrationPage, CalibrationStore
    from radlab.ui._roc_page import RocPage, RocStore

    table = _set(CLEAN, (CLEAN.cohort == "study") & (CLEAN.split == "test"), "label", 1.0)
    msg = "not estimable: only one class in test (30 cases, all positive)"
    _, problems = validate_predictions(table, "test")
    assert problems[["model", "split", "rows", "problem"]].values.tolist() == [["a", "test", 30, msg],
                                                                             ["b", "test", 30, msg]]
    roc = RocStore(table, n_bootstraps=0, split="test")
    page = RocPage(roc)
    assert page._auc() == f"**a · test: {msg}** (no AUC)."
    assert roc.curves().opts.get().kwargs["title"] == f"ROC · a: {msg}"
    assert roc.metrics().empty and roc.figures()["AUC"].problem.iloc[0] == msg
    roc.split = "train"  # the other split is untouched
    assert roc.not_estimable() is None and roc.roc().auc == pytest.approx(_auc(CLEAN, "a", "train"), abs=1e-12)
    cal = CalibrationStore(table, split="test")
    assert cal.not_estimable() == msg and cal.stats().empty
    assert cal.decision() == msg and f"**a · test: {msg}**" in CalibrationPage(cal)._problems()


def test_split_without_events_says_not_estimable_but_keeps_its_curves():
    from radlab.ui._survival_page import SurvivalPage, SurvivalStore

    table = _set(CLEAN, (CLEAN.cohort == "surv") & (CLEAN.split == "test"), "event", 0.0)
    msg = "not estimable: no events in test (30 cases, all censored)"
    store = SurvivalStore(table, n_bootstraps=0, split="test")
    page = SurvivalPage(store)
    assert store.not_estimable() == msg and store.concordance() is None and store.td_auc() is None
    assert f"log-rank: {msg}" in page._summary()
    assert page._discrimination().objects[0].object == f"**Harrell C-index: {msg}**"
    assert store.kaplan_meier().table.survival.eq(1).all()  # the curves stay: flat at 1
    assert store.at_risk_table()[0.0].sum() == 30  # every case at risk at time 0, in the high or low risk group


def test_model_without_rows_in_a_split_says_so():
    from radlab.ui._roc_page import RocStore

    store = RocStore(CLEAN[~_where(CLEAN, "b")], n_bootstraps=0, model="b", split="test")
    assert store.not_estimable() == "not estimable: no usable rows in test"
    assert store.curves().opts.get().kwargs["title"] == "ROC · b: not estimable: no usable rows in test"


def test_model_whose_every_score_is_missing_is_listed_not_dropped():
    from radlab.ui._roc_page import RocPage, RocStore

    table = _set(CLEAN, CLEAN.model == "b", "score", np.nan)
    store = RocStore(table, n_bootstraps=0, split="test")
    assert store.param.model.objects == ["a"]
    listed = store.selection_problems()
    assert listed[["model", "split", "rows", "problem"]].values.tolist() == [
        ["b", "train", 60, "score is missing (NaN): rows excluded"], ["b", "test", 30, "score is missing (NaN): rows excluded"]]
    assert "2 more problem(s) in other models or splits" in RocPage(store)._problems()
    assert store.roc().auc == pytest.approx(_auc(CLEAN, "a"), abs=1e-12)


def test_cohort_without_usable_rows_is_listed_on_the_other_cohorts_page():
    from radlab.ui._roc_page import RocStore

    other = CLEAN[CLEAN.cohort == "study"].assign(cohort="other", score=np.nan)
    store = RocStore(pd.concat([CLEAN, other], ignore_index=True), n_bootstraps=0)
    assert store.param.cohort.objects == ["study"]
    assert set(store.selection_problems().cohort) == {"other"}


def test_training_rows_of_one_class_give_a_median_threshold_said_on_the_page():
    from radlab.ui._roc_page import RocPage, RocStore

    table = _set(CLEAN, (CLEAN.cohort == "study") & (CLEAN.split == "train"), "label", 0.0)
    store = RocStore(table, n_bootstraps=0, split="test")
    train = table[_where(table, "a", "train")].groupby("case").score.mean()
    assert store.threshold == pytest.approx(float(train.median()), abs=1e-12)
    assert "the median score (Youden not estimable: only one class in the training rows" in RocPage(store)._auc()
    assert store.roc().auc == pytest.approx(_auc(CLEAN, "a"), abs=1e-12)


def test_a_nan_score_no_longer_hides_the_model_from_the_calibration_page():
    from radlab.ui import PageInputs
    from radlab.ui._calibration_page import CalibrationStore
    from radlab.ui._store import problems_markdown

    table = _set(CLEAN, _where(CLEAN, "b", case=CASE), "score", np.nan)
    probabilities = PageInputs(predictions=table).probabilities
    assert set(probabilities.model) == {"a", "b"}
    cal, clean = CalibrationStore(probabilities, split="test"), CalibrationStore(CLEAN[CLEAN.cohort == "study"],
                                                                                split="test")
    assert cal.param.model.objects == ["a", "b"]
    assert cal.stats().brier.iloc[0] == clean.stats().brier.iloc[0]  # model a: the clean table's Brier score
    cal.model = "b"
    rows = CLEAN[_where(CLEAN, "b") & (CLEAN.case != CASE)]
    assert cal.stats().brier.iloc[0] == pytest.approx(float(np.mean((rows.score - rows.label) ** 2)), abs=1e-12)
    assert "**b · test: score is missing (NaN): rows excluded** (1 row)" in problems_markdown(cal)
    assert cal.figures()["Input problems"].problem.tolist() == ["score is missing (NaN): rows excluded"]


@pytest.mark.parametrize("page", ["roc", "calibration", "survival"])
def test_the_rendered_problem_note_follows_the_selection(page):
    """The page's note (ProblemPanes) as the browser gets it: another split's problem is counted, the chosen
    split's is named, and the table below lists it."""
    import panel as pn
    from panel.models.markup import HTML

    from radlab.ui._calibration_page import CalibrationPage, CalibrationStore
    from radlab.ui._roc_page import RocPage, RocStore
    from radlab.ui._survival_page import SurvivalPage, SurvivalStore

    Page, Store, model, case, options = {"roc": (RocPage, RocStore, "a", CASE, {"n_bootstraps": 0}),
                                         "calibration": (CalibrationPage, CalibrationStore, "a", CASE, {}),
                                         "survival": (SurvivalPage, SurvivalStore, "cox", SCASE, {"n_bootstraps": 0})}[page]
    table = _set(CLEAN, _where(CLEAN, model, case=case), "score", np.nan)
    store = Store(table, split="train", model=model, **options)
    root = pn.panel(Page(store)).get_root()

    def shown() -> str:
        return " ".join(m.text for m in root.select({"type": HTML}) if isinstance(m.text, str))
    assert "1 more problem(s) in other models or splits" in shown() and "score is missing (NaN)" in shown()
    store.split = "test"
    assert f"{model} · test: score is missing (NaN): rows excluded" in shown()


# ------------------------------------------------------------------ files
def test_ids_are_read_as_written(tmp_path):
    path = tmp_path / "p.csv"
    CLEAN.assign(case=CLEAN.case.str.replace("train", "0").str.replace("test", "1")).to_csv(path, index=False)
    table = read_predictions(path)
    assert table.case.iloc[:2].tolist() == ["0000", "0001"]  # as written, not 0 and 1


def _nan_scores(path):
    CLEAN.assign(score=np.nan).to_csv(path, index=False)


def _no_score_column(path):
    CLEAN.drop(columns="score").to_csv(path, index=False)


def _garbage(path):
    path.write_bytes(b"PAR1\x00\x01 not parquet")


FATAL_FILES = {  # id: (file name, writer, words of the message)
    "all-scores-missing": ("p.csv", _nan_scores, "has no usable rows for any model (score is missing (NaN): rows "
                           "excluded); fix the file"),
    "missing-column": ("p.csv", _no_score_column, "lacks the columns ['score']"),
    "unreadable": ("p.parquet", _garbage, "cannot be read as parquet"),
    "does-not-exist": ("p.csv", lambda path: None, "does not exist"),
}


@pytest.mark.parametrize("kind", list(FATAL_FILES))
def test_a_file_without_usable_rows_is_refused_naming_it(kind, tmp_path):
    name, write, words = FATAL_FILES[kind]
    path = tmp_path / name
    write(path)
    with pytest.raises(InputError) as err:
        read_predictions(path)
    assert str(err.value).startswith(f"predictions file {path} ") and words in str(err.value)
    assert err.value.file == str(path)


def test_a_file_with_partial_problems_is_read_and_its_problems_shown(tmp_path):
    from radlab.ui._roc_page import RocStore

    path = tmp_path / "p.csv"
    _set(CLEAN, _where(CLEAN, "b", case=CASE), "score", "n/a?").to_csv(path, index=False)
    table = read_predictions(path)
    assert len(table) == len(CLEAN)  # nothing dropped while reading: the pages list the problem
    store = RocStore(table, n_bootstraps=0, model="b", split="test")
    assert store.selection_problems().problem.tolist() == ["score is not a number (e.g. 'n/a?'): rows excluded"]
    assert store.roc().auc == pytest.approx(_auc(CLEAN, "b", drop=[CASE]), abs=1e-12)


def test_serve_refuses_a_fatal_predictions_file_with_one_line(tmp_path, capsys, monkeypatch):
    from radlab.cli import main

    monkeypatch.setattr("radlab.ui.serve", lambda **kwargs: pytest.fail("started a server"))

    path = tmp_path / "p.csv"
    _nan_scores(path)
    assert main(["serve", "--predictions", str(path), "--port", "5999"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"predictions file {path} has no usable rows for any model" in err
