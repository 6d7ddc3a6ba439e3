"""Validation schemes writing the tidy predictions table: CV (repeated, grouped, by centre), externals, nested CV."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import BaseCrossValidator, LeaveOneGroupOut, StratifiedGroupKFold, StratifiedKFold

from radlab.models._target import is_survival, split_survival

__all__ = ["PREDICTION_COLUMNS", "LeaveOneCentreOut", "RepeatedStratifiedGroupKFold", "cross_validate_predictions",
           "external_validation", "leave_one_centre_out", "nested_cv", "predictions_frame", "score_cases"]

PREDICTION_COLUMNS = ["case", "cohort", "split", "fold", "repeat", "model", "score", "label", "time", "event"]
LeaveOneCentreOut = LeaveOneGroupOut


class RepeatedStratifiedGroupKFold(BaseCrossValidator):
    """Stratified k-fold with groups (cases of one patient never split), repeated with new shuffles.

    Split ``i`` is fold ``i % n_splits`` of repeat ``i // n_splits``. ``groups=None``: each case alone.

    Examples
    --------
    >>> cv = RepeatedStratifiedGroupKFold(n_splits=2, n_repeats=2, random_state=0)
    >>> y = np.array([0, 0, 1, 1, 0, 1, 0, 1]); g = np.array([0, 0, 1, 1, 2, 3, 4, 5])
    >>> all(len(set(g[tr]) & set(g[te])) == 0 for tr, te in cv.split(y, y, g)), cv.get_n_splits()
    (True, 4)
    """

    def __init__(self, n_splits=5, n_repeats=1, random_state=None):
        self.n_splits = n_splits
        self.n_repeats = n_repeats
        self.random_state = random_state

    def split(self, X, y=None, groups=None):
        y = np.asarray(y)
        strata = split_survival(y)[1] if is_survival(y) else y
        g = np.arange(len(strata)) if groups is None else np.asarray(groups)
        rng = np.random.RandomState(self.random_state)
        for _ in range(self.n_repeats):
            cv = StratifiedGroupKFold(self.n_splits, shuffle=True, random_state=rng.randint(2**31 - 1))
            yield from cv.split(strata, strata, g)

    def get_n_splits(self, X=None, y=None, groups=None):
        return self.n_splits * self.n_repeats


def score_cases(estimator, X, **params) -> np.ndarray:
    """Score per case: P(positive) for classifiers, else the decision function or prediction (risk).

    ``params``: metadata routed to the scoring method (e.g. ``batch=`` for a Pipeline with ``ComBat()``; needs
    scikit-learn's metadata routing enabled).
    """
    if hasattr(estimator, "predict_proba"):
        return estimator.predict_proba(X, **params)[:, 1]
    if hasattr(estimator, "decision_function"):
        return estimator.decision_function(X, **params)
    return np.asarray(estimator.predict(X, **params), float)


def predictions_frame(case, score, *, cohort: str, split: str, model: str, y=None, fold: int = -1,
                      repeat: int = -1) -> pd.DataFrame:
    """Rows of the predictions table (``PREDICTION_COLUMNS``); ``y``: binary labels or survival array.

    Examples
    --------
    >>> predictions_frame(["a", "b"], [0.2, 0.9], cohort="c", split="external", model="m", y=[0, 1]).label.tolist()
    [0.0, 1.0]
    """
    if split not in ("train", "validation", "test", "external"):
        raise ValueError(f"The 'split' parameter of predictions_frame must be one of 'train', 'validation', 'test', "
                         f"'external'. Got {split!r} instead.")
    n = len(case)
    out = pd.DataFrame({"case": np.asarray(case).astype(str), "cohort": cohort, "split": split, "fold": int(fold),
                        "repeat": int(repeat), "model": model, "score": np.asarray(score, float),
                        "label": np.nan, "time": np.nan, "event": np.nan})
    if y is not None:
        if is_survival(y):
            t, e = split_survival(y)
            out["time"], out["event"] = t, e.astype(float)
        else:
            out["label"] = np.asarray(y, float).reshape(n)
    return out[PREDICTION_COLUMNS]


def _rows(X, y, idx):
    Xi = X.iloc[idx] if hasattr(X, "iloc") else np.asarray(X)[idx]
    return Xi, np.asarray(y)[idx]


def _routing(params):
    """Metadata routing switched on for the duration of a fit/score that passes metadata (else unchanged)."""
    import contextlib

    import sklearn

    return sklearn.config_context(enable_metadata_routing=True) if params else contextlib.nullcontext()


def _sliced(params, idx) -> dict:
    from sklearn.utils import _safe_indexing

    return {key: _safe_indexing(value, idx) for key, value in (params or {}).items()}


def _ids(X):
    return np.asarray(X.index).astype(str) if hasattr(X, "index") else np.arange(len(X)).astype(str)


def _splitter(cv, y, groups, random_state):
    if isinstance(cv, int):
        if groups is not None:
            return RepeatedStratifiedGroupKFold(cv, 1, random_state)
        return StratifiedKFold(cv, shuffle=True, random_state=random_state)
    return cv


def cross_validate_predictions(estimator, X, y, *, cv=5, groups=None, cohort: str = "train", model: str = "model",
                               return_train: bool = False, return_estimators: bool = False, random_state=0,
                               params: dict | None = None):
    """Fit a clone of ``estimator`` on each training fold and score its held-out fold (``split="test"``).

    Every learned step (normalisation, ComBat, selection, thresholds) must be inside ``estimator``
    (a Pipeline): then nothing from the held-out cases reaches the fit. ``cv``: an int (stratified k-fold,
    grouped by ``groups`` when given), or any scikit-learn splitter (e.g. :class:`RepeatedStratifiedGroupKFold`,
    :class:`LeaveOneCentreOut` with ``groups=centre``). Survival targets are stratified on the event.
    ``params``: per-case metadata (e.g. ``{"batch": centre, "covariates": table}`` for a Pipeline with
    ``ComBat()``), sliced to each fold's training cases for the fit and to its held-out cases for scoring,
    through scikit-learn's metadata routing (switched on for these calls only).
    Returns the predictions table (and the fitted estimators when ``return_estimators``).

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0); X = rng.normal(size=(40, 2)); y = (X[:, 0] > 0).astype(int)
    >>> p = cross_validate_predictions(LogisticRegression(), X, y, cv=4)
    >>> len(p), sorted(p.fold.unique().tolist())
    (40, [0, 1, 2, 3])
    """
    y = np.asarray(y)
    splitter = _splitter(cv, y, groups, random_state)
    strata = split_survival(y)[1] if is_survival(y) else y
    n_splits = getattr(splitter, "n_splits", None)
    repeated = getattr(splitter, "n_repeats", 1) > 1
    ids, rows, fitted = _ids(X), [], []
    for i, (tr, te) in enumerate(splitter.split(X, strata, groups)):
        fold, repeat = (i % n_splits, i // n_splits) if repeated else (i, 0)
        Xtr, ytr = _rows(X, y, tr)
        Xte, yte = _rows(X, y, te)
        with _routing(params):
            est = clone(estimator).fit(Xtr, ytr, **_sliced(params, tr))
            score = score_cases(est, Xte, **_sliced(params, te))
            train_score = score_cases(est, Xtr, **_sliced(params, tr)) if return_train else None
        rows.append(predictions_frame(ids[te], score, cohort=cohort, split="test", model=model,
                                      y=yte, fold=fold, repeat=repeat))
        if return_train:
            rows.append(predictions_frame(ids[tr], train_score, cohort=cohort, split="train", model=model,
                                          y=ytr, fold=fold, repeat=repeat))
        if return_estimators:
            fitted.append(est)
    table = pd.concat(rows, ignore_index=True)
    return (table, fitted) if return_estimators else table


def leave_one_centre_out(estimator, X, y, centres, *, model: str = "model", return_estimators: bool = False):
    """Train on all centres but one and score the held-out centre, for every centre.

    ``cohort`` in the table is the held-out centre; ``fold`` numbers the centres (sorted).
    """
    centres = np.asarray(centres)
    labels = np.unique(centres)
    rows, fitted = [], []
    for fold, c in enumerate(labels):
        tr, te = np.flatnonzero(centres != c), np.flatnonzero(centres == c)
        est = clone(estimator).fit(*_rows(X, y, tr))
        Xte, yte = _rows(X, y, te)
        rows.append(predictions_frame(_ids(X)[te], score_cases(est, Xte), cohort=str(c), split="test", model=model,
                                      y=yte, fold=fold, repeat=0))
        fitted.append(est)
    table = pd.concat(rows, ignore_index=True)
    return (table, fitted) if return_estimators else table


def external_validation(estimator, X, y, externals: dict, *, cohort: str = "train", model: str = "model",
                        cv=None, groups=None, random_state=0):
    """Fit on all training cases; score each external cohort separately (``split="external"``).

    ``externals``: name -> (X, y) (y may be None). With ``cv``, the training cohort's out-of-fold
    predictions (``split="test"``) are included. Returns ``(predictions, fitted_estimator)``.
    """
    est = clone(estimator).fit(X, y)
    rows = [predictions_frame(_ids(Xe), score_cases(est, Xe), cohort=str(name), split="external", model=model, y=ye)
            for name, (Xe, ye) in externals.items()]
    if cv is not None:
        rows.insert(0, cross_validate_predictions(estimator, X, y, cv=cv, groups=groups, cohort=cohort, model=model,
                                                  random_state=random_state))
    return pd.concat(rows, ignore_index=True), est


def nested_cv(estimator, param_grid, X, y, *, outer_cv=5, inner_cv=3, groups=None, scoring=None,
              cohort: str = "train", model: str = "model", random_state=0):
    """Nested CV: a grid search (inner CV on the training fold only) inside each outer fold.

    Returns ``(predictions, best_params)`` where ``best_params`` is a DataFrame (repeat, fold, params...).
    """
    from sklearn.model_selection import GridSearchCV

    y = np.asarray(y)
    outer = _splitter(outer_cv, y, groups, random_state)
    strata = split_survival(y)[1] if is_survival(y) else y
    rows, best = [], []
    n_splits = getattr(outer, "n_splits", None)
    repeated = getattr(outer, "n_repeats", 1) > 1
    for i, (tr, te) in enumerate(outer.split(X, strata, groups)):
        fold, repeat = (i % n_splits, i // n_splits) if repeated else (i, 0)
        inner = _splitter(inner_cv, y, groups, random_state + 1 + i)
        Xtr, ytr = _rows(X, y, tr)
        search = GridSearchCV(clone(estimator), param_grid, cv=inner, scoring=scoring)
        if groups is not None:
            search.fit(Xtr, ytr, groups=np.asarray(groups)[tr])
        elif isinstance(inner, StratifiedKFold) and is_survival(y):
            search.set_params(cv=list(inner.split(Xtr, split_survival(ytr)[1]))).fit(Xtr, ytr)
        else:
            search.fit(Xtr, ytr)
        Xte, yte = _rows(X, y, te)
        rows.append(predictions_frame(_ids(X)[te], score_cases(search.best_estimator_, Xte), cohort=cohort,
                                      split="test", model=model, y=yte, fold=fold, repeat=repeat))
        best.append({"repeat": repeat, "fold": fold, **search.best_params_})
    return pd.concat(rows, ignore_index=True), pd.DataFrame(best)
