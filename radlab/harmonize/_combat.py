"""ComBat harmonisation as a scikit-learn transformer (parametric / non-parametric EB, M-ComBat, B-ComBat).

The maths follows Johnson et al. (2007) as implemented in neuroCombat 0.2.12 (Fortin et al.), with features
as columns (cases x features). It is fitted on training data only; :meth:`ComBat.transform` applies the
frozen estimates to new cases of known batches, and ``unseen`` decides what happens to batches never seen
in training.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, check_random_state

__all__ = ["ComBat"]


def _columns(X, spec, name: str):
    """Resolve a column spec (name or position, or a list of them) to positions in X."""
    items = [] if spec is None else ([spec] if isinstance(spec, (str, Integral)) else list(spec))
    cols = list(X.columns) if isinstance(X, pd.DataFrame) else None
    out = []
    for item in items:
        if isinstance(item, str):
            if cols is None or item not in cols:
                raise ValueError(f"The '{name}' parameter of ComBat must name a column of X. Got {item!r}, "
                                 f"which is not among X's columns.")
            out.append(cols.index(item))
        else:
            n = X.shape[1]
            if not 0 <= int(item) < n:
                raise ValueError(f"The '{name}' parameter of ComBat must be a column position in [0, {n}). "
                                 f"Got {item!r} instead.")
            out.append(int(item))
    return out


def _column(X, j):
    return X.iloc[:, j].to_numpy() if isinstance(X, pd.DataFrame) else np.asarray(X)[:, j]


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

    Batch labels and biological covariates are columns of ``X`` (named for a DataFrame, positions for an
    array); they are consumed, and the output holds only the harmonised feature columns.

    Parameters
    ----------
    batch : str or int
        Column of X holding the batch label (centre, scanner, ...).
    categorical, continuous : list of str or int
        Columns of biological covariates whose effects are preserved (never the outcome: it is unknown
        for new cases). Categorical levels are one-hot coded (first level dropped).
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
    batches_ : ndarray
        Batch labels seen in fit (sorted).
    grand_mean_, var_pooled_ : ndarray of shape (n_features,)
        Pooled (or reference-batch) mean and variance of each feature.
    beta_ : ndarray of shape (n_covariate_columns, n_features)
        Covariate coefficients.
    gamma_star_, delta_star_ : ndarray of shape (n_batches, n_features)
        Adjusted batch location and scale (standardised units).
    gamma_hat_, delta_hat_ : ndarray of shape (n_batches, n_features)
        Unshrunk location/scale estimates.
    features_ : ndarray
        Names (DataFrame input) or positions of the harmonised columns.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame(rng.normal(size=(40, 3)), columns=["a", "b", "c"])
    >>> X["centre"] = np.repeat(["A", "B"], 20)
    >>> X.loc[X.centre == "B", ["a", "b", "c"]] += 3.0
    >>> Z = ComBat(batch="centre").fit(X).transform(X)
    >>> Z.shape, bool(abs(Z[:20].mean() - Z[20:].mean()) < 0.5)
    ((40, 3), True)
    """

    _parameter_constraints = {
        "batch": [str, Interval(Integral, 0, None, closed="left")],
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

    def __init__(self, batch="batch", *, categorical=None, continuous=None, eb=True, parametric=True,
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
    def _split(self, X, *, fitting: bool):
        if not isinstance(X, pd.DataFrame):
            X = np.asarray(X, dtype=object) if np.asarray(X).dtype.kind not in "fiub" else np.asarray(X)
            if X.ndim != 2:
                raise ValueError(f"The 'X' parameter of ComBat must be 2-D. Got shape {X.shape} instead.")
        b = _columns(X, self.batch, "batch")
        cat = _columns(X, self.categorical, "categorical")
        con = _columns(X, self.continuous, "continuous")
        meta = set(b + cat + con)
        feats = [j for j in range(X.shape[1]) if j not in meta]
        if fitting:
            self.n_features_in_ = X.shape[1]
            if isinstance(X, pd.DataFrame):
                self.feature_names_in_ = np.asarray(X.columns, dtype=object)
            elif hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        elif X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but ComBat is expecting {self.n_features_in_} "
                             "features as input.")
        data = X.iloc[:, feats] if isinstance(X, pd.DataFrame) else X[:, feats]
        data = np.asarray(data, dtype=float)
        if not np.all(np.isfinite(data)):
            raise ValueError("The 'X' parameter of ComBat must hold finite feature values (no NaN/inf). "
                             f"Got {int((~np.isfinite(data)).sum())} non-finite values instead; impute first.")
        batch = _column(X, b[0])
        if pd.isna(batch).any():
            raise ValueError(f"The batch column {self.batch!r} of ComBat's X must not be missing. "
                             f"Got {int(pd.isna(batch).sum())} missing labels instead.")
        cats = [_column(X, j) for j in cat]
        cons = [np.asarray(_column(X, j), dtype=float) for j in con]
        return data, batch, cats, cons, feats

    def _covariates(self, n: int, cats, cons, *, fitting: bool):
        if fitting:
            self.covariate_levels_ = [np.unique(c) for c in cats]
        blocks = []
        for values, levels in zip(cats, self.covariate_levels_):
            unknown = set(np.unique(values)) - set(levels)
            if unknown:
                raise ValueError(f"The categorical covariates of ComBat must take levels seen in fit "
                                 f"{levels.tolist()}. Got {sorted(unknown)} instead.")
            blocks.append((values[:, None] == levels[None, 1:]).astype(float))
        blocks += [c[:, None] for c in cons]
        return np.hstack(blocks) if blocks else np.zeros((n, 0))

    # ---- estimation -----------------------------------------------------------------------------------
    def _estimate(self, Y, codes, C, ref):
        """One ComBat fit: returns grand_mean, var_pooled, beta, gamma_hat, delta_hat, gamma_star, delta_star."""
        n, K = len(codes), len(self.batches_)
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
    def fit(self, X, y=None):
        """Estimate pooled mean/variance, covariate effects and batch location/scale on training cases."""
        Y, batch, cats, cons, feats = self._split(X, fitting=True)
        self.batches_, codes = np.unique(batch, return_inverse=True)
        counts = np.bincount(codes)
        if len(self.batches_) < 2 or counts.min() < 2:
            raise ValueError("ComBat needs at least 2 batches with at least 2 cases each. Got batch sizes "
                             f"{dict(zip(self.batches_.tolist(), counts.tolist()))} instead.")
        ref = None
        if self.ref_batch is not None:
            hits = np.flatnonzero(self.batches_ == self.ref_batch)
            if not len(hits):
                raise ValueError(f"The 'ref_batch' parameter of ComBat must be one of the batches "
                                 f"{self.batches_.tolist()}. Got {self.ref_batch!r} instead.")
            ref = int(hits[0])
        C = self._covariates(len(Y), cats, cons, fitting=True)
        self.features_ = (np.asarray(self.feature_names_in_[feats], dtype=object)
                          if hasattr(self, "feature_names_in_") else np.asarray(feats))
        est = self._estimate(Y, codes, C, ref)
        if self.n_bootstraps:
            rng = check_random_state(self.random_state)
            members = [np.flatnonzero(codes == k) for k in range(len(self.batches_))]
            runs = []
            for _ in range(self.n_bootstraps):
                idx = np.concatenate([rng.choice(m, size=len(m), replace=True) for m in members])
                runs.append(self._estimate(Y[idx], codes[idx], C[idx], ref))
            est = tuple(np.mean([r[i] for r in runs], axis=0) for i in range(len(est)))
        (self.grand_mean_, self.var_pooled_, self.beta_, self.gamma_hat_, self.delta_hat_,
         self.gamma_star_, self.delta_star_) = est
        self.ref_index_ = ref
        return self

    def transform(self, X):
        """Harmonise cases of known batches with the frozen estimates (see ``unseen`` for new batches)."""
        check_is_fitted(self)
        Y, batch, cats, cons, _ = self._split(X, fitting=False)
        C = self._covariates(len(Y), cats, cons, fitting=False)
        sd = np.sqrt(self.var_pooled_)
        centre = self.grand_mean_ + C @ self.beta_
        s = (Y - centre) / sd
        out = np.empty_like(s)
        known = np.isin(batch, self.batches_)
        if known.any():
            k = np.searchsorted(self.batches_, batch[known])
            out[known] = (s[known] - self.gamma_star_[k]) / np.sqrt(self.delta_star_[k])
        new = np.unique(batch[~known])
        if len(new) and self.unseen == "error":
            raise ValueError(f"ComBat was fitted on batches {self.batches_.tolist()}; X holds unseen batches "
                             f"{new.tolist()}. Set unseen='fit' (estimate them from the new cases alone) or "
                             "'passthrough' (leave them uncorrected).")
        for label in new:
            rows = batch == label
            if self.unseen == "passthrough":
                out[rows] = s[rows]
                continue
            if rows.sum() < 2:
                raise ValueError(f"With unseen='fit', ComBat needs at least 2 cases of a new batch. Got 1 case "
                                 f"of batch {label!r} instead.")
            g_hat = s[rows].mean(axis=0)
            d_hat = np.ones_like(g_hat) if self.mean_only else np.var(s[rows], axis=0, ddof=1)
            d_hat[d_hat == 0] = 1.0
            g, d = (_eb_batch(s[rows], g_hat, d_hat, parametric=self.parametric, mean_only=self.mean_only,
                              tol=self.tol) if self.eb else (g_hat, d_hat))
            out[rows] = (s[rows] - g) / np.sqrt(d)
        return out * sd + centre

    def get_feature_names_out(self, input_features=None):
        """Names of the harmonised feature columns (batch and covariate columns are dropped)."""
        check_is_fitted(self)
        if hasattr(self, "feature_names_in_"):
            return np.asarray(self.features_, dtype=object)
        return np.asarray([f"x{j}" for j in self.features_], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.string = True
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags
