"""Fast DeLong (Sun & Xu 2014): AUC, its variance and paired / unpaired tests in O(n log n).

The structural components are obtained with one sort per score and midranks for ties:
``V10_i`` (per positive) = share of negatives scored below positive i (ties count 1/2),
``V01_j`` (per negative) = share of positives scored above negative j (ties count 1/2).
AUC = mean(V10) = mean(V01); Var(AUC) = var(V10)/m + var(V01)/n (DeLong et al. 1988).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from radlab.errors import InputError
from radlab.results import Result

from ._checks import as_1d, as_binary, check_level, same_length

ALTERNATIVES = ("two.sided", "greater", "less")

__all__ = ["DeLongResult", "delong_test", "delong_test_unpaired", "delong_auc_variance"]


def structural_components(pos: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(V10 over positives, V01 over negatives) in case order, ties counted 1/2; one O(n log n) sort."""
    order = np.argsort(score, kind="stable")
    s = score[order]
    p = pos[order]
    new = np.empty(len(s), dtype=bool)
    new[0] = True
    np.not_equal(s[1:], s[:-1], out=new[1:])
    group = np.cumsum(new) - 1
    n_groups = group[-1] + 1
    pos_count = np.bincount(group, weights=p, minlength=n_groups)
    tot_count = np.bincount(group, minlength=n_groups)
    neg_count = tot_count - pos_count
    neg_below = np.cumsum(neg_count) - neg_count + neg_count / 2  # negatives below, ties 1/2
    pos_below = np.cumsum(pos_count) - pos_count + pos_count / 2
    m = pos_count.sum()
    n = neg_count.sum()
    per_case = np.empty(len(s))
    per_case[order] = np.where(p, neg_below[group] / n, 1.0 - pos_below[group] / m)
    return per_case[pos], per_case[~pos]  # original case order, so two scores pair up


def delong_auc_variance(pos: np.ndarray, score: np.ndarray) -> tuple[float, float]:
    """AUC and its DeLong variance for one score (pos: boolean class array)."""
    v10, v01 = structural_components(pos, score)
    return float(v10.mean()), _svar(v10) / len(v10) + _svar(v01) / len(v01)


def _svar(v: np.ndarray) -> float:
    """Sample variance; 0 for a class with a single case (its component has no spread to estimate)."""
    return float(v.var(ddof=1)) if len(v) > 1 else 0.0


@dataclass(frozen=True, eq=False)
class DeLongResult(Result):
    """Outcome of a DeLong comparison of two AUCs (a minus b), as pROC's ``roc.test(method="delong")``.

    Fields: ``auc_a``, ``auc_b``, ``difference`` (a - b), ``se`` (of the difference), ``statistic`` (Z paired,
    D unpaired), ``p_value`` (for ``alternative``), ``ci_low``/``ci_high`` (two-sided interval of the difference at
    ``confidence_level``), ``paired``, ``covariance`` (DeLong covariance of the two AUCs; 0 unpaired),
    ``df`` (Welch-type degrees of freedom of the unpaired t test; ``inf`` paired: normal), ``alternative``.
    ``to_frame()``: one row with these fields as columns.
    """

    auc_a: float
    auc_b: float
    difference: float
    se: float
    statistic: float
    p_value: float
    ci_low: float
    ci_high: float
    confidence_level: float
    paired: bool
    covariance: float = 0.0
    df: float = float("inf")
    alternative: str = "two.sided"

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{f: getattr(self, f) for f in self.__dataclass_fields__}])


def _check_alternative(alternative: str, owner: str) -> str:
    if alternative not in ALTERNATIVES:
        raise InputError(f"The 'alternative' parameter of {owner} must be one of {list(ALTERNATIVES)}. "
                         f"Got {alternative!r}.")
    return alternative


def _result(auc_a, auc_b, var, level, paired, alternative, *, covariance=0.0, df=np.inf) -> DeLongResult:
    """Statistic, p and interval: normal (df = inf, paired) or Student's t with ``df`` (unpaired), as pROC."""
    from scipy.stats import t as student

    diff = auc_a - auc_b
    se = float(np.sqrt(max(var, 0.0)))
    if se == 0.0:
        stat = 0.0 if diff == 0 else float(np.sign(diff) * np.inf)
    else:
        stat = diff / se
    dist = student(df) if np.isfinite(df) else student(np.inf)
    if alternative == "two.sided":
        p = 2 * dist.sf(abs(stat))
    elif alternative == "greater":
        p = dist.sf(stat)
    else:
        p = dist.cdf(stat)
    q = float(dist.ppf(0.5 + level / 2))
    return DeLongResult(auc_a, auc_b, diff, se, float(stat), float(p), diff - q * se, diff + q * se, level, paired,
                        float(covariance), float(df), alternative)


