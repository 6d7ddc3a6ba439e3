"""Page inputs without Panel: averaged predictions, pseudonymised case ids, example predictions from the catalog."""

from __future__ import annotations

import hashlib
import secrets
from functools import lru_cache
from pathlib import Path

import pandas as pd

__all__ = ["PREDICTION_COLUMNS", "Pseudonymiser", "average_predictions", "example_predictions", "fit_rows",
           "read_predictions"]

from radlab.validation import PREDICTION_COLUMNS

TRAINING_SPLITS = ("train",)


def check_predictions(table: pd.DataFrame, owner: str) -> pd.DataFrame:
    missing = [c for c in PREDICTION_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"The 'predictions' parameter of {owner} must have the columns {PREDICTION_COLUMNS}. "
                         f"Missing {missing}.")
    return table


def read_predictions(*paths) -> pd.DataFrame:
    """Tidy predictions tables (``PREDICTION_COLUMNS``, as :func:`radlab.validation.run_workflow` writes them)
    from CSV or Parquet files, concatenated; extra columns (e.g. ``centre``) are kept.

    Examples
    --------
    >>> read_predictions("missing.csv")
    Traceback (most recent call last):
    ...
    FileNotFoundError: predictions file missing.csv does not exist
    """
    frames = []
    for path in map(Path, paths):
        if not path.is_file():
            raise FileNotFoundError(f"predictions file {path} does not exist")
        try:
            df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
        except Exception as exc:
            raise ValueError(f"predictions file {path} cannot be read as {path.suffix.lstrip('.') or 'CSV'}: {exc}") from None
        missing = [c for c in PREDICTION_COLUMNS if c not in df.columns]
        if missing:
            raise ValueError(f"predictions file {path} lacks the columns {missing} (a predictions table has "
                             f"{PREDICTION_COLUMNS}, as radlab.validation.run_workflow writes it)")
        frames.append(df.assign(case=df.case.astype(str)))
    if not frames:
        raise ValueError("read_predictions needs at least one file")
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
