"""'Table 1' comparing cohorts: mean ± SD or median [IQR], n (%), tests with Bonferroni correction."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["table_one"]


def _categorical_test(counts: pd.DataFrame) -> tuple[float, str]:
    observed = counts.to_numpy()
    observed = observed[observed.sum(axis=1) > 0]
    if observed.shape[0] < 2:
        return np.nan, ""
    expected = stats.contingency.expected_freq(observed)
    if observed.shape == (2, 2) and (expected < 5).any():
        return float(stats.fisher_exact(observed).pvalue), "Fisher exact"
    return float(stats.chi2_contingency(observed, correction=True).pvalue), "chi-square"


def table_one(data: pd.DataFrame, *, by: str, variables=None, categorical=None, nonnormal=None,
              correction: str = "bonferroni", decimals: int = 1) -> pd.DataFrame:
    """Summarise ``variables`` per group of ``by`` (e.g. cohort or centre) with a test of difference.

    Continuous: mean ± SD with Welch's t-test (2 groups) or one-way ANOVA; ``nonnormal`` ones median
    [Q1, Q3] with Mann-Whitney U (2 groups) or Kruskal-Wallis. Categorical (non-numeric dtype or listed in
    ``categorical``): n (%) per level with chi-square (Yates-corrected for 2x2), or Fisher's exact test for a
    2x2 table with an expected count below 5. ``p_adjusted`` applies Bonferroni over the variables tested
    (``correction=None`` leaves it out). Missing values are left out per variable and counted in ``n``.

    Examples
    --------
    >>> df = pd.DataFrame({"cohort": ["a"] * 4 + ["b"] * 4, "age": [50, 60, 55, 65, 40, 45, 42, 48],
    ...                    "sex": ["F", "M", "F", "M", "F", "F", "F", "M"]})
    >>> table_one(df, by="cohort")[["variable", "level", "a", "b", "test"]].values.tolist()[1]
    ['age', '', '57.5 ± 6.5', '43.8 ± 3.5', 'Welch t-test']
    """
    if by not in data:
        raise ValueError(f"The 'by' parameter of table_one must name a column of data. Got {by!r} instead.")
    variables = [c for c in data.columns if c != by] if variables is None else list(variables)
    categorical = set(categorical or []) | {c for c in variables if not pd.api.types.is_numeric_dtype(data[c])}
    nonnormal = set(nonnormal or [])
    groups = [g for g in pd.unique(data[by].dropna())]
    f = f"{{:.{decimals}f}}"
    rows = []
    for var in variables:
        col = data[var]
        if var in categorical:
            counts = pd.crosstab(col, data[by]).reindex(columns=groups, fill_value=0)
            p, test = _categorical_test(counts)
            for i, level in enumerate(counts.index):
                row = {"variable": var, "level": str(level), "p_value": p if i == 0 else np.nan,
                       "test": test if i == 0 else ""}
                for g in groups:
                    n = int(counts[g].sum())
                    row[g] = f"{counts.loc[level, g]} ({f.format(100 * counts.loc[level, g] / n) if n else '-'}%)"
                rows.append(row)
            continue
        samples = [col[data[by] == g].dropna().astype(float).to_numpy() for g in groups]
        row = {"variable": var, "level": ""}
        for g, s in zip(groups, samples):
            if var in nonnormal:
                q1, med, q3 = np.percentile(s, [25, 50, 75]) if len(s) else (np.nan,) * 3
                row[g] = f"{f.format(med)} [{f.format(q1)}, {f.format(q3)}]"
            else:
                row[g] = f"{f.format(s.mean())} ± {f.format(s.std(ddof=1))}" if len(s) > 1 else "-"
        ok = [s for s in samples if len(s) > 1]
        if len(ok) < 2:
            row["p_value"], row["test"] = np.nan, ""
        elif var in nonnormal:
            two = len(ok) == 2
            row["p_value"] = float((stats.mannwhitneyu(*ok) if two else stats.kruskal(*ok)).pvalue)
            row["test"] = "Mann-Whitney U" if two else "Kruskal-Wallis"
        else:
            two = len(ok) == 2
            row["p_value"] = float((stats.ttest_ind(*ok, equal_var=False) if two else stats.f_oneway(*ok)).pvalue)
            row["test"] = "Welch t-test" if two else "ANOVA"
        rows.append(row)
    out = pd.DataFrame(rows)
    n = {g: int((data[by] == g).sum()) for g in groups}
    header = pd.DataFrame([{"variable": "n", "level": "", **{g: str(n[g]) for g in groups}, "p_value": np.nan,
                            "test": ""}])
    out = pd.concat([header, out], ignore_index=True)[["variable", "level", *groups, "p_value", "test"]]
    if correction == "bonferroni":
        m = int(out["p_value"].notna().sum())
        out["p_adjusted"] = np.minimum(out["p_value"] * m, 1.0)
    elif correction is not None:
        raise ValueError(f"The 'correction' parameter of table_one must be 'bonferroni' or None. "
                         f"Got {correction!r} instead.")
    return out
