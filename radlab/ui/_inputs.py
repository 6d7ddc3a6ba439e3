"""Page inputs without Panel: averaged predictions, pseudonymised case ids, example predictions from the catalog."""

from __future__ import annotations

import hashlib
import secrets
from functools import lru_cache

import numpy as np
import pandas as pd

__all__ = ["PREDICTION_COLUMNS", "Pseudonymiser", "average_predictions", "example_predictions", "fit_rows"]

try:  # the contract's owner, once it lands
    from radlab.validation import PREDICTION_COLUMNS
except ImportError:
    PREDICTION_COLUMNS = ["case", "cohort", "split", "fold", "repeat", "model", "score", "label", "time", "event"]

TRAINING_SPLITS = ("train",)


def check_predictions(table: pd.DataFrame, owner: str) -> pd.DataFrame:
    missing = [c for c in PREDICTION_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"The 'predictions' parameter of {owner} must have the columns {PREDICTION_COLUMNS}. "
                         f"Missing {missing}.")
    return table


def average_predictions(table: pd.DataFrame) -> pd.DataFrame:
    """One row per case, cohort, split and model: scores averaged over folds and repeats.

    Out-of-fold predictions of a repeated k-fold scheme give each case one score per repeat; pages show
    their mean (the repeats' ensemble). Extra columns (e.g. ``centre``) keep their first value;
    ``n_scores`` counts the averaged rows.

    Examples
    --------
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


def _split_rows(n: int, y, random_state: int, test_size: float = 0.3):
    from sklearn.model_selection import train_test_split

    return train_test_split(np.arange(n), test_size=test_size, random_state=random_state, stratify=y)


def _oof_and_test(X: pd.DataFrame, fit_predict, y_strat, *, cohort: str, model: str, outcome: dict,
                  n_splits: int, n_repeats: int, random_state: int) -> pd.DataFrame:
    """Out-of-fold training predictions (repeated stratified k-fold) and test predictions of a refit model."""
    from sklearn.model_selection import RepeatedStratifiedKFold

    train, test = _split_rows(len(X), y_strat, random_state)
    rows = []
    cv = RepeatedStratifiedKFold(n_splits=n_splits, n_repeats=n_repeats, random_state=random_state)
    for k, (tr, va) in enumerate(cv.split(train, y_strat[train])):
        score = fit_predict(train[tr], train[va])
        rows.append(pd.DataFrame({"idx": train[va], "split": "train", "fold": k % n_splits,
                                  "repeat": k // n_splits, "score": score}))
    rows.append(pd.DataFrame({"idx": test, "split": "test", "fold": -1, "repeat": -1,
                              "score": fit_predict(train, test)}))
    out = pd.concat(rows, ignore_index=True)
    out.insert(0, "case", X.index.to_numpy()[out.pop("idx")].astype(str))
    out.insert(1, "cohort", cohort)
    out.insert(4, "model", model)
    for key in ("label", "time", "event"):
        out[key] = outcome[key][X.index.get_indexer(out.case)] if key in outcome else np.nan
    return out[PREDICTION_COLUMNS]


@lru_cache(maxsize=4)
def example_predictions(catalog_path: str | None = None, *, n_splits: int = 5, n_repeats: int = 2,
                        random_state: int = 0) -> pd.DataFrame:
    """A predictions table from the catalog's reference cohorts, for pages before a study has its own.

    Binary: logistic regressions on ``breast-cancer-wisconsin`` (all 30 features; and the 3 "mean"
    size features). Survival: Cox models on ``gbsg2`` (all covariates; nodes + grade), score = linear
    predictor. Each: 70 % training rows scored out-of-fold by repeated stratified k-fold, 30 % test rows
    scored by the model refit on all training rows. Cohorts missing from the catalog are left out.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from radlab.catalog import CatalogError, open_catalog

    catalog = open_catalog(catalog_path)
    frames = []
    try:
        bcw = catalog["breast-cancer-wisconsin"]
        X, y = bcw.features, bcw.clinical[bcw.outcomes["label"]].to_numpy()
    except (CatalogError, OSError, KeyError):
        X = None
    if X is not None:
        for model, cols in (("all features", list(X.columns)),
                            ("size only", [c for c in X.columns if c in ("mean_radius", "mean_perimeter", "mean_area")])):
            def fit_predict(tr, te, cols=cols):
                clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
                return clf.fit(X.iloc[tr][cols], y[tr]).predict_proba(X.iloc[te][cols])[:, 1]
            frames.append(_oof_and_test(X, fit_predict, y, cohort=bcw.name, model=model, outcome={"label": y},
                                        n_splits=n_splits, n_repeats=n_repeats, random_state=random_state))
    try:
        gb = catalog["gbsg2"]
        Xs = gb.features
        t = gb.clinical[gb.outcomes["time"]].to_numpy(float) / 365.25
        e = gb.clinical[gb.outcomes["event"]].to_numpy().astype(bool)
    except (CatalogError, OSError, KeyError):
        Xs = None
    if Xs is not None:
        from sksurv.linear_model import CoxPHSurvivalAnalysis
        from sksurv.util import Surv

        yy = Surv.from_arrays(e, t)
        for model, cols in (("clinical", list(Xs.columns)), ("nodes + grade", ["pnodes", "tgrade"])):
            def fit_predict(tr, te, cols=cols):
                cox = make_pipeline(StandardScaler(), CoxPHSurvivalAnalysis())
                return cox.fit(Xs.iloc[tr][cols], yy[tr]).predict(Xs.iloc[te][cols])
            frames.append(_oof_and_test(Xs, fit_predict, e, cohort=gb.name, model=model,
                                        outcome={"time": t, "event": e.astype(float)},
                                        n_splits=n_splits, n_repeats=n_repeats, random_state=random_state))
    if not frames:
        raise ValueError("example_predictions needs the 'breast-cancer-wisconsin' or 'gbsg2' cohort in the catalog "
                         f"{catalog.path} (run `radlab data`).")
    return pd.concat(frames, ignore_index=True)
