"""Reliability across readers: intraclass correlation with confidence intervals (one value per measurement or
feature), and the features stable enough for a model (``radlab.select.ICCFilter`` takes the result).

For readers who differ from case to case (LIDC-IDRI's anonymous radiologists), the one-way random-effects
ICC(1,1) is the model that fits (Shrout & Fleiss 1979, case 1): reader slots carry no identity, and ICC(1,1)
does not change when a case's readers are listed in another order. ICC(2,1) and ICC(3,1) are given for fixed
raters (the same readers on every case).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from radlab.errors import InputError

__all__ = ["feature_reliability", "reader_icc", "stable_features"]

KINDS = ("1,1", "2,1", "3,1")


def _icc_ci(ms_rows: np.ndarray, ms_within: np.ndarray, n: int, k: int, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """F-based (1 - alpha) CI of ICC(1,1) (Shrout & Fleiss 1979; pingouin's ICC1 interval)."""
    from scipy import stats

    with np.errstate(divide="ignore", invalid="ignore"):
        f = ms_rows / ms_within
        f_low = f / stats.f.ppf(1 - alpha / 2, n - 1, n * (k - 1))
        f_high = f * stats.f.ppf(1 - alpha / 2, n * (k - 1), n - 1)
        return (f_low - 1) / (f_low + k - 1), (f_high - 1) / (f_high + k - 1)


def reader_icc(table: pd.DataFrame, *, kind: str = "1,1", alpha: float = 0.05) -> pd.DataFrame:
    """ICC of one or more measurements across readers, with a (1 - alpha) CI for ICC(1,1).

    ``table``: indexed by (case, reader), one column per measurement (e.g. volume, or each feature); only cases
    that every reader measured are used (a balanced design). Returns one row per measurement: ``icc``,
    ``ci_low``, ``ci_high`` (NaN for kinds other than ``"1,1"``), ``n_cases`` and ``n_readers``. A measurement
    without variance between cases has an undefined ICC (NaN).

    Examples
    --------
    >>> idx = pd.MultiIndex.from_product([["a", "b", "c", "d"], ["r1", "r2"]], names=["case", "reader"])
    >>> t = pd.DataFrame({"v": [1.0, 1.2, 2.0, 2.1, 3.0, 2.8, 4.0, 4.3]}, index=idx)
    >>> reader_icc(t).round(3).loc["v", ["icc", "n_cases"]].tolist()
    [0.987, 4.0]
    """
    from radlab.features._robustness import icc, mean_squares

    if kind not in KINDS:
        raise InputError(f"The 'kind' parameter of reader_icc must be one of {KINDS}. Got {kind!r} instead.")
    if not isinstance(table.index, pd.MultiIndex) or table.index.nlevels != 2:
        raise InputError("The 'table' parameter of reader_icc must be indexed by (case, reader). "
                         f"Got an index with {table.index.nlevels} level(s) instead.")
    wide = table.unstack(level=-1).dropna()
    k = table.index.get_level_values(-1).nunique()
    n = len(wide)
    if n < 2 or k < 2:
        raise InputError(f"reader_icc needs at least 2 cases measured by all {k} readers and 2 readers. Got {n} "
                         "complete case(s) instead.")
    values = icc(table, kind=kind)
    out = pd.DataFrame({"icc": values.to_numpy(), "ci_low": np.nan, "ci_high": np.nan, "n_cases": n, "n_readers": k},
                       index=pd.Index(table.columns, name="feature"))
    if kind == "1,1":
        _, _, ms_rows, _, _, ms_within = mean_squares(table)
        out["ci_low"], out["ci_high"] = _icc_ci(ms_rows, ms_within, n, k, alpha)
    return out


def feature_reliability(features: pd.DataFrame, readers: Sequence[str], *, target: str = "consensus",
                        kind: str = "1,1", alpha: float = 0.05) -> pd.DataFrame:
    """ICC of every feature across readers, named as the ``target`` mask's feature so a model on that mask can
    select by it.

    ``features``: an :func:`radlab.features.extract` table with columns ``<image>__<reader>__<feature>`` for each
    reader mask (``shape__reader1__original_shape_Sphericity`` for a mask-only cohort). Only cases with every
    reader are used (a nodule with four readers, for four). Returns :func:`reader_icc`'s table indexed by
    ``<image>__<target>__<feature>``, sorted by ICC; ``ICCFilter(result["icc"], threshold=0.75)`` keeps the
    stable ones among the target's features.

    Examples
    --------
    >>> f = pd.DataFrame({f"shape__r{r}__vol": v for r, v in ((1, [1.0, 2, 3]), (2, [1.1, 2.1, 2.8]))})
    >>> feature_reliability(f, ["r1", "r2"]).index.tolist()
    ['shape__consensus__vol']
    """
    readers = list(readers)
    if len(readers) < 2:
        raise InputError(f"The 'readers' parameter of feature_reliability needs at least 2 readers. Got {readers}.")
    parts = pd.DataFrame([str(c).split("__", 2) for c in features.columns], index=features.columns,
                         columns=["image", "mask", "feature"])
    parts = parts[parts["mask"].isin(readers)]
    if parts.empty:
        raise InputError(f"The 'features' parameter of feature_reliability has no column '<image>__<reader>__<feature>' "
                         f"for readers {readers} (columns: {list(features.columns[:4])} ...).")
    long = []
    for reader in readers:
        cols = parts.index[parts["mask"] == reader]
        block = features[cols].copy()
        block.columns = [f"{parts.at[c, 'image']}__{target}__{parts.at[c, 'feature']}" for c in cols]
        long.append(block.assign(reader=reader).set_index("reader", append=True))
    table = pd.concat(long).sort_index()
    shared = [c for c in table.columns if table[c].notna().any()]
    table = table[shared].dropna(how="all")
    complete = table.groupby(level=0).size() == len(readers)
    table = table[table.index.get_level_values(0).isin(complete.index[complete])]
    return reader_icc(table, kind=kind, alpha=alpha).sort_values("icc", ascending=False)


def stable_features(reliability: pd.DataFrame, *, threshold: float = 0.75, bound: str = "icc") -> list[str]:
    """Features whose ICC (``bound="icc"``) or lower 95% limit (``bound="ci_low"``, the stricter screen of Koo & Li
    2016) is at least ``threshold``.

    Examples
    --------
    >>> r = pd.DataFrame({"icc": [0.9, 0.8, 0.5], "ci_low": [0.85, 0.6, 0.3]}, index=["a", "b", "c"])
    >>> stable_features(r), stable_features(r, bound="ci_low")
    (['a', 'b'], ['a'])
    """
    if bound not in ("icc", "ci_low"):
        raise InputError(f"The 'bound' parameter of stable_features must be 'icc' or 'ci_low'. Got {bound!r} instead.")
    return [str(f) for f in reliability.index[reliability[bound] >= threshold]]
