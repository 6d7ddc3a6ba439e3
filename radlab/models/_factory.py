"""Model factory and a penalised Cox PH estimator (wrapping scikit-survival)."""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["CoxPH", "MODELS", "make_model"]


class CoxPH(BaseEstimator):
    """Cox proportional-hazards model with an elastic-net penalty, as a scikit-learn estimator.

    ``l1_ratio=0`` uses scikit-survival's ``CoxPHSurvivalAnalysis`` (ridge penalty ``0.5 * alpha * ||b||^2``,
    ``alpha=0`` unpenalised, Efron or Breslow ties); ``l1_ratio>0`` uses ``CoxnetSurvivalAnalysis`` at the
    single penalty ``alpha``. ``y`` is a survival structured array (:func:`survival_target`).
    ``predict`` returns the prognostic index (linear predictor, higher = higher risk); ``score`` is
    Harrell's C.

    Examples
    --------
    >>> from radlab.models import survival_target
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0], [1.5]]); y = survival_target([5, 4, 2, 1, 3], [1, 1, 1, 1, 0])
    >>> bool(CoxPH(alpha=0.1).fit(X, y).coef_[0] > 0)
    True
    """

    _parameter_constraints = {"alpha": [Interval(Real, 0, None, closed="left")],
                              "l1_ratio": [Interval(Real, 0, 1, closed="both")],
                              "ties": [StrOptions({"efron", "breslow"})]}

    def __init__(self, alpha=0.0, *, l1_ratio=0.0, ties="efron"):
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.ties = ties

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        from sksurv.linear_model import CoxnetSurvivalAnalysis, CoxPHSurvivalAnalysis

        X = validate_data(self, X)
        if self.l1_ratio == 0:
            self.model_ = CoxPHSurvivalAnalysis(alpha=self.alpha, ties=self.ties).fit(X, y)
            self.coef_ = self.model_.coef_
        else:
            self.model_ = CoxnetSurvivalAnalysis(l1_ratio=self.l1_ratio, alphas=[self.alpha],
                                                 fit_baseline_model=True).fit(X, y)
            self.coef_ = self.model_.coef_[:, 0]
        self.intercept_ = 0.0
        return self

    def predict(self, X):
        """Prognostic index ``X @ coef_``."""
        check_is_fitted(self)
        return validate_data(self, X, reset=False) @ self.coef_

    def predict_survival_function(self, X, times):
        """Survival probabilities, array (n_cases, len(times))."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        fns = self.model_.predict_survival_function(X)
        return np.vstack([f(np.asarray(times, float)) for f in fns])

    def score(self, X, y):
        """Harrell's concordance index of the prognostic index."""
        from sksurv.metrics import concordance_index_censored

        from ._target import split_survival

        t, e = split_survival(y)
        return concordance_index_censored(e, t, self.predict(X))[0]


MODELS = ("logistic", "random_forest", "gradient_boosting", "cox", "coxnet", "random_survival_forest")


def make_model(name: str, *, random_state=None, **params):
    """A fresh estimator by name: ``logistic``, ``random_forest``, ``gradient_boosting`` (binary outcomes),
    ``cox`` (ridge/unpenalised :class:`CoxPH`), ``coxnet`` (elastic-net :class:`CoxPH`, default LASSO
    ``alpha=0.05``), ``random_survival_forest`` (scikit-survival). ``params`` go to the estimator.

    Examples
    --------
    >>> make_model("logistic", C=0.5)
    LogisticRegression(C=0.5, max_iter=5000)
    """
    if name == "logistic":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(**{"max_iter": 5000, **params})
    if name == "random_forest":
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(**{"n_estimators": 200, "random_state": random_state, **params})
    if name == "gradient_boosting":
        from sklearn.ensemble import GradientBoostingClassifier

        return GradientBoostingClassifier(**{"random_state": random_state, **params})
    if name == "cox":
        return CoxPH(**{"alpha": 0.1, **params})
    if name == "coxnet":
        return CoxPH(**{"alpha": 0.05, "l1_ratio": 1.0, **params})
    if name == "random_survival_forest":
        from sksurv.ensemble import RandomSurvivalForest

        return RandomSurvivalForest(**{"n_estimators": 100, "min_samples_leaf": 5, "random_state": random_state,
                                       **params})
    raise ValueError(f"The 'name' parameter of make_model must be one of {list(MODELS)}. Got {name!r} instead.")
