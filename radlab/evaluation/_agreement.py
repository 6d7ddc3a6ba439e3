"""Agreement between readers: their masks (Dice, HD95, surface Dice per pair of readers) and their measurements
(Bland-Altman limits of agreement, for two methods or for several exchangeable readers).

Mask metrics come from :func:`segmentation_metrics`; a case's readers are the mask variables it has, so a
reader who did not mark a lesion (an optional mask) simply adds no pair.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from radlab.errors import InputError
from radlab.evaluation._segmentation import segmentation_metrics

__all__ = ["BlandAltman", "agreement_summary", "reader_agreement", "reader_volumes"]

METRICS = ("dice", "jaccard", "hd95", "hausdorff", "assd", "surface_dice")


def _pairs(case: str, masks: Mapping, tolerance: float) -> list[dict]:
    rows = []
    for a, b in itertools.combinations(masks, 2):
        m = segmentation_metrics(masks[a], masks[b], tolerance=tolerance)
        rows.append({"case": case, "reader_a": a, "reader_b": b, "n_readers": len(masks),
                     **{k: m[k] for k in METRICS}})
    return rows


def _readers(cohort, readers: Sequence[str] | None, owner: str) -> list[str]:
    """The reader masks of a Cohort (default every mask); a name that is not one of its masks raises."""
    readers = list(readers or cohort.masks)
    unknown = [r for r in readers if r not in cohort.masks]
    if unknown:
        raise InputError(f"The 'readers' parameter of {owner} names {unknown}, which are not masks of "
                         f"cohort {cohort.name!r} (masks: {cohort.masks}).")
    return readers


def reader_agreement(cohort, readers: Sequence[str] | None = None, *, tolerance: float = 1.0,
                     progress: bool = False) -> pd.DataFrame:
    """Agreement between every pair of readers of every case: one row per case and pair.

    ``cohort``: a Cohort (``readers`` are mask variables, default every mask; a case contributes the pairs of the
    readers it has) or a mapping ``case -> {reader: mask}`` of arrays or DataArrays with ``attrs["spacing"]``.
    Columns: case, reader_a, reader_b, n_readers (readers of that case), dice, jaccard, hd95, hausdorff, assd
    (mm) and surface_dice at ``tolerance`` mm, from :func:`segmentation_metrics`.

    Examples
    --------
    >>> a = np.zeros((4, 6, 6), np.uint8); a[1:3, 1:4, 1:4] = 1; b = a.copy(); b[1:3, 1:4, 4] = 1
    >>> reader_agreement({"n1": {"r1": a, "r2": b, "r3": a}}).dice.round(3).tolist()
    [0.857, 1.0, 0.857]
    """
    from tqdm.auto import tqdm

    if tolerance < 0:
        raise InputError(f"The 'tolerance' parameter of reader_agreement must be >= 0. Got {tolerance} instead.")
    rows = []
    if isinstance(cohort, Mapping):
        unknown = [r for r in readers or () if not any(r in masks for masks in cohort.values())]
        if unknown:
            raise InputError(f"The 'readers' parameter of reader_agreement names {unknown}, which no case has.")
        for case, masks in cohort.items():
            chosen = {r: m for r, m in masks.items() if readers is None or r in readers}
            rows += _pairs(str(case), chosen, tolerance)
    else:
        readers = _readers(cohort, readers, "reader_agreement")
        for case in tqdm(cohort.ids, desc=f"{cohort.name}: agreement", disable=not progress):
            ds = cohort.case(case)
            present = [r for r in readers if r in ds]
            rows += _pairs(case, {r: m for r, m in zip(present, ds[present].compute().data_vars.values())},
                           tolerance)
    columns = ["case", "reader_a", "reader_b", "n_readers", *METRICS]
    return pd.DataFrame(rows, columns=columns)


def agreement_summary(table: pd.DataFrame, *, by: str | None = "n_readers") -> pd.DataFrame:
    """Per-case mean over reader pairs, then median [IQR] of each metric by ``by`` (and over all cases).

    Returns a DataFrame with one row per group (``"all"`` last): ``cases`` and, per metric, ``<metric>`` (median),
    ``<metric>_q1`` and ``<metric>_q3``. A case's value is the mean over its reader pairs.
    """
    per_case = table.groupby("case").agg({**{m: "mean" for m in METRICS}, "n_readers": "first"})
    groups = [] if by is None else [(str(g), d) for g, d in per_case.groupby(by)]
    rows = []
    for name, d in [*groups, ("all", per_case)]:
        row = {"group": name, "cases": len(d)}
        for m in METRICS:
            finite = d[m][np.isfinite(d[m])]
            row |= {m: finite.median(), f"{m}_q1": finite.quantile(0.25), f"{m}_q3": finite.quantile(0.75)}
        rows.append(row)
    return pd.DataFrame(rows).set_index("group")


def reader_volumes(cohort, readers: Sequence[str] | None = None) -> pd.DataFrame:
    """Voxel volume (mm3) of each reader's mask per case (case x reader; NaN where a case lacks a reader)."""
    readers = _readers(cohort, readers, "reader_volumes")
    out = {}
    for case in cohort.ids:
        ds = cohort.case(case)
        present = [r for r in readers if r in ds]
        values = ds[present].compute()
        out[case] = {r: float((values[r].values > 0).sum()) * float(np.prod(values[r].attrs["spacing"]))
                     for r in present}
    return pd.DataFrame.from_dict(out, orient="index").reindex(columns=readers).rename_axis("case")


