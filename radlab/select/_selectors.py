"""Feature selectors as scikit-learn transformers (binary or survival outcomes)."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import BaseEstimator, _fit_context, clone
from sklearn.feature_selection import SelectorMixin
from sklearn.utils import ClassifierTags
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, check_random_state, validate_data

from radlab.errors import InputError
from radlab.models._target import is_survival, split_survival

from ._univariate import univariate_scores

__all__ = ["CorrelationFilter", "ICCFilter", "LassoSelector", "MRMR", "StabilitySelection", "UnivariateFilter",
           "volume_proxies"]


def _check_y(y, n: int, owner: str):
    if y is None:
        raise InputError(f"{owner} requires y to be passed, but the target y is None: give binary labels or a "
                         "survival structured array.")
    if is_survival(y):
        y = np.asarray(y)
    else:
        y = np.asarray(y).ravel()
        classes = np.unique(y)
        if len(classes) != 2:
            raise InputError(f"The 'y' parameter of {owner} must be binary labels (2 classes) or a survival target. "
                             f"Got {len(classes)} class(es) {classes[:5].tolist()} instead.")
    if len(y) != n:
        raise InputError(f"The 'y' parameter of {owner} must have one value per case ({n}). Got {len(y)} instead.")
    return y


def _spearman(X: np.ndarray) -> np.ndarray:
    R = np.apply_along_axis(stats.rankdata, 0, X)
    with np.errstate(invalid="ignore", divide="ignore"):
        C = np.corrcoef(R, rowvar=False)
    return np.nan_to_num(np.atleast_2d(C))


class _Selector(SelectorMixin, BaseEstimator):
    _needs_y = True

    def _get_support_mask(self):
        check_is_fitted(self)
        return self.support_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = self._needs_y
        # y is binary labels (or a survival target): declared as a binary classifier's y, so generic checks
        # pass two classes
        tags.classifier_tags = ClassifierTags(multi_class=False)
        return tags


class UnivariateFilter(_Selector):
    """Keep the ``k`` best features by univariate AUC (binary y) or Cox Wald z (survival y), or those with p < alpha.

    Attributes: ``scores_`` (|AUC - 0.5| or |z|), ``pvalues_``, ``support_``.

    Examples
    --------
    >>> X = np.array([[0, 5.0], [1, 3.0], [2, 4.0], [3, 3.5]])
    >>> UnivariateFilter(k=1).fit(X, [0, 0, 1, 1]).get_support().tolist()
    [True, False]
    """

    _parameter_constraints = {"k": [Interval(Integral, 1, None, closed="left"), None],
                              "alpha": [Interval(Real, 0, 1, closed="right"), None]}

    def __init__(self, k=10, *, alpha=None):
        self.k = k
        self.alpha = alpha

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        X = validate_data(self, X)
        y = _check_y(y, len(X), "UnivariateFilter")
        table = univariate_scores(X, y)
        self.scores_, self.pvalues_ = table["score"].to_numpy(), table["p_value"].to_numpy()
        keep = np.ones(X.shape[1], bool) if self.alpha is None else self.pvalues_ < self.alpha
        if self.k is not None and keep.sum() > self.k:
            rank = np.argsort(-np.where(keep, self.scores_, -np.inf), kind="stable")[: self.k]
            keep = np.zeros_like(keep)
            keep[rank] = True
        self.support_ = keep
        return self


class CorrelationFilter(_Selector):
    """Drop one of every pair of features with |correlation| > ``threshold``, keeping the better one.

    Features are visited from best to worst univariate score (AUC for binary y, Cox |z| for survival y,
    variance when y is None); a feature is kept if its |rho| with every already-kept feature is at most
    ``threshold``. So in each correlated pair the feature with the better score survives.

    Examples
    --------
    >>> X = np.array([[1, 1.1, 0], [2, 2.0, 1], [3, 3.2, 0], [4, 3.9, 1]])
    >>> CorrelationFilter().fit(X, [0, 0, 1, 1]).get_support().tolist()
    [True, False, True]
    """

    _parameter_constraints = {"threshold": [Interval(Real, 0, 1, closed="both")],
                              "method": [StrOptions({"spearman", "pearson"})]}
    _needs_y = False

    def __init__(self, threshold=0.85, *, method="spearman"):
        self.threshold = threshold
        self.method = method

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        X = validate_data(self, X)
        if y is None:
            self.scores_ = X.var(axis=0)
        else:
            self.scores_ = univariate_scores(X, _check_y(y, len(X), "CorrelationFilter"))["score"].to_numpy()
        if self.method == "spearman":
            C = _spearman(X)
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                C = np.nan_to_num(np.atleast_2d(np.corrcoef(X, rowvar=False)))
        C = np.abs(C)
        kept: list[int] = []
        for j in np.argsort(-self.scores_, kind="stable"):
            if not kept or C[j, kept].max() <= self.threshold:
                kept.append(int(j))
        self.support_ = np.isin(np.arange(X.shape[1]), kept)
        self.correlation_ = C
        return self


class LassoSelector(_Selector):
    """Features with non-zero coefficients in an L1-penalised logistic (binary y) or Cox (survival y) model.

    Features are standardised inside. ``C`` (logistic, inverse penalty) or ``alpha`` (Cox penalty) fixed,
    or chosen by ``cv``-fold cross-validation (ROC AUC / concordance) when None.

    Attributes: ``coef_`` (standardised units), ``C_`` or ``alpha_``, ``support_``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(80, 5)); y = (X[:, 0] + 0.3 * rng.normal(size=80) > 0).astype(int)
    >>> LassoSelector(C=0.1).fit(X, y).get_support()[0]
    np.True_
    """

    _parameter_constraints = {"C": [Interval(Real, 0, None, closed="neither"), None],
                              "alpha": [Interval(Real, 0, None, closed="neither"), None],
                              "cv": [Interval(Integral, 2, None, closed="left")], "random_state": ["random_state"]}

    def __init__(self, *, C=None, alpha=None, cv=3, random_state=None):
        self.C = C
        self.alpha = alpha
        self.cv = cv
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
        from sklearn.preprocessing import StandardScaler

        X = validate_data(self, X)
        y = _check_y(y, len(X), "LassoSelector")
        Z = StandardScaler().fit_transform(X)
        if is_survival(y):
            self.coef_ = self._cox(Z, y)
        else:
            if self.C is None:
                m = LogisticRegressionCV(Cs=10, l1_ratios=(1.0,), solver="liblinear", cv=self.cv,
                                         scoring="roc_auc", random_state=self.random_state,
                                         use_legacy_attributes=False).fit(Z, y)
                self.C_ = float(np.ravel(m.C_)[0])
            else:
                self.C_ = self.C
            m = LogisticRegression(C=self.C_, l1_ratio=1.0, solver="liblinear",
                                   random_state=self.random_state).fit(Z, y)
            self.coef_ = m.coef_.ravel()
        self.support_ = self.coef_ != 0
        return self

    def _cox(self, Z, y):
        from sklearn.model_selection import KFold
        from sksurv.linear_model import CoxnetSurvivalAnalysis
        from sksurv.metrics import concordance_index_censored

        if self.alpha is not None:
            self.alpha_ = self.alpha
        else:
            path = CoxnetSurvivalAnalysis(l1_ratio=1.0, n_alphas=20, alpha_min_ratio=0.05).fit(Z, y)
            alphas = path.alphas_
            scores = np.zeros(len(alphas))
            folds = KFold(self.cv, shuffle=True, random_state=self.random_state).split(Z)
            for tr, te in folds:
                m = CoxnetSurvivalAnalysis(l1_ratio=1.0, alphas=alphas).fit(Z[tr], y[tr])
                time, event = split_survival(y[te])
                scores += [concordance_index_censored(event, time, m.predict(Z[te], alpha=a))[0] for a in alphas]
            self.alpha_ = float(alphas[int(np.argmax(scores))])
        m = CoxnetSurvivalAnalysis(l1_ratio=1.0, alphas=[self.alpha_]).fit(Z, y)
        return m.coef_[:, 0]


class MRMR(_Selector):
    """Minimum-redundancy maximum-relevance greedy selection of ``n_features`` (FCQ scheme).

    Relevance: univariate score (|AUC - 0.5| or Cox |z|); redundancy: mean |Spearman rho| with the
    already selected features; each step takes the feature maximising relevance / redundancy.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(size=60); X = np.c_[a, a + 0.01 * rng.normal(size=60), rng.normal(size=60)]
    >>> y = (a + X[:, 2] > 0).astype(int)
    >>> MRMR(n_features=2).fit(X, y).get_support().tolist()
    [True, False, True]
    """

    _parameter_constraints = {"n_features": [Interval(Integral, 1, None, closed="left")]}

    def __init__(self, n_features=10):
        self.n_features = n_features

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        X = validate_data(self, X)
        y = _check_y(y, len(X), "MRMR")
        rel = univariate_scores(X, y)["score"].to_numpy()
        C = np.abs(_spearman(X))
        chosen = [int(np.argmax(rel))]
        while len(chosen) < min(self.n_features, X.shape[1]):
            red = np.maximum(C[:, chosen].mean(axis=1), 1e-6)
            score = rel / red
            score[chosen] = -np.inf
            chosen.append(int(np.argmax(score)))
        self.scores_ = rel
        self.ranking_ = np.array(chosen)
        self.support_ = np.isin(np.arange(X.shape[1]), chosen)
        return self


class StabilitySelection(_Selector):
    """Selection frequency of a base selector over ``n_bootstraps`` subsamples; keep those >= ``threshold``.

    ``selector`` is any fitted-selector transformer (``get_support``); default
    ``LassoSelector(C=0.2)`` (binary) or ``LassoSelector(alpha=0.1)`` (survival). Subsamples of
    ``sample_fraction`` of the cases are drawn without replacement (Meinshausen & Buehlmann 2010), stratified
    by class (or by event for survival) so that every subsample holds both classes.

    Attributes: ``frequencies_``, ``support_``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(80, 6)); y = (X[:, 1] > 0).astype(int)
    >>> s = StabilitySelection(n_bootstraps=10, random_state=0).fit(X, y)
    >>> s.get_support().tolist()
    [False, True, False, False, False, False]
    """

    _parameter_constraints = {"selector": "no_validation",
                              "n_bootstraps": [Interval(Integral, 1, None, closed="left")],
                              "sample_fraction": [Interval(Real, 0, 1, closed="right")],
                              "threshold": [Interval(Real, 0, 1, closed="both")], "random_state": ["random_state"]}

    def __init__(self, selector=None, *, n_bootstraps=50, sample_fraction=0.5, threshold=0.6, random_state=None):
        self.selector = selector
        self.n_bootstraps = n_bootstraps
        self.sample_fraction = sample_fraction
        self.threshold = threshold
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        X = validate_data(self, X)
        y = _check_y(y, len(X), "StabilitySelection")
        base = self.selector
        if base is None:
            base = LassoSelector(alpha=0.1) if is_survival(y) else LassoSelector(C=0.2)
        rng = check_random_state(self.random_state)
        strata = split_survival(y)[1] if is_survival(y) else y
        members = [np.flatnonzero(strata == v) for v in np.unique(strata)]
        sizes = [max(1, int(round(self.sample_fraction * len(m)))) for m in members]
        counts = np.zeros(X.shape[1])
        for _ in range(self.n_bootstraps):
            idx = np.sort(np.concatenate([rng.choice(m, size=k, replace=False) for m, k in zip(members, sizes)]))
            counts += clone(base).fit(X[idx], y[idx]).get_support()
        self.frequencies_ = counts / self.n_bootstraps
        self.support_ = self.frequencies_ >= self.threshold
        return self


class ICCFilter(_Selector):
    """Keep features whose precomputed stability ICC (test-retest / perturbation) is >= ``threshold``.

    ``icc``: a Series indexed by feature name (X's columns; ``x0``, ``x1``, ... for an array, as scikit-learn
    names them) or an array with one value per column.
    Features absent from the table raise unless ``missing="drop"`` or ``"keep"``.

    Examples
    --------
    >>> X = pd.DataFrame({"a": [1.0, 2, 3], "b": [3.0, 1, 2]})
    >>> ICCFilter(pd.Series({"a": 0.9, "b": 0.5})).fit(X).get_feature_names_out().tolist()
    ['a']
    """

    _parameter_constraints = {"icc": "no_validation", "threshold": [Interval(Real, None, 1, closed="right")],
                              "missing": [StrOptions({"error", "drop", "keep"})]}
    _needs_y = False

    def __init__(self, icc=None, *, threshold=0.75, missing="error"):
        self.icc = icc
        self.threshold = threshold
        self.missing = missing

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        X = validate_data(self, X)
        if isinstance(self.icc, pd.Series):
            names = getattr(self, "feature_names_in_", np.asarray([f"x{j}" for j in range(X.shape[1])], dtype=object))
            values = self.icc.reindex(names).to_numpy(dtype=float)
            absent = names[np.isnan(values)]
            if len(absent) and self.missing == "error":
                raise InputError(f"The 'icc' parameter of ICCFilter must cover every feature. Got no ICC for "
                                 f"{list(absent[:5])}{' ...' if len(absent) > 5 else ''} ({len(absent)} features); "
                                 "set missing='drop' or 'keep'.")
        else:
            values = np.asarray(self.icc, dtype=float).ravel()
            if len(values) != X.shape[1]:
                raise InputError(f"The 'icc' parameter of ICCFilter must have one value per feature "
                                 f"({X.shape[1]}). Got {len(values)} instead.")
        self.icc_ = values
        self.support_ = np.where(np.isnan(values), self.missing == "keep", values >= self.threshold)
        return self


def volume_proxies(features: pd.DataFrame, volume, *, threshold: float = 0.8) -> pd.DataFrame:
    """Flag features that are proxies of tumour volume: |Spearman rho| with ``volume`` above ``threshold``.

    ``volume``: a column name of ``features`` (e.g. ``"original_shape_VoxelVolume"``) or one value per case.
    Returns a DataFrame (feature, rho, proxy) sorted by |rho|.

    Examples
    --------
    >>> f = pd.DataFrame({"vol": [1.0, 2, 3, 4], "size": [2.0, 4, 5, 9], "tex": [3.0, 1, 4, 2]})
    >>> volume_proxies(f, "vol")[["feature", "proxy"]].values.tolist()
    [['size', True], ['tex', False]]
    """
    features = pd.DataFrame(features)
    if isinstance(volume, str):
        if volume not in features:
            raise InputError(f"The 'volume' parameter of volume_proxies must name a column of features. "
                             f"Got {volume!r} instead.")
        v, features = features[volume], features.drop(columns=volume)
    else:
        v = pd.Series(np.asarray(volume, dtype=float), index=features.index)
    rho = features.apply(lambda c: stats.spearmanr(c, v).statistic if c.nunique() > 1 else 0.0)
    out = pd.DataFrame({"feature": rho.index, "rho": rho.to_numpy(), "proxy": np.abs(rho.to_numpy()) > threshold})
    return out.reindex(out["rho"].abs().sort_values(ascending=False).index).reset_index(drop=True)
