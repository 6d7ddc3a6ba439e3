"""Risk groups from a score, with the cut-off fitted on training data and frozen for other cohorts."""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from radlab.errors import InputError

__all__ = ["RiskGroups"]


class RiskGroups(TransformerMixin, BaseEstimator):
    """Split cases into low (0) and high (1) risk by a cut-off learned on training scores.

    Parameters
    ----------
    method : {"median", "percentile", "youden", "fixed"}
        "median" / "percentile": that quantile of the training scores; "youden": the threshold
        maximising sensitivity + specificity - 1 for an event by ``time`` (cases with an event by ``time``
        against cases followed beyond ``time``; cases censored before ``time`` are left out);
        "fixed": ``cutoff`` as given.
    percentile : float in [0, 100]
        Used by "percentile" (e.g. 75 for the training 75th percentile).
    time : float
        Horizon for "youden".
    cutoff : float
        Used by "fixed".

    Attributes
    ----------
    cutoff_ : ndarray of shape (n_features,)
        The frozen cut-off per score column; ``transform`` gives ``X >= cutoff_`` as 0/1.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> rg = RiskGroups(method="percentile", percentile=75).fit(np.arange(8.0)[:, None])
    >>> rg.cutoff_, rg.transform([[5.0], [6.0]]).ravel().tolist()
    (array([5.25]), [0, 1])
    """

    _parameter_constraints = {
        "method": [StrOptions({"median", "percentile", "youden", "fixed"})],
        "percentile": [Interval(Real, 0, 100, closed="both")],
        "time": [Interval(Real, 0, None, closed="neither"), None],
        "cutoff": [Real, None],
    }

    def __init__(self, method: str = "median", percentile: float = 50.0, time: float | None = None,
                 cutoff: float | None = None):
        self.method = method
        self.percentile = percentile
        self.time = time
        self.cutoff = cutoff

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the cut-off. ``y`` (only for "youden"): a scikit-survival structured array (event, time)."""
        X = validate_data(self, X, dtype=np.float64)
        if self.method == "median":
            self.cutoff_ = np.median(X, axis=0)
        elif self.method == "percentile":
            self.cutoff_ = np.percentile(X, self.percentile, axis=0)
        elif self.method == "fixed":
            if self.cutoff is None:
                raise InputError("The 'cutoff' parameter of RiskGroups must be a number when method='fixed'. "
                                 "Got None instead.")
            self.cutoff_ = np.full(X.shape[1], float(self.cutoff))
        else:
            self.cutoff_ = self._youden(X, y)
        return self

    def _youden(self, X, y):
        from radlab.outcomes import check_outcome

        from ._roc import RocCurve

        if self.time is None or y is None:
            raise InputError("RiskGroups(method='youden') needs 'time' and a survival y (event, time) in fit. "
                             f"Got time={self.time!r}, y={'None' if y is None else 'given'}.")
        fields = getattr(getattr(y, "dtype", None), "names", None)
        if not fields or len(fields) != 2 or len(y) != len(X):
            raise InputError("RiskGroups(method='youden') needs y as a structured array (event, time) with one row "
                             f"per case (sksurv.util.Surv.from_arrays). Got {type(y).__name__} instead.")
        owner = "RiskGroups.fit"
        event = check_outcome(y[fields[0]], "event", name=f"y['{fields[0]}']", owner=owner)
        t = check_outcome(y[fields[1]], "time", name=f"y['{fields[1]}']", owner=owner)
        case = event & (t <= self.time)
        keep = case | (t > self.time)
        if case[keep].all() or not case[keep].any():
            raise InputError(f"RiskGroups(method='youden') needs cases with an event by time={self.time} and cases "
                             "followed beyond it in the training data.")
        return np.array([RocCurve.from_predictions(case[keep], X[keep, k], n_bootstraps=0).youden()
                         for k in range(X.shape[1])])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []  # outputs 0/1 group labels
        return tags

    def transform(self, X):
        """0 (low risk) / 1 (high risk): ``X >= cutoff_``."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return (X >= self.cutoff_).astype(np.int64)