def delong_test(y_true, score_a, score_b, *, pos_label=None, confidence_level: float = 0.95,
                alternative: str = "two.sided") -> DeLongResult:
    """Paired DeLong test of two correlated AUCs measured on the same cases.

    Implements the fast algorithm of Sun & Xu (2014): O(n log n), ties by midranks.
    The statistic is z = (AUC_a - AUC_b) / SE with p from the normal distribution, as pROC's
    ``roc.test(paired=TRUE)``; the result also carries the DeLong covariance of the two AUCs.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Binary outcome.
    score_a, score_b : array-like of shape (n,)
        Scores of the two models for the same cases (higher = more likely positive).
    pos_label : optional
        Positive class; inferred for {0, 1}, {-1, 1} and booleans.
    confidence_level : float
        Level of the (two-sided) interval for the difference.
    alternative : {"two.sided", "greater", "less"}
        "greater": AUC_a > AUC_b; "less": AUC_a < AUC_b (pROC's convention).

    Returns
    -------
    DeLongResult

    Examples
    --------
    >>> y = [0, 0, 1, 1, 0, 1]
    >>> r = delong_test(y, [0.1, 0.4, 0.35, 0.8, 0.2, 0.9], [0.2, 0.3, 0.5, 0.6, 0.7, 0.4])
    >>> round(r.auc_a, 4), round(r.auc_b, 4)
    (0.8889, 0.6667)
    """
    owner = "delong_test"
    pos = as_binary(y_true, "y_true", owner, pos_label=pos_label)
    a = as_1d(score_a, "score_a", owner)
    b = as_1d(score_b, "score_b", owner)
    same_length(owner, y_true=pos, score_a=a, score_b=b)
    level = check_level(confidence_level, owner)
    alternative = _check_alternative(alternative, owner)
    v10a, v01a = structural_components(pos, a)
    v10b, v01b = structural_components(pos, b)
    m, n = len(v10a), len(v01a)
    s10 = np.cov(np.vstack([v10a, v10b])) if m > 1 else np.zeros((2, 2))
    s01 = np.cov(np.vstack([v01a, v01b])) if n > 1 else np.zeros((2, 2))
    s = s10 / m + s01 / n
    var = s[0, 0] + s[1, 1] - 2 * s[0, 1]
    return _result(float(v10a.mean()), float(v10b.mean()), var, level, True, alternative, covariance=s[0, 1])


def delong_test_unpaired(
    y_true_a, score_a, y_true_b, score_b, *, pos_label=None, confidence_level: float = 0.95,
    alternative: str = "two.sided",
) -> DeLongResult:
    """DeLong test of two independent AUCs (e.g. one model on two centres or scanners), as pROC's
    ``roc.test(paired=FALSE, method="delong")``.

    D = (AUC_a - AUC_b) / sqrt(V_a + V_b), each V by DeLong's method; p from Student's t with Welch-type
    degrees of freedom df = (V_a + V_b)^2 / (V_a^2 / (N_a - 1) + V_b^2 / (N_b - 1)), N = cases of that curve
    (pROC's ``delong.unpaired.test``). The interval for the difference uses the same t quantile.

    Examples
    --------
    >>> r = delong_test_unpaired([0, 1, 0, 1], [0.1, 0.9, 0.3, 0.7], [0, 1, 1, 0], [0.5, 0.4, 0.8, 0.2])
    >>> round(r.difference, 3)
    0.25
    """
    owner = "delong_test_unpaired"
    pa = as_binary(y_true_a, "y_true_a", owner, pos_label=pos_label)
    pb = as_binary(y_true_b, "y_true_b", owner, pos_label=pos_label)
    a = as_1d(score_a, "score_a", owner)
    b = as_1d(score_b, "score_b", owner)
    same_length(owner, y_true_a=pa, score_a=a)
    same_length(owner, y_true_b=pb, score_b=b)
    level = check_level(confidence_level, owner)
    alternative = _check_alternative(alternative, owner)
    auc_a, var_a = delong_auc_variance(pa, a)
    auc_b, var_b = delong_auc_variance(pb, b)
    total = var_a + var_b
    denom = var_a**2 / (len(pa) - 1) + var_b**2 / (len(pb) - 1)
    df = total**2 / denom if denom > 0 else np.inf
    return _result(auc_a, auc_b, total, level, False, alternative, df=df)
