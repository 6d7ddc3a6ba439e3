"""Prognostic-index stacking: separate Cox models per feature group, then a Cox model on their indices."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

from ._factory import CoxPH
from ._target import split_survival

__all__ = ["PrognosticIndexStack"]


class PrognosticIndexStack(BaseEstimator):
    """Stack the prognostic indices (PIs) of Cox models fitted on separate column groups.

    Each group (e.g. ``{"imaging": [...radiomics columns], "clinical": ["age", "stage"]}``) gets its own
    clone of ``estimator``; a ``final_estimator`` Cox model is fitted on their PIs. With ``cv`` folds the
    PIs the final model learns from are out-of-fold (no optimism from reusing training cases); the
    group models used for prediction are refitted on all training cases. X must be a DataFrame.

    Attributes: ``estimators_`` (dict group -> fitted model), ``final_estimator_``, ``coef_`` (weights of the
    group PIs).

    Examples
    --------
    >>> from radlab.models import survival_target
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame(rng.normal(size=(80, 3)), columns=["a", "b", "age"])
    >>> y = survival_target(rng.exponential(np.exp(-X.a - X.age)), rng.random(80) < 0.8)
    >>> m = PrognosticIndexStack({"imaging": ["a", "b"], "clinical": ["age"]}, cv=3).fit(X, y)
    >>> m.predict(X).shape, sorted(m.estimators_)
    ((80,), ['clinical', 'imaging'])
    """

    def __init__(self, groups, *, estimator=None, final_estimator=None, cv=None, random_state=None):
        self.groups = groups
        self.estimator = estimator
        self.final_estimator = final_estimator
        self.cv = cv
        self.random_state = random_state

    def _base(self):
        return CoxPH(alpha=0.1) if self.estimator is None else self.estimator

    def fit(self, X, y):
        from sklearn.model_selection import StratifiedKFold

        if not isinstance(X, pd.DataFrame):
            raise ValueError(f"The 'X' parameter of PrognosticIndexStack must be a DataFrame (groups are column "
                             f"names). Got {type(X).__name__} instead.")
        missing = [c for cols in self.groups.values() for c in cols if c not in X]
        if missing:
            raise ValueError(f"The 'groups' parameter of PrognosticIndexStack names columns absent from X: "
                             f"{missing}.")
        names = list(self.groups)
        self.estimators_ = {g: clone(self._base()).fit(X[self.groups[g]], y) for g in names}
        if self.cv:
            _, event = split_survival(y)
            pis = np.zeros((len(X), len(names)))
            folds = StratifiedKFold(self.cv, shuffle=True, random_state=self.random_state).split(X, event)
            for tr, te in folds:
                for j, g in enumerate(names):
                    m = clone(self._base()).fit(X.iloc[tr][self.groups[g]], y[tr])
                    pis[te, j] = m.predict(X.iloc[te][self.groups[g]])
        else:
            pis = self._indices(X)
        final = CoxPH() if self.final_estimator is None else self.final_estimator
        self.final_estimator_ = clone(final).fit(pis, y)
        self.coef_ = pd.Series(self.final_estimator_.coef_, index=names)
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        return self

    def _indices(self, X):
        return np.column_stack([self.estimators_[g].predict(X[cols]) for g, cols in self.groups.items()])

    def prognostic_indices(self, X) -> pd.DataFrame:
        """Each group model's PI, one column per group."""
        check_is_fitted(self)
        return pd.DataFrame(self._indices(X), columns=list(self.groups), index=X.index)

    def predict(self, X):
        """Combined prognostic index."""
        check_is_fitted(self)
        return self.final_estimator_.predict(self._indices(X))

    def score(self, X, y):
        from sksurv.metrics import concordance_index_censored

        t, e = split_survival(y)
        return concordance_index_censored(e, t, self.predict(X))[0]
