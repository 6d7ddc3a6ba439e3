"""Harrell's and Uno's concordance index with bootstrap CIs, and a paired comparison of two models.

Pairs follow scikit-survival: (i, j) is comparable when i has an event and T_i < T_j, or T_i == T_j and j
is censored; risk ties (|r_i - r_j| <= 1e-8) count 1/2. Uno's C weights comparable pairs by
1 / G(T_i)^2 (G: Kaplan-Meier of the censoring distribution, scikit-survival's
CensoringDistributionEstimator) and keeps only T_i < tau. With ``strata``, only pairs within a stratum are
compared and their counts pooled (R survival's ``concordance(y ~ x + strata(g))``). Bootstrap resamples are evaluated at once as
quadratic forms w' A w over the pair matrices, built and consumed in blocks of rows (time O(n^2 x
resamples), memory O(block x n)); for Uno's C, G is estimated once on the full (or training) data and kept
fixed across resamples.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from radlab.errors import InputError
from radlab.results import Result

from ._bootstrap import percentile_ci, resample_counts
from ._checks import as_1d, check_level, check_time, same_length, survival_inputs

__all__ = ["ConcordanceResult", "ConcordanceComparison", "concordance_index", "compare_concordance"]

TIED_TOL = 1e-8
CHUNK_ROWS = 512  # pair-matrix rows held at once


@dataclass(frozen=True, eq=False)
class ConcordanceResult(Result):
    """A C-index with its bootstrap CI and the comparable pairs behind it.

    Pair counts (of the pairs that enter the estimate: within ``tau`` and within a stratum) are those of
    scikit-survival's ``concordance_index_censored``: ``concordant``, ``discordant``, ``tied_risk`` (risks within
    1e-8, counted 1/2), ``tied_time`` (an event and a censored case at the same time); ``n_strata``: 1 without
    strata. ``to_frame()``: one row of every field."""

    estimate: float
    ci_low: float
    ci_high: float
    se: float
    method: str
    n_bootstraps: int
    confidence_level: float
    concordant: int = 0
    discordant: int = 0
    tied_risk: int = 0
    tied_time: int = 0
    n_strata: int = 1

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{f.name: getattr(self, f.name) for f in fields(self)}])


@dataclass(frozen=True, eq=False)
class ConcordanceComparison(Result):
    """Two models' C-index on the same cases, a minus b, with a paired bootstrap CI and p-value.
    ``to_frame()``: one row of every field."""

    c_a: float
    c_b: float
    difference: float
    ci_low: float
    ci_high: float
    se: float
    p_value: float
    method: str
    n_bootstraps: int

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{f.name: getattr(self, f.name) for f in fields(self)}])


def _row_weights(t, e, method, tau, train):
    """Weight of each case as the earlier member of a comparable pair (1, or its IPCW for Uno; 0 past tau)."""
    w = np.ones(len(t))
    if method == "uno":
        from sksurv.nonparametric import CensoringDistributionEstimator
        from sksurv.util import Surv

        cens = CensoringDistributionEstimator().fit(Surv.from_arrays(*train[::-1]) if train else
                                                    Surv.from_arrays(e, t))
        w = np.zeros(len(t))
        ev = e.copy()
        if tau is not None:
            ev &= t < tau
        w[ev] = cens.predict_ipcw(Surv.from_arrays(ev[ev], t[ev])) ** 2
    elif method != "harrell":
        raise InputError(f"The 'method' parameter of concordance_index must be 'harrell' or 'uno'. Got {method!r}.")
    elif tau is not None:
        w = (t < tau).astype(float)
    return w


def _pair_blocks(t, e, row_w, strata, risks, rows: int = CHUNK_ROWS):
    """Row blocks of the comparable-pair matrix B (weighted by i's row weight; pairs within a stratum only) and of
    B * concordance for each risk vector: ``(slice, B_block, [A_block, ...])``. Blocks keep memory at O(rows x n)
    instead of O(n^2)."""
    for start in range(0, len(t), rows):
        i = slice(start, start + rows)
        ti, ei = t[i, None], e[i, None]
        b = (ei & ((ti < t[None, :]) | ((ti == t[None, :]) & ~e[None, :])) & (strata[i, None] == strata[None, :]))
        b = b * row_w[i, None]
        yield i, b, [b * _concordant(r[i], r) for r in risks]


def _pair_counts(t, e, row_w, strata, r) -> dict[str, int]:
    """scikit-survival's pair counts over the comparable pairs that enter the estimate."""
    counts = dict.fromkeys(("concordant", "discordant", "tied_risk", "tied_time"), 0)
    for i, b, (a,) in _pair_blocks(t, e, row_w, strata, [r]):
        pairs = b > 0
        conc = np.where(pairs, a / np.where(pairs, b, 1), -1.0)
        counts["concordant"] += int((conc == 1).sum())
        counts["discordant"] += int((conc == 0).sum())
        counts["tied_risk"] += int((conc == 0.5).sum())
        counts["tied_time"] += int((pairs & (t[i, None] == t[None, :])).sum())
    return counts


def _strata_codes(strata, n: int, owner: str) -> np.ndarray:
    if strata is None:
        return np.zeros(n, dtype=np.int64)
    values = pd.Series(np.asarray(strata, dtype=object).ravel())
    if len(values) != n:
        raise InputError(f"{owner}: 'strata' has {len(values)} values for {n} cases; give one stratum per case.")
    if values.isna().any():
        raise InputError(f"{owner}: 'strata' is missing for {int(values.isna().sum())} case(s) (first at position "
                         f"{int(np.flatnonzero(values.isna())[0])}); give every case a stratum or leave it out.")
    return pd.factorize(values)[0]


def _concordant(risk_rows, risk):
    diff = risk_rows[:, None] - risk[None, :]
    return np.where(np.abs(diff) <= TIED_TOL, 0.5, (diff > 0).astype(float))


def _prepare(durations, event_observed, owner, method, tau, train_durations, train_event_observed, strata=None):
    t, e = survival_inputs(durations, event_observed, owner)
    codes = _strata_codes(strata, len(t), owner)
    if not e.any():
        raise InputError(f"The 'event_observed' parameter of {owner} has no events (all censored); "
                         "the concordance index is undefined.")
    if tau is not None:
        tau = check_time(tau, "tau", owner)
    train = None
    if train_durations is not None:
        train = survival_inputs(train_durations, train_event_observed, owner)
    row_w = _row_weights(t, e, method, tau, train)
    return t, e, row_w, codes


def _check_pairs(total_b: float, owner: str, tau, codes) -> None:
    """Refuse data without a comparable pair (known once the pair sums are taken: no extra pass over the pairs)."""
    if total_b == 0:
        raise InputError(f"{owner}: no comparable pairs (no event before another case's follow-up ends"
                         f"{'' if tau is None else f' within tau={tau:g}'}"
                         f"{' within a stratum' if codes.max() > 0 else ''}); the concordance index is undefined.")


def _sums(t, e, row_w, strata, risks, w=None):
    """Sum of B and of each B * concordance, and, for resample multiplicities ``w`` (resamples x n), the
    quadratic forms w' B w and w' A w of every resample, accumulated block by block."""
    total_b, total_a = 0.0, np.zeros(len(risks))
    quad_b = None if w is None else np.zeros(len(w))
    quad_a = None if w is None else np.zeros((len(risks), len(w)))
    for i, b, a_blocks in _pair_blocks(t, e, row_w, strata, risks):
        total_b += b.sum()
        total_a += [a.sum() for a in a_blocks]
        if w is not None:
            quad_b += (w[:, i] * (w @ b.T)).sum(axis=1)
            for k, a in enumerate(a_blocks):
                quad_a[k] += (w[:, i] * (w @ a.T)).sum(axis=1)
    return total_b, total_a, quad_b, quad_a


def concordance_index(durations, event_observed, risk, *, method: str = "harrell", tau: float | None = None,
                      train_durations=None, train_event_observed=None, strata=None, n_bootstraps: int = 1000,
                      confidence_level: float = 0.95, random_state=None) -> ConcordanceResult:
    """Harrell's (``method="harrell"``) or Uno's (``"uno"``) C-index with a percentile bootstrap CI and its
    pair counts.

    ``risk``: higher = earlier event (e.g. a Cox linear predictor). For Uno's C, ``train_durations`` /
    ``train_event_observed`` estimate the censoring distribution (default: these data) and ``tau``
    truncates follow-up. ``strata`` (one label per case): compare cases within a stratum only, pooling the
    counts over strata (R survival's ``strata()``; Uno's censoring distribution stays the pooled one).

    Examples
    --------
    >>> r = concordance_index([1, 2, 3, 4, 5], [1, 1, 0, 1, 0], [0.9, 0.7, 0.8, 0.2, 0.1], n_bootstraps=0)
    >>> round(r.estimate, 4), r.concordant, r.discordant
    (0.875, 7, 1)
    """
    owner = "concordance_index"
    level = check_level(confidence_level, owner)
    t, e, row_w, codes = _prepare(durations, event_observed, owner, method, tau, train_durations,
                                  train_event_observed, strata)
    r = as_1d(risk, "risk", owner)
    same_length(owner, durations=t, risk=r)
    w = resample_counts(np.random.default_rng(random_state), len(t), n_bootstraps) if n_bootstraps else None
    total_b, total_a, quad_b, quad_a = _sums(t, e, row_w, codes, [r], w)
    _check_pairs(total_b, owner, tau, codes)
    est = float(total_a[0] / total_b)
    lo = hi = se = np.nan
    if n_bootstraps:
        with np.errstate(invalid="ignore", divide="ignore"):
            boot = quad_a[0] / quad_b
        boot = boot[np.isfinite(boot)]
        lo, hi = percentile_ci(boot, level)
        se = float(boot.std(ddof=1))
    return ConcordanceResult(est, lo, hi, se, method, n_bootstraps, level, **_pair_counts(t, e, row_w, codes, r),
                             n_strata=int(codes.max()) + 1)


def compare_concordance(durations, event_observed, risk_a, risk_b, *, method: str = "harrell",
                        tau: float | None = None, train_durations=None, train_event_observed=None,
                        n_bootstraps: int = 1000, confidence_level: float = 0.95,
                        random_state=None) -> ConcordanceComparison:
    """Paired bootstrap comparison of two models' C-index on the same cases (a minus b).

    Both models are evaluated on the same resamples; the CI is the percentile interval of the
    difference and the two-sided p-value uses the bootstrap standard error (z = diff / SE).

    Examples
    --------
    >>> r = compare_concordance([1, 2, 3, 4, 5, 6], [1, 1, 0, 1, 0, 1], [6, 5, 4, 3, 2, 1], [1, 2, 3, 4, 5, 6],
    ...                         n_bootstraps=200, random_state=0)
    >>> r.difference
    1.0
    """
    from scipy.stats import norm

    owner = "compare_concordance"
    level = check_level(confidence_level, owner)
    t, e, row_w, codes = _prepare(durations, event_observed, owner, method, tau, train_durations,
                                  train_event_observed)
    ra, rb = as_1d(risk_a, "risk_a", owner), as_1d(risk_b, "risk_b", owner)
    same_length(owner, durations=t, risk_a=ra, risk_b=rb)
    w = resample_counts(np.random.default_rng(random_state), len(t), n_bootstraps)
    total_b, total_a, den, quad_a = _sums(t, e, row_w, codes, [ra, rb], w)
    _check_pairs(total_b, owner, tau, codes)
    ca, cb = float(total_a[0] / total_b), float(total_a[1] / total_b)
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = (quad_a[0] - quad_a[1]) / den
    diff = diff[np.isfinite(diff)]
    lo, hi = percentile_ci(diff, level)
    se = float(diff.std(ddof=1))
    p = float(2 * norm.sf(abs(ca - cb) / se)) if se > 0 else float(ca == cb)
    return ConcordanceComparison(ca, cb, ca - cb, lo, hi, se, p, method, n_bootstraps)
