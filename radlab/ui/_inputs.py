"""Page inputs without Panel: averaged predictions, pseudonymised case ids, example predictions from the catalog."""

from __future__ import annotations

import hashlib
import secrets
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["PREDICTION_COLUMNS", "PROBLEM_COLUMNS", "Pseudonymiser", "average_predictions", "example_predictions",
           "fit_rows", "problems_for", "read_predictions", "selection_problem", "validate_predictions"]

from radlab.errors import InputError
from radlab.outcomes import column_problem, outcome_problems
from radlab.validation import PREDICTION_COLUMNS

TRAINING_SPLITS = ("train",)
PROBLEM_COLUMNS = ["cohort", "model", "split", "rows", "problem", "affects"]
_IDS = ["cohort", "split", "model", "case"]
_LABEL_PAGES, _SURVIVAL_PAGES, _ALL_PAGES = "ROC, calibration", "survival", "all pages"


def validate_predictions(table: pd.DataFrame, owner: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Check a predictions table model by model: (usable rows, problems).

    Rows without an id (cohort, split, model, case) or with a score that is missing, not a number or not finite
    are excluded; duplicate rows (same cohort, split, model, case, fold, repeat) keep the first. A label that is
    not 0/1, a time that is negative or not a number, an event not coded 0/1 (e.g. 1/2), a time without an event
    (or the reverse) and a case with conflicting labels are blanked, so the rows leave the pages that read them
    and stay on the others. Splits that are not estimable (one class only; no events) stay and are listed.
    ``problems`` has the columns ``PROBLEM_COLUMNS``: cohort, model, split, rows (how many), problem (what is
    wrong and what was done), affects (the pages concerned). A table without the prediction columns raises
    :class:`~radlab.errors.InputError`.

    Examples
    --------
    >>> t = pd.DataFrame({"case": ["a", "b", "c", "d"], "cohort": "c", "split": "test", "fold": -1, "repeat": -1,
    ...                   "model": ["m", "m", "n", "n"], "score": [0.2, float("nan"), 0.9, 0.1],
    ...                   "label": [0, 1, 1, 0], "time": float("nan"), "event": float("nan")})
    >>> rows, problems = validate_predictions(t, "example")
    >>> rows.case.tolist()
    ['a', 'c', 'd']
    >>> problems[["model", "rows", "problem"]].values.tolist()
    [['m', 1, 'score is missing (NaN): rows excluded'], ['m', 1, 'not estimable: only one class in test (1 case, all negative)']]
    """
    missing = [c for c in PREDICTION_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(f"The 'predictions' parameter of {owner} must have the columns {PREDICTION_COLUMNS}. "
                         f"Missing {missing}.")
    t = table.copy()
    found: list[pd.DataFrame] = []  # one frame per problem: rows' index, problem text, pages affected

    def note(mask, text: str, affects: str, example=None) -> None:
        mask = pd.Series(mask, index=t.index).fillna(False).astype(bool)
        if mask.any():
            value = t.loc[mask, example].iloc[0] if example else None
            shown = f" (e.g. {value!r})" if isinstance(value, str) else f" (e.g. {value})" if example else ""
            found.append(t.loc[mask, _IDS].assign(problem=text.replace("{e.g.}", shown), affects=affects))

    blank_id = pd.DataFrame({c: t[c].isna() | t[c].astype(str).str.strip().eq("") for c in _IDS})
    t[_IDS] = t[_IDS].astype(str).where(~blank_id, "(missing)")
    for c in _IDS:
        note(blank_id[c], f"missing {c}: rows excluded", _ALL_PAGES)
    score = pd.to_numeric(t.score, errors="coerce")
    note(t.score.isna(), "score is missing (NaN): rows excluded", _ALL_PAGES)
    note(t.score.notna() & score.isna(), "score is not a number{e.g.}: rows excluded", _ALL_PAGES, "score")
    note(score.notna() & ~np.isfinite(score), "score is not finite{e.g.}: rows excluded", _ALL_PAGES, "score")
    bad = blank_id.any(axis=1) | ~np.isfinite(score)
    for c in ("fold", "repeat"):
        num = pd.to_numeric(t[c], errors="coerce")
        note(t[c].notna() & num.isna(), f"{c} is not a number{{e.g.}}: rows excluded", _ALL_PAGES, c)
        bad |= t[c].notna() & num.isna()
        t[c] = num
    t["score"] = score
    keys = [*_IDS, "fold", "repeat"]
    dup = t.duplicated(keys, keep="first") & ~bad
    note(dup, "duplicate rows (same cohort, split, model, case, fold and repeat): the first of each kept", _ALL_PAGES)
    t = t.assign(label=_outcome(t, "label", note, _LABEL_PAGES), time=_outcome(t, "time", note, _SURVIVAL_PAGES),
                 event=_outcome(t, "event", note, _SURVIVAL_PAGES))
    half = t.time.isna() != t.event.isna()
    note(half & t.time.isna(), "time missing where the event is given: rows left out of the survival page",
         _SURVIVAL_PAGES)
    note(half & t.event.isna(), "event missing where the time is given: rows left out of the survival page",
         _SURVIVAL_PAGES)
    t.loc[half, ["time", "event"]] = np.nan
    conflict = t[~bad].groupby(["cohort", "case"]).label.transform("nunique").reindex(t.index, fill_value=0) > 1
    note(conflict, "case has different labels in different rows: rows left out of the ROC and calibration pages",
         _LABEL_PAGES)
    t.loc[conflict, "label"] = np.nan
    clean = t[~bad & ~dup]
    rows = pd.concat(found, ignore_index=True) if found else pd.DataFrame(columns=[*_IDS, "problem", "affects"])
    problems = rows.groupby(["cohort", "model", "split", "problem", "affects"], sort=False).size().rename("rows")
    problems = pd.concat([problems.reset_index(), _not_estimable(clean)], ignore_index=True)[PROBLEM_COLUMNS]
    return clean, problems.astype({"rows": int})


def _outcome(t: pd.DataFrame, column: str, note, affects: str) -> pd.Series:
    """``t[column]`` as numbers, NaN where a value is wrong (each wrong value noted, per model)."""
    kind, values = column, t[column]
    out = pd.to_numeric(values, errors="coerce").astype(float)
    if values.dtype == object:  # "0"/"1"/"true" text
        out = values.map(lambda v: {"true": 1.0, "false": 0.0}.get(str(v).strip().lower(), np.nan)).where(
            out.isna() & values.notna(), out)
    page = "the ROC and calibration pages" if column == "label" else "the survival page"
    wrong = pd.Series(False, index=t.index)
    for _, rows in t.groupby(["cohort", "model"], sort=False).groups.items():
        coding = column_problem(values.loc[rows], kind, column=column)
        if coding is not None:
            note(t.index.isin(rows) & values.notna(), f"{coding}: rows left out of {page}", affects)
            wrong |= t.index.isin(rows)
    rule = {"label": "not 0/1", "event": "not 0/1", "time": "negative or not a number"}[column]
    per_row = outcome_problems(values, kind, column=column).notna() & ~wrong
    note(per_row, f"{column} is {rule}{{e.g.}}: rows left out of {page}", affects, column)
    return out.where(~(wrong | per_row))


def _not_estimable(rows: pd.DataFrame) -> pd.DataFrame:
    """A problem per (cohort, model, split) with labels of one class only, or survival rows without events."""
    out = []
    for (cohort, model, split), g in rows.groupby(["cohort", "model", "split"], sort=False):
        for outcome, affects, column in (("label", _LABEL_PAGES, "label"), ("survival", _SURVIVAL_PAGES, "event")):
            text = selection_problem(g, outcome, split)
            if text and "no usable rows" not in text:
                out.append({"cohort": cohort, "model": model, "split": split, "rows": int(g[column].notna().sum()),
                            "problem": text, "affects": affects})
    return pd.DataFrame(out, columns=PROBLEM_COLUMNS)


def problems_for(problems: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """The problems that concern the pages of ``outcome`` ("label": ROC, calibration; "survival")."""
    pages = _SURVIVAL_PAGES if outcome == "survival" else _LABEL_PAGES
    return problems[problems.affects.isin([_ALL_PAGES, pages])].reset_index(drop=True)


def selection_problem(rows: pd.DataFrame, outcome: str, split: str) -> str | None:
    """Why one model's rows of ``split`` give no ``outcome`` ("label" or "survival") statistic, or None.

    >>> selection_problem(pd.DataFrame({"case": ["a", "b"], "label": [1, 1]}), "label", "test")
    'not estimable: only one class in test (2 cases, all positive)'
    """
    need = ["label"] if outcome == "label" else ["time", "event"]
    rows = rows.dropna(subset=need)
    n = rows.case.nunique()
    if not n:
        return f"not estimable: no usable rows in {split}"
    if outcome == "label":
        classes = set(rows.label.astype(float))
        if len(classes) < 2:
            what = "positive" if classes == {1.0} else "negative"
            return f"not estimable: only one class in {split} ({n} case{'s' * (n > 1)}, all {what})"
    elif not (rows.event.astype(float) == 1).any():
        return f"not estimable: no events in {split} ({n} case{'s' * (n > 1)}, all censored)"
    return None


def read_predictions(*paths) -> pd.DataFrame:
    """Tidy predictions tables (``PREDICTION_COLUMNS``, as :func:`radlab.validation.run_workflow` writes them)
    from CSV or Parquet files, concatenated; extra columns (e.g. ``centre``) are kept. Ids (case, cohort,
    split, model) are read as text exactly as written ("001" stays "001").

    A file that cannot be read, lacks a prediction column or has no usable row for any model raises
    :class:`~radlab.errors.InputError` naming it; partial problems (a NaN score, a one-class split, ...) are
    left for the pages, which list them (:func:`validate_predictions`).

    Examples
    --------
    >>> read_predictions("missing.csv")
    Traceback (most recent call last):
    ...
    radlab.errors.InputError: predictions file missing.csv does not exist
    """
    frames = []
    for path in map(Path, paths):
        if not path.is_file():
            raise InputError(f"predictions file {path} does not exist", file=path)
        try:
            df = (pd.read_parquet(path) if path.suffix == ".parquet"
                  else pd.read_csv(path, dtype={c: str for c in _IDS}))
        except Exception as exc:  # noqa: BLE001  (any parser error: one message naming the file)
            raise InputError(f"predictions file {path} cannot be read as {path.suffix.lstrip('.') or 'CSV'}: {exc}",
                             file=path) from None
        missing = [c for c in PREDICTION_COLUMNS if c not in df.columns]
        if missing:
            raise InputError(f"predictions file {path} lacks the columns {missing} (a predictions table has "
                             f"{PREDICTION_COLUMNS}, as radlab.validation.run_workflow writes it)", file=path)
        usable, problems = validate_predictions(df, f"predictions file {path}")
        if not (usable.label.notna() | usable.event.notna()).any():
            found = "; ".join(dict.fromkeys(problems.problem)) or "no row has a label or a time and event"
            raise InputError(f"predictions file {path} has no usable rows for any model ({found}); fix the file",
                             file=path)
        frames.append(df)
    if not frames:
        raise InputError("read_predictions needs at least one file")
    return pd.concat(frames, ignore_index=True)


def average_predictions(table: pd.DataFrame) -> pd.DataFrame:
    """One row per case, cohort, split and model: scores averaged over folds and repeats.

    Out-of-fold predictions of a repeated k-fold scheme give each case one score per repeat; pages show
    their mean (the repeats' ensemble). Extra columns (e.g. ``centre``) keep their first value;
    ``n_scores`` counts the averaged rows.

    Examples
    --------
    >>> import numpy as np
    >>> t = pd.DataFrame({"case": ["a", "a", "b"], "cohort": "c", "split": "train", "fold": [0, 1, 0],
    ...                   "repeat": [0, 1, 0], "model": "m", "score": [0.2, 0.4, 0.9], "label": [0, 0, 1],
    ...                   "time": np.nan, "event": np.nan})
    >>> average_predictions(t)[["case", "score", "n_scores"]].to_dict("list")
    {'case': ['a', 'b'], 'score': [0.30000000000000004, 0.9], 'n_scores': [2, 1]}
    """
    keys = ["cohort", "split", "model", "case"]
    extra = [c for c in table.columns if c not in PREDICTION_COLUMNS]
    agg = {"score": "mean", "label": "first", "time": "first", "event": "first", "fold": "size",
           **{c: "first" for c in extra}}
    out = table.groupby(keys, sort=False, observed=True).agg(agg).rename(columns={"fold": "n_scores"})
    return out.reset_index()


def fit_rows(table: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Rows that thresholds and cut-offs are fitted on: the training split, else the out-of-fold rows
    (fold >= 0), else all rows. Returns the rows and a short description of them for the page.
    """
    train = table[table.split.isin(TRAINING_SPLITS)]
    if len(train):
        return train, "training rows (out-of-fold)" if (train.fold >= 0).any() else "training rows"
    oof = table[table.fold >= 0]
    if len(oof):
        return oof, "out-of-fold rows"
    return table, "all rows (no training or out-of-fold rows)"


class Pseudonymiser:
    """Stable salted pseudonyms for case ids ("P-3f9a1c"); the mapping stays on the server.

    The salt is random per server process unless given (``RADLAB_PSEUDONYM_SALT`` in the CLI), so the same
    case keeps its pseudonym within a session and across pages, but pseudonyms cannot be reversed by
    hashing candidate ids.

    Examples
    --------
    >>> p = Pseudonymiser(salt="s")
    >>> p("A0001") == p("A0001"), p("A0001").startswith("P-"), len(p("A0001"))
    (True, True, 8)
    >>> Pseudonymiser(enabled=False)("A0001")
    'A0001'
    """

    def __init__(self, salt: str | None = None, *, enabled: bool = True, digits: int = 6):
        self.salt = salt if salt is not None else secrets.token_hex(16)
        self.enabled = enabled
        self.digits = digits

    def __call__(self, case: str) -> str:
        if not self.enabled:
            return str(case)
        digest = hashlib.sha256(f"{self.salt}:{case}".encode()).hexdigest()
        return f"P-{digest[:self.digits]}"

    def map(self, cases) -> list[str]:
        return [self(c) for c in cases]


@lru_cache(maxsize=4)
def example_predictions(catalog_path: str | None = None, *, n_splits: int = 5, n_repeats: int = 2,
                        random_state: int = 0) -> pd.DataFrame:
    """A predictions table from the catalog's reference cohorts, for pages before a study has its own.

    Each cohort is split 70/30 (stratified on the outcome/event); :func:`radlab.validation.run_workflow` scores
    the 70 % out-of-fold (repeated stratified k-fold, every learned step inside the folds) and the 30 % as an
    external cohort with the model refitted on the 70 %. Binary: ``breast-cancer-wisconsin`` (all 30 features,
    10 selected per fold; and the 3 size features). Survival: ``gbsg2`` Cox models (all covariates; nodes +
    grade). Cohorts missing from the catalog are left out.
    """
    from sklearn.model_selection import train_test_split

    from radlab.catalog import CatalogError, open_catalog
    from radlab.validation import run_workflow

    catalog = open_catalog(catalog_path)
    studies = {"breast-cancer-wisconsin": [("all features", None, {}),
                                           ("size only", ["mean_radius", "mean_perimeter", "mean_area"],
                                            {"selector": None, "correlation": None})],
               "gbsg2": [("clinical", None, {"selector": None, "model": "cox"}),
                         ("nodes + grade", ["pnodes", "tgrade"], {"selector": None, "correlation": None, "model": "cox"})]}
    frames = []
    for name, models in studies.items():
        try:
            cohort = catalog[name]
            features, clinical = cohort.features, cohort.clinical
        except (CatalogError, OSError, KeyError):
            continue
        out = cohort.outcomes
        outcome = out["label"] if "label" in out else (out["time"], out["event"])
        strata = clinical[out.get("label", out.get("event"))]
        train, test = train_test_split(features.index, test_size=0.3, random_state=random_state, stratify=strata)
        for model, columns, options in models:
            X = features[columns] if columns else features
            result = run_workflow(X.loc[train], clinical.loc[train], outcome=outcome, cv=n_splits, n_repeats=n_repeats,
                                  external={"held-out": (X.loc[test], clinical.loc[test])}, cohort=name,
                                  model_name=model, random_state=random_state, **options)
            frames.append(result.predictions.assign(cohort=name))  # held-out rows: split "external"
    if not frames:
        raise ValueError("example_predictions needs the 'breast-cancer-wisconsin' or 'gbsg2' cohort in the catalog "
                         f"{catalog.path} (run `radlab data`).")
    return pd.concat(frames, ignore_index=True)[PREDICTION_COLUMNS]