@dataclass(frozen=True)
class BlandAltman:
    """Bland-Altman limits of agreement, computed once (``from_measurements`` / ``from_readers``), plotted many times.

    ``bias`` is the mean difference and ``lower``/``upper`` the 95% limits of agreement, each with a 95% CI
    (``*_ci``). With ``log=True`` differences are of natural logs, so ``ratio()`` gives the limits as ratios
    (Bland & Altman 1999, section 5). ``points`` holds what is plotted: mean and difference per pair.
    """

    bias: float
    sd: float
    lower: float
    upper: float
    bias_ci: tuple[float, float]
    lower_ci: tuple[float, float]
    upper_ci: tuple[float, float]
    n: int
    log: bool
    method: str
    points: pd.DataFrame

    @classmethod
    def from_measurements(cls, a, b, *, log: bool = False) -> BlandAltman:
        """Two methods (or two readers) measuring the same cases: differences ``a - b``; pairs with a missing value
        are dropped. CIs: t for the bias, sqrt(3 s^2 / n) for the limits (Bland & Altman 1986).

        Examples
        --------
        >>> ba = BlandAltman.from_measurements([1.0, 2.0, 3.0, 4.0], [1.5, 1.5, 3.5, 3.5])
        >>> ba.bias, round(ba.upper, 3)
        (0.0, 1.132)
        """
        from scipy import stats

        x, y = _values(a, "a", log), _values(b, "b", log)
        if len(x) != len(y):
            raise InputError(f"The 'a' and 'b' parameters of BlandAltman.from_measurements must have the same length. "
                             f"Got {len(x)} and {len(y)} instead.")
        keep = np.isfinite(x) & np.isfinite(y)
        x, y = x[keep], y[keep]
        n = len(x)
        if n < 3:
            raise InputError(f"BlandAltman.from_measurements needs at least 3 complete pairs. Got {n} instead.")
        d = x - y
        bias, sd = float(d.mean()), float(d.std(ddof=1))
        t = float(stats.t.ppf(0.975, n - 1))
        se_bias, se_limit = sd / np.sqrt(n), sd * np.sqrt(3.0 / n)
        lower, upper = bias - 1.96 * sd, bias + 1.96 * sd
        points = pd.DataFrame({"mean": (x + y) / 2, "difference": d})
        return cls(bias, sd, lower, upper, (bias - t * se_bias, bias + t * se_bias),
                   (lower - t * se_limit, lower + t * se_limit), (upper - t * se_limit, upper + t * se_limit),
                   n, log, "two methods", points)

    @classmethod
    def from_readers(cls, table: pd.DataFrame, *, log: bool = False) -> BlandAltman:
        """Several exchangeable readers per case (``table``: case x reader, NaN where a reader is absent): the
        within-case SD ``s_w`` from a one-way ANOVA over cases with two or more readers, and limits of agreement
        between two readers of ``+-1.96 sqrt(2) s_w`` around 0 (Bland & Altman 1999, section 4.2). ``bias`` is the
        mean difference over all pairs (lower reader column minus higher): near 0 when readers are exchangeable.
        The limits' CI uses the chi-square interval of ``s_w``.

        Examples
        --------
        >>> t = pd.DataFrame({"r1": [1.0, 2.0, 3.0], "r2": [1.2, 1.8, np.nan], "r3": [0.8, 2.2, 3.1]})
        >>> round(BlandAltman.from_readers(t).upper, 3)
        0.504
        """
        from scipy import stats

        values = np.column_stack([_values(table[c], c, log) for c in table.columns])
        counts = np.isfinite(values).sum(axis=1)
        values = values[counts >= 2]
        counts = counts[counts >= 2]
        if len(values) < 2:
            raise InputError("BlandAltman.from_readers needs at least 2 cases with two or more readers. "
                             f"Got {len(values)} instead.")
        means = np.nanmean(values, axis=1)
        df = int((counts - 1).sum())
        s_w = float(np.sqrt(np.nansum((values - means[:, None]) ** 2) / df))
        pts = [(case_mean, values[i, a] - values[i, b], values[i, a], values[i, b])
               for i, case_mean in enumerate(means)
               for a, b in itertools.combinations(np.flatnonzero(np.isfinite(values[i])), 2)]
        points = pd.DataFrame([((x + y) / 2, d) for _, d, x, y in pts], columns=["mean", "difference"])
        half = 1.96 * np.sqrt(2.0)
        s_lo, s_hi = s_w * np.sqrt(df / stats.chi2.ppf(0.975, df)), s_w * np.sqrt(df / stats.chi2.ppf(0.025, df))
        bias = float(points.difference.mean())
        se_bias = float(points.difference.std(ddof=1) / np.sqrt(len(values)))
        return cls(bias, float(np.sqrt(2.0) * s_w), float(-half * s_w), float(half * s_w), (bias - 1.96 * se_bias, bias + 1.96 * se_bias),
                   (-half * s_hi, -half * s_lo), (half * s_lo, half * s_hi), len(values), log,
                   f"{table.shape[1]} exchangeable readers", points)

    def ratio(self) -> dict[str, float]:
        """With ``log=True``: bias and limits as ratios (exp of the log differences)."""
        if not self.log:
            raise ValueError("ratio() needs a BlandAltman computed with log=True.")
        return {"bias": float(np.exp(self.bias)), "lower": float(np.exp(self.lower)), "upper": float(np.exp(self.upper))}

    def to_frame(self) -> pd.DataFrame:
        """One row per quantity (bias, lower, upper) with estimate and 95% CI."""
        return pd.DataFrame({"estimate": [self.bias, self.lower, self.upper],
                             "ci_low": [self.bias_ci[0], self.lower_ci[0], self.upper_ci[0]],
                             "ci_high": [self.bias_ci[1], self.lower_ci[1], self.upper_ci[1]]},
                            index=pd.Index(["bias", "lower", "upper"], name="quantity"))

    def plot(self, *, title: str = "Bland-Altman", xlabel: str = "mean", ylabel: str | None = None):
        """Differences against means, with the bias and the limits of agreement: a HoloViews Overlay."""
        from radlab.evaluation._plotting import holoviews

        hv = holoviews()
        ylabel = ylabel or ("difference of logs" if self.log else "difference")
        xlabel = f"{xlabel} (log)" if self.log else xlabel
        dots = hv.Scatter(self.points, kdims=["mean"], vdims=["difference"]).opts(
            size=3, alpha=0.4, color="#1f77b4", tools=["hover"], xlabel=xlabel, ylabel=ylabel)
        lines = hv.HLine(self.bias).opts(color="black") * hv.HLine(self.lower).opts(color="#d62728", line_dash="dashed") \
            * hv.HLine(self.upper).opts(color="#d62728", line_dash="dashed")
        return (dots * lines).opts(title=title, width=480, height=340)


def _values(values, name: str, log: bool) -> np.ndarray:
    x = pd.to_numeric(pd.Series(np.asarray(values, dtype=object).ravel()), errors="coerce").to_numpy(float)
    if log:
        if np.any(x[np.isfinite(x)] <= 0):
            raise InputError(f"BlandAltman with log=True needs positive values; {name!r} holds "
                             f"{np.sort(x[np.isfinite(x) & (x <= 0)])[:3].tolist()}.")
        x = np.log(x)
    return x
