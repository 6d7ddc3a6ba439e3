"""ComBat harmonisation as a scikit-learn transformer (parametric / non-parametric EB, M-ComBat, B-ComBat).

The maths follows Johnson et al. (2007) as implemented in neuroCombat 0.2.12 (Fortin et al.), with features
as columns (cases x features). It is fitted on training data only; :meth:`ComBat.transform` applies the
frozen estimates to new cases of known batches, and ``unseen`` decides what happens to batches never seen
in training.

The batch labels and biological covariates reach ComBat in one of two ways:

- as metadata, ``fit(X, batch=..., covariates=...)`` / ``transform(X, batch=...)``, routed through Pipelines,
  cross-validation and grid searches by scikit-learn's metadata routing
  (``sklearn.set_config(enable_metadata_routing=True)``; ComBat requests ``batch`` and ``covariates`` by
  default);
- as columns of X (``ComBat(batch="centre")``), so that a fitted pipeline scores a self-contained feature
  table (radlab's workflow, saved models and SHAP use this form).
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted, check_random_state, validate_data

from radlab.errors import InputError

__all__ = ["ComBat", "NoBatchWarning"]


class NoBatchWarning(UserWarning):
    """ComBat was fitted without batch labels: every case is in one batch, so nothing is harmonised."""


def _positions(table, spec, what: str, where: str) -> list[int]:
    """Positions in ``table`` of the columns ``spec`` (a name or position, or a list of them)."""
    items = [] if spec is None else ([spec] if isinstance(spec, (str, Integral)) else list(spec))
    names = list(table.columns) if isinstance(table, pd.DataFrame) else None
    n = np.shape(table)[1]
    out = []
    for item in items:
        if isinstance(item, str):
            if names is None or item not in names:
                raise InputError(f"The '{what}' parameter of ComBat must name a column of {where}. Got {item!r}, "
                                 "which is not among its columns.")
            out.append(names.index(item))
        elif not 0 <= int(item) < n:
            raise InputError(f"The '{what}' parameter of ComBat must be a column position of {where} in [0, {n}). "
                             f"Got {item!r} instead.")
        else:
            out.append(int(item))
    return out


def _column(table, j: int) -> np.ndarray:
    return table.iloc[:, j].to_numpy() if isinstance(table, pd.DataFrame) else np.asarray(table)[:, j]


def _aligned(X, values, what: str):
    """``values`` (one entry per case of X, matched by position) as an array; errors name what is wrong."""
    if isinstance(X, pd.DataFrame) and isinstance(values, (pd.Series, pd.DataFrame)) \
            and not values.index.equals(X.index):
        raise InputError(f"ComBat's '{what}' has an index that differs from X's. Labels are matched by position, "
                         f"so align them first ({what}.loc[X.index]) or pass plain arrays.")
    n = len(X)
    if len(values) != n:
        raise InputError(f"ComBat's '{what}' must have one entry per case of X ({n}). Got {len(values)} instead.")
    return values if isinstance(values, pd.DataFrame) else np.asarray(values)


def _labels(values, what: str) -> np.ndarray:
    values = np.asarray(values)
    if values.ndim != 1:
        raise InputError(f"ComBat's '{what}' must be one label per case (1-D). Got shape {values.shape} instead.")
    missing = pd.isna(values)
    if missing.any():
        raise InputError(f"ComBat's '{what}' must not be missing. Got {int(missing.sum())} missing label(s), "
                         f"e.g. at position {int(np.flatnonzero(missing)[0])}.")
    return values


def _postmean(g_hat, g_bar, n, d_star, t2):
    return (t2 * n * g_hat + d_star * g_bar) / (t2 * n + d_star)


def _postvar(sum2, n, a, b):
    return (0.5 * sum2 + b) / (n / 2.0 + a - 1.0)


def _priors(delta_hat):
    m, s2 = delta_hat.mean(), np.var(delta_hat, ddof=1)
    return (2 * s2 + m**2) / s2, (m * s2 + m**3) / s2


def _eb_batch(s, g_hat, d_hat, *, parametric: bool, mean_only: bool, tol: float):
    """Empirical-Bayes gamma*, delta* for one batch (s: cases of that batch x features, standardised)."""
    g_bar, t2 = g_hat.mean(), np.var(g_hat, ddof=1)
    if parametric:
        if mean_only:
            return _postmean(g_hat, g_bar, 1, 1, t2), np.ones_like(d_hat)
        a, b = _priors(d_hat)
        n = np.isfinite(s).sum(axis=0)
        g_old, d_old = g_hat.copy(), d_hat.copy()
        change = 1.0
        while change > tol:  # the same fixed-point iteration and stopping rule as neuroCombat's it_sol
            g_new = _postmean(g_hat, g_bar, n, d_old, t2)
            d_new = _postvar(((s - g_new) ** 2).sum(axis=0), n, a, b)
            change = max((np.abs(g_new - g_old) / g_old).max(), (np.abs(d_new - d_old) / d_old).max())
            g_old, d_old = g_new, d_new
        return g_new, d_new
    # non-parametric: for each feature, average the other features' (gamma, delta) weighted by the
    # likelihood of this feature's data under them (neuroCombat's int_eprior), computed in log space
    n = s.shape[0]
    d = np.ones_like(d_hat) if mean_only else d_hat
    s1, s2 = s.sum(axis=0), (s**2).sum(axis=0)
    log_lh = (-0.5 * n * np.log(2 * np.pi * d)[None, :]
              - (s2[:, None] - 2 * s1[:, None] * g_hat[None, :] + n * g_hat[None, :] ** 2) / (2 * d[None, :]))
    np.fill_diagonal(log_lh, -np.inf)
    w = np.exp(log_lh - log_lh.max(axis=1, keepdims=True))
    w /= w.sum(axis=1, keepdims=True)
    return w @ g_hat, w @ d


class ComBat(TransformerMixin, BaseEstimator):
    """ComBat batch harmonisation of features (columns), fitted on training cases only.

    Batch labels and biological covariates come either as metadata of :meth:`fit` / :meth:`transform`
    (``batch=``, ``covariates=``; routed by scikit-learn's metadata routing, requested by default), or, when
    ``batch`` names a column of X, as columns of X (consumed: the output holds only the harmonised
    features). Fitted without any batch labels, every case is one batch and ComBat is the identity (with a
    :class:`NoBatchWarning`).

    Parameters
    ----------
    batch : str, int or None
        None (default): the labels are ``fit``/``transform``'s ``batch`` argument. Otherwise the column of X
        (name, or position) holding them.
    categorical, continuous : list of str or int
        Biological covariates whose effects are preserved (never the outcome: it is unknown for new
        cases): columns of ``covariates`` (or of X when ``batch`` names a column of X). Every column of
        ``covariates`` must be listed in one of them. Categorical levels are one-hot coded (first level
        dropped).
    eb : bool
        Empirical-Bayes shrinkage of the batch location/scale across features (False: plain L/S estimates).
    parametric : bool
        Parametric priors (normal / inverse gamma) or the non-parametric, likelihood-weighted estimate.
    mean_only : bool
        Adjust only the batch location (no scaling).
    ref_batch : label or None
        M-ComBat: align every batch to this batch, whose data stay unchanged (features keep its units).
    n_bootstraps : int
        B-ComBat: 0 (plain ComBat) or the number of within-batch bootstrap resamples whose estimates are
        averaged (Da-ano et al. 2021).
    unseen : {"error", "fit", "passthrough"}
        Batches absent from training in :meth:`transform`: ``"error"`` raises; ``"fit"`` estimates that
        batch's location/scale (with its own EB priors) from the new cases alone, after standardising
        them with the frozen pooled mean, variance and covariate coefficients (needs >= 2 cases per new
        batch); ``"passthrough"`` applies the pooled standardisation only, i.e. no batch correction, which
        returns those cases unchanged.
    tol : float
        Convergence threshold of the parametric EB iteration (neuroCombat's 1e-4).
    random_state : int, RandomState or None
        Seeds the bootstrap.

    Attributes
    ----------
    batches_ : ndarray or None
        Batch labels seen in fit (sorted); None when fitted without batch labels.
    grand_mean_, var_pooled_ : ndarray of shape (n_features,)
        Pooled (or reference-batch) mean and variance of each feature.
    beta_ : ndarray of shape (n_covariate_columns, n_features)
        Covariate coefficients.
    gamma_star_, delta_star_ : ndarray of shape (n_batches, n_features)
        Adjusted batch location and scale (standardised units).
    gamma_hat_, delta_hat_ : ndarray of shape (n_batches, n_features)
        Unshrunk location/scale estimates.
    features_ : ndarray
        Positions of the harmonised columns of X.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame(rng.normal(size=(40, 3)), columns=["a", "b", "c"])
    >>> centre = np.repeat(["A", "B"], 20)
    >>> X.loc[centre == "B"] += 3.0
    >>> Z = ComBat().fit_transform(X, batch=centre)
    >>> Z.shape, bool(abs(Z[:20].mean() - Z[20:].mean()) < 0.5)
    ((40, 3), True)
    >>> np.allclose(ComBat(batch="centre").fit_transform(X.assign(centre=centre)), Z)  # the column form
    True
    """

    _parameter_constraints = {
        "batch": [str, Interval(Integral, 0, None, closed="left"), None],
        "categorical": [list, tuple, None],
        "continuous": [list, tuple, None],
        "eb": ["boolean"],
        "parametric": ["boolean"],
        "mean_only": ["boolean"],
        "ref_batch": "no_validation",
        "n_bootstraps": [Interval(Integral, 0, None, closed="left")],
        "unseen": [StrOptions({"error", "fit", "passthrough"})],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
    }
    # batch labels are what ComBat is about: requested by default, as group splitters request `groups`
    __metadata_request__fit = {"batch": True, "covariates": True}
    __metadata_request__transform = {"batch": True, "covariates": True}

    def __init__(self, batch=None, *, categorical=None, continuous=None, eb=True, parametric=True,
                 mean_only=False, ref_batch=None, n_bootstraps=0, unseen="error", tol=1e-4, random_state=None):
        self.batch = batch
        self.categorical = categorical
        self.continuous = continuous
        self.eb = eb
        self.parametric = parametric
        self.mean_only = mean_only
        self.ref_batch = ref_batch
        self.n_bootstraps = n_bootstraps
        self.unseen = unseen
        self.tol = tol
        self.random_state = random_state

    # ---- input handling -------------------------------------------------------------------------------
    def _prepare(self, X, batch, covariates, *, fitting: bool):
        """Feature values, batch labels (None: one batch), categorical and continuous covariate columns."""
        if self.batch is None:
            if covariates is not None:
                covariates = _aligned(X, covariates, "covariates")
                if np.ndim(covariates) != 2:
                    raise InputError("ComBat's 'covariates' must be 2-D (cases x covariates): a DataFrame or array. "
                                     f"Got shape {np.shape(covariates)} instead.")
            batch = None if batch is None else _labels(_aligned(X, batch, "batch"), "batch")
            Y = validate_data(self, X, reset=fitting, dtype=np.float64, ensure_all_finite=False)
            source, where, feats = covariates, "covariates", np.arange(Y.shape[1])
        else:
            if batch is not None or covariates is not None:
                raise InputError(f"ComBat(batch={self.batch!r}) takes the batch and covariates from X's columns; "
                                 "do not also pass batch= or covariates= (or build ComBat() to pass them).")
            validate_data(self, X, reset=fitting, skip_check_array=True)  # n_features_in_, feature names
            if not isinstance(X, pd.DataFrame):
                X = np.asarray(X) if np.asarray(X).dtype.kind in "fiub" else np.asarray(X, dtype=object)
                if X.ndim != 2:
                    raise InputError(f"The 'X' parameter of ComBat must be 2-D. Got shape {X.shape} instead.")
            b = _positions(X, self.batch, "batch", "X")
            batch = _labels(_column(X, b[0]), f"batch column {self.batch!r}")
            meta = set(b + _positions(X, self.categorical, "categorical", "X")
                       + _positions(X, self.continuous, "continuous", "X"))
            feats = np.array([j for j in range(X.shape[1]) if j not in meta], dtype=int)
            Y = np.asarray(X.iloc[:, feats] if isinstance(X, pd.DataFrame) else X[:, feats], dtype=float)
            source, where = X, "X"
        if not np.all(np.isfinite(Y)):
            raise InputError("The 'X' parameter of ComBat must hold finite feature values (no NaN/inf). "
                             f"Got {int((~np.isfinite(Y)).sum())} non-finite values instead; impute first.")
        cat, con = self._covariate_columns(source, where)
        cats = [_labels(_column(source, j), f"categorical covariate {j}") for j in cat]
        cons = []
        for j in con:
            values = pd.to_numeric(pd.Series(_column(source, j)), errors="coerce").to_numpy(float)
            if not np.all(np.isfinite(values)):
                raise InputError(f"ComBat's continuous covariate column {j} of {where} must hold finite numbers. "
                                 f"Got {int((~np.isfinite(values)).sum())} missing or non-numeric values instead.")
            cons.append(values)
        return Y, batch, cats, cons, feats

    def _covariate_columns(self, source, where: str) -> tuple[list[int], list[int]]:
        if source is None:
            if self.categorical or self.continuous:
                raise InputError("ComBat's 'categorical'/'continuous' name columns of the covariates passed to "
                                 "fit/transform; got no covariates. Pass covariates=<table of those columns>.")
            return [], []
        cat = _positions(source, self.categorical, "categorical", where)
        con = _positions(source, self.continuous, "continuous", where)
        if where == "covariates":
            unlisted = [j for j in range(np.shape(source)[1]) if j not in cat + con]
            if unlisted:
                names = list(source.columns) if isinstance(source, pd.DataFrame) else None
                raise InputError(f"ComBat's covariates columns {[names[j] for j in unlisted] if names else unlisted} "
                                 "are in neither 'categorical' nor 'continuous'; list each covariate in one of them.")
        return cat, con

    def _covariates(self, n: int, cats, cons, *, fitting: bool):
        if fitting:
            self.covariate_levels_ = [np.unique(c) for c in cats]
        blocks = []
        for values, levels in zip(cats, self.covariate_levels_):
            unknown = set(np.unique(values)) - set(levels)
            if unknown:
                raise InputError(f"The categorical covariates of ComBat must take levels seen in fit "
                                 f"{levels.tolist()}. Got {sorted(unknown)} instead.")
            blocks.append((values[:, None] == levels[None, 1:]).astype(float))
        blocks += [c[:, None] for c in cons]
        return np.hstack(blocks) if blocks else np.zeros((n, 0))

    # ---- estimation -----------------------------------------------------------------------------------
    def _estimate(self, Y, codes, K, C, ref):
        """One ComBat fit: returns grand_mean, var_pooled, beta, gamma_hat, delta_hat, gamma_star, delta_star."""
        n = len(codes)
        onehot = np.zeros((n, K))
        onehot[np.arange(n), codes] = 1.0
        if ref is not None:
            onehot[:, ref] = 1.0
        design = np.hstack([onehot, C])
        B = np.linalg.lstsq(design, Y, rcond=None)[0]
        counts = np.bincount(codes, minlength=K)
        grand = B[ref] if ref is not None else (counts / n) @ B[:K]
        resid = Y - design @ B
        var = (resid[codes == ref] ** 2).mean(axis=0) if ref is not None else (resid**2).mean(axis=0)
        var = np.where(var == 0, 1.0, var)  # constant features: neuroCombat's fallback evaluates to 1
        beta = B[K:]
        if K == 1:  # one batch: no batch effect to remove
            zeros, ones = np.zeros((1, Y.shape[1])), np.ones((1, Y.shape[1]))
            return grand, var, beta, zeros, ones, zeros, ones
        s = (Y - grand - C @ beta) / np.sqrt(var)
        g_hat = np.linalg.lstsq(onehot, s, rcond=None)[0]
        d_hat = np.ones((K, Y.shape[1]))
        if not self.mean_only:
            d_hat = np.vstack([np.var(s[codes == k], axis=0, ddof=1) for k in range(K)])
            d_hat[d_hat == 0] = 1.0
        if self.eb:
            est = [_eb_batch(s[codes == k], g_hat[k], d_hat[k], parametric=self.parametric,
                             mean_only=self.mean_only, tol=self.tol) for k in range(K)]
            g_star, d_star = np.vstack([e[0] for e in est]), np.vstack([e[1] for e in est])
        else:
            g_star, d_star = g_hat.copy(), d_hat.copy()
        if ref is not None:
            g_star[ref], d_star[ref] = 0.0, 1.0
        return grand, var, beta, g_hat, d_hat, g_star, d_star

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, *, batch=None, covariates=None):
        """Estimate pooled mean/variance, covariate effects and batch location/scale on training cases.

        ``batch``: one label per case (when ComBat's ``batch`` parameter is None); ``covariates``: a table of
        the covariate columns named by ``categorical``/``continuous``. ``y`` is ignored.
        """
        Y, batch, cats, cons, self.features_ = self._prepare(X, batch, covariates, fitting=True)
        ref = None
        if batch is None:
            warnings.warn("ComBat was fitted without batch labels: every case is one batch and nothing is "
                          "harmonised. Pass batch= (in a Pipeline: sklearn.set_config(enable_metadata_routing=True), "
                          "then pipe.fit(X, y, batch=...)) or name X's batch column.", NoBatchWarning, stacklevel=2)
            self.batches_, codes = None, np.zeros(len(Y), dtype=int)
            if self.ref_batch is not None:
                raise InputError("ComBat's 'ref_batch' needs batch labels; got none in fit.")
        else:
            self.batches_, codes = np.unique(batch, return_inverse=True)
            counts = np.bincount(codes)
            if len(self.batches_) < 2 or counts.min() < 2:
                raise InputError("ComBat needs at least 2 batches with at least 2 cases each. Got batch sizes "
                                 f"{dict(zip(self.batches_.tolist(), counts.tolist()))} instead.")
            if self.ref_batch is not None:
                hits = np.flatnonzero(self.batches_ == self.ref_batch)
                if not len(hits):
                    raise InputError(f"The 'ref_batch' parameter of ComBat must be one of the batches "
                                     f"{self.batches_.tolist()}. Got {self.ref_batch!r} instead.")
                ref = int(hits[0])
        K = 1 if self.batches_ is None else len(self.batches_)
        C = self._covariates(len(Y), cats, cons, fitting=True)
        est = self._estimate(Y, codes, K, C, ref)
        if self.n_bootstraps and K > 1:
            rng = check_random_state(self.random_state)
            members = [np.flatnonzero(codes == k) for k in range(K)]
            runs = []
            for _ in range(self.n_bootstraps):
                idx = np.concatenate([rng.choice(m, size=len(m), replace=True) for m in members])
                runs.append(self._estimate(Y[idx], codes[idx], K, C[idx], ref))
            est = tuple(np.mean([r[i] for r in runs], axis=0) for i in range(len(est)))
        (self.grand_mean_, self.var_pooled_, self.beta_, self.gamma_hat_, self.delta_hat_,
         self.gamma_star_, self.delta_star_) = est
        self.ref_index_ = ref
        return self

    def transform(self, X, *, batch=None, covariates=None):
        """Harmonise cases of known batches with the frozen estimates (see ``unseen`` for new batches)."""
        check_is_fitted(self)
        Y, batch, cats, cons, _ = self._prepare(X, batch, covariates, fitting=False)
        C = self._covariates(len(Y), cats, cons, fitting=False)
        sd = np.sqrt(self.var_pooled_)
        centre = self.grand_mean_ + C @ self.beta_
        s = (Y - centre) / sd
        if self.batches_ is None:
            if batch is not None:
                raise InputError("ComBat was fitted without batch labels (one batch, nothing harmonised); got batch "
                                 "labels in transform. Refit it with batch=.")
            return s * sd + centre
        if batch is None:
            raise InputError(f"ComBat was fitted on batches {self.batches_.tolist()}; transform needs each case's batch "
                             "label: pass batch= (in a Pipeline: sklearn.set_config(enable_metadata_routing=True), then "
                             "pipe.predict(X, batch=...)).")
        out = np.empty_like(s)
        known = np.isin(batch, self.batches_)
        if known.any():
            k = np.searchsorted(self.batches_, batch[known])
            out[known] = (s[known] - self.gamma_star_[k]) / np.sqrt(self.delta_star_[k])
        new = np.unique(batch[~known])
        if len(new) and self.unseen == "error":
            raise InputError(f"ComBat was fitted on batches {self.batches_.tolist()}; X holds unseen batches "
                             f"{new.tolist()}. Set unseen='fit' (estimate them from the new cases alone) or "
                             "'passthrough' (leave them uncorrected).")
        for label in new:
            rows = batch == label
            if self.unseen == "passthrough":
                out[rows] = s[rows]
                continue
            if rows.sum() < 2:
                raise InputError(f"With unseen='fit', ComBat needs at least 2 cases of a new batch. Got 1 case "
                                 f"of batch {label!r} instead.")
            g_hat = s[rows].mean(axis=0)
            d_hat = np.ones_like(g_hat) if self.mean_only else np.var(s[rows], axis=0, ddof=1)
            d_hat[d_hat == 0] = 1.0
            g, d = (_eb_batch(s[rows], g_hat, d_hat, parametric=self.parametric, mean_only=self.mean_only,
                              tol=self.tol) if self.eb else (g_hat, d_hat))
            out[rows] = (s[rows] - g) / np.sqrt(d)
        return out * sd + centre

    def fit_transform(self, X, y=None, *, batch=None, covariates=None):
        """:meth:`fit`, then :meth:`transform` of the same cases (both with the batch and covariates)."""
        return self.fit(X, y, batch=batch, covariates=covariates).transform(X, batch=batch, covariates=covariates)

    def get_feature_names_out(self, input_features=None):
        """Names of the harmonised feature columns (batch and covariate columns of X are dropped)."""
        check_is_fitted(self)
        names = _check_feature_names_in(self, None if self.batch is not None else input_features)
        return np.asarray(names[self.features_], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = self.batch is not None  # labels in X's columns may be strings
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags
