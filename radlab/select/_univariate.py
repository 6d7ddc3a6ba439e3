"""Univariate feature scores: AUC (Mann-Whitney) for binary outcomes, Cox Wald test for survival."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from radlab.errors import InputError
from radlab.models._target import is_survival, split_survival

__all__ = ["univariate_auc", "univariate_cox", "univariate_scores"]


def univariate_auc(X, y) -> pd.DataFrame:
    """Per-feature AUC and two-sided Mann-Whitney p-value for a binary outcome.

    Examples
    --------
    >>> univariate_auc(np.array([[1.0], [2.0], [3.0], [4.0]]), [0, 0, 1, 1])["auc"].tolist()
    [1.0]
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    classes = np.unique(y)
    if len(classes) != 2:
        raise InputError(f"The 'y' parameter of univariate_auc must be binary (2 classes). Got {len(classes)} class(es) "
                         f"{classes[:5].tolist()} instead.")
    pos = y == classes[1]
    u, p = stats.mannwhitneyu(X[pos], X[~pos], axis=0, alternative="two-sided")
    auc = u / (pos.sum() * (~pos).sum())
    p = np.where(np.isfinite(p), p, 1.0)
    return pd.DataFrame({"auc": auc, "p_value": p, "score": np.abs(auc - 0.5)})


def univariate_cox(X, durations, event_observed, *, max_iter: int = 50, tol: float = 1e-10) -> pd.DataFrame:
    """Per-feature univariate Cox PH (Breslow ties): coef, se, z, Wald p, fitted for all features at once.

    Newton-Raphson on standardised features, vectorised over features; agrees with statsmodels
    ``PHReg(ties="breslow")`` (see the tests). Constant features get coef 0 and p 1.

    Examples
    --------
    >>> t = univariate_cox(np.array([[0.0], [1.0], [2.0], [3.0]]), [4, 3, 2, 1], [1, 1, 1, 1])
    >>> bool(t.loc[0, "coef"] > 0)
    True
    """
    X = np.asarray(X, dtype=float)
    t = np.asarray(durations, dtype=float)
    e = np.asarray(event_observed).astype(bool)
    order = np.argsort(t, kind="stable")
    X, t, e = X[order], t[order], e[order]
    first = np.searchsorted(t, t, side="left")  # risk set at a tied time starts at its first case
    sd = X.std(axis=0)
    const = sd == 0
    Z = (X - X.mean(axis=0)) / np.where(const, 1.0, sd)
    b = np.zeros(X.shape[1])

    def sums(b):
        eta = Z * b
        w = np.exp(eta - eta.max(axis=0))
        rc = lambda a: np.cumsum(a[::-1], axis=0)[::-1][first]  # noqa: E731
        return rc(w), rc(w * Z), rc(w * Z**2), eta, w

    for _ in range(max_iter):
        s0, s1, s2, *_ = sums(b)
        m = s1[e] / s0[e]
        grad = (Z[e] - m).sum(axis=0)
        info = (s2[e] / s0[e] - m**2).sum(axis=0)
        step = np.where(info > 0, grad / np.where(info > 0, info, 1.0), 0.0)
        b = b + step
        if np.max(np.abs(step)) < tol:
            break
    s0, s1, s2, *_ = sums(b)
    m = s1[e] / s0[e]
    info = (s2[e] / s0[e] - m**2).sum(axis=0)
    se_z = 1 / np.sqrt(np.where(info > 0, info, np.nan))
    scale = np.where(const, 1.0, sd)
    coef, se = np.where(const, 0.0, b / scale), se_z / scale
    z = np.where(const, 0.0, b / se_z)
    p = np.where(const, 1.0, 2 * stats.norm.sf(np.abs(z)))
    return pd.DataFrame({"coef": coef, "se": se, "z": z, "p_value": p, "score": np.abs(z)})


def univariate_scores(X, y) -> pd.DataFrame:
    """:func:`univariate_cox` for a survival target (structured array), else :func:`univariate_auc`."""
    if is_survival(y):
        return univariate_cox(X, *split_survival(y))
    return univariate_auc(X, y)
