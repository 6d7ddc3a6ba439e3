"""Vectorised bootstrap helpers: resample index matrices and rank-based AUC on them in chunks."""

from __future__ import annotations

import numpy as np

CHUNK_ELEMENTS = 4_000_000  # resample matrix elements held at once


def tie_groups(score: np.ndarray) -> tuple[np.ndarray, int]:
    """Dense rank (0..G-1) of each score, ascending, equal scores sharing a rank."""
    uniq, inverse = np.unique(score, return_inverse=True)
    return inverse, len(uniq)


def bootstrap_counts(rng, idx_pool: np.ndarray, groups: np.ndarray, n_groups: int, n_rows: int) -> np.ndarray:
    """(n_rows, n_groups) counts of cases per tie group when drawing len(idx_pool) cases with replacement."""
    k = len(idx_pool)
    draws = groups[idx_pool][rng.integers(0, k, size=(n_rows, k))]
    draws += (np.arange(n_rows) * n_groups)[:, None]
    return np.bincount(draws.ravel(), minlength=n_rows * n_groups).reshape(n_rows, n_groups).astype(float)


def auc_from_counts(pos_counts: np.ndarray, neg_counts: np.ndarray) -> np.ndarray:
    """AUC of each row given per-tie-group counts of positives and negatives (ties count 1/2)."""
    neg_below = np.cumsum(neg_counts, axis=1) - neg_counts / 2
    m = pos_counts.sum(axis=1)
    n = neg_counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (pos_counts * neg_below).sum(axis=1) / (m * n)


def tpr_at_fpr(pos_counts: np.ndarray, neg_counts: np.ndarray, fpr_grid: np.ndarray) -> np.ndarray:
    """Per row, the highest sensitivity reached at a false-positive rate <= each grid value.

    Rows are laid end to end on one increasing axis of false-positive counts, so one ``searchsorted`` finds,
    for every row and grid value, the last threshold whose count of false positives is within the grid
    value times the row's negatives.
    """
    rows, width = pos_counts.shape
    if not width:
        return np.zeros((rows, len(fpr_grid)))
    tp = np.cumsum(pos_counts[:, ::-1], axis=1)
    fp = np.cumsum(neg_counts[:, ::-1], axis=1)
    n_pos, n_neg = tp[:, -1:].copy(), fp[:, -1:].copy()
    offset = (n_neg.max() + 1) * np.arange(rows)[:, None]
    fp += offset
    limit = fpr_grid[None, :] * n_neg
    limit = np.where(np.isclose(limit, np.rint(limit), rtol=0, atol=1e-9), np.rint(limit), limit)  # fp/n <= g exactly
    idx = np.searchsorted(fp.ravel(), (limit + offset).ravel(), side="right") - 1
    idx = idx.reshape(rows, len(fpr_grid))
    start = width * np.arange(rows)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(idx >= start, tp.ravel()[np.maximum(idx, 0)] / n_pos, 0.0)


def bootstrap_auc(
    pos: np.ndarray, score: np.ndarray, *, n_resamples: int, stratified: bool, rng, fpr_grid: np.ndarray | None = None
) -> tuple[np.ndarray, int, np.ndarray | None]:
    """Bootstrap AUCs, the number of resamples skipped for having one class, and optionally the
    (kept resamples x grid) sensitivities at ``fpr_grid`` for a curve band.

    Stratified resampling draws positives and negatives separately (both classes always present);
    otherwise cases are drawn from all and single-class resamples are skipped and counted.
    Work is done on (chunk x tie-group) count matrices, so memory stays bounded.
    """
    groups, n_groups = tie_groups(score)
    n = len(score)
    chunk = max(1, CHUNK_ELEMENTS // max(n, n_groups))
    aucs, bands = [], []
    pos_idx, neg_idx = np.flatnonzero(pos), np.flatnonzero(~pos)
    done = 0
    while done < n_resamples:
        rows = min(chunk, n_resamples - done)
        if stratified:
            pc = bootstrap_counts(rng, pos_idx, groups, n_groups, rows)
            nc = bootstrap_counts(rng, neg_idx, groups, n_groups, rows)
        else:
            draws = rng.integers(0, n, size=(rows, n))
            g = groups[draws] + (np.arange(rows) * n_groups)[:, None]
            p = pos[draws]
            size = rows * n_groups
            pc = np.bincount(g[p], minlength=size).reshape(rows, n_groups).astype(float)
            nc = np.bincount(g[~p], minlength=size).reshape(rows, n_groups).astype(float)
        auc = auc_from_counts(pc, nc)
        keep = np.isfinite(auc)
        aucs.append(auc[keep])
        if fpr_grid is not None and keep.any():
            bands.append(tpr_at_fpr(pc[keep], nc[keep], fpr_grid))
        done += rows
    aucs = np.concatenate(aucs)
    band = np.vstack(bands) if fpr_grid is not None and bands else None
    return aucs, n_resamples - len(aucs), band


def percentile_ci(values: np.ndarray, level: float) -> tuple[float, float]:
    if len(values) == 0:
        return (np.nan, np.nan)
    lo, hi = np.percentile(values, [50 * (1 - level), 50 * (1 + level)])
    return float(lo), float(hi)


def resample_counts(rng, n: int, n_resamples: int) -> np.ndarray:
    """(n_resamples, n) multiplicity of each case in ordinary bootstrap resamples of size n."""
    draws = rng.integers(0, n, size=(n_resamples, n)) + (np.arange(n_resamples) * n)[:, None]
    return np.bincount(draws.ravel(), minlength=n_resamples * n).reshape(n_resamples, n).astype(float)
