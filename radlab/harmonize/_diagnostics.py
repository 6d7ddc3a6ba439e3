"""Batch-effect diagnostics: per-feature Kruskal-Wallis with FDR, PCA by batch, batch separability."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from radlab.results import Result

__all__ = ["BatchEffect", "compare_batch_effects"]


@dataclass(frozen=True, eq=False)
class BatchEffect(Result):
    """How strongly features depend on the batch, computed once by :meth:`from_features`.

    Fields: ``name``, ``tests`` (DataFrame per feature: feature, statistic, p_value, q_value, significant),
    ``alpha`` (the FDR level), ``n_significant`` (features with BH-FDR q < ``alpha``), ``n_features``,
    ``separability`` (cross-validated balanced accuracy of a logistic-regression batch classifier on the
    standardised features, NaN when a batch has a single case; chance = 1 / n_batches), ``chance``,
    ``silhouette`` (silhouette of the batch labels in the space of the first ``n_components`` principal
    components; ~0 or below = no batch clustering), ``pca`` (DataFrame of case, batch, PC1, PC2),
    ``explained_variance_ratio`` (array per component). Saved and reloaded exactly with ``save``/``load``
    (:mod:`radlab.results`).
    """

    name: str
    tests: pd.DataFrame
    alpha: float
    n_significant: int
    n_features: int
    separability: float
    chance: float
    silhouette: float
    pca: pd.DataFrame
    explained_variance_ratio: np.ndarray

    @classmethod
    def from_features(cls, features, batch, *, alpha: float = 0.05, n_components: int = 5, cv: int = 5,
                      name: str = "features", random_state=0) -> "BatchEffect":
        """Compute the diagnostics for a case x feature table and its batch labels.

        Examples
        --------
        >>> rng = np.random.default_rng(0)
        >>> X = pd.DataFrame(rng.normal(size=(60, 8)))
        >>> b = np.repeat(["A", "B", "C"], 20)
        >>> X[b == "B"] += 2.0
        >>> X[b == "C"] -= 2.0
        >>> be = BatchEffect.from_features(X, b)
        >>> be.n_significant, bool(be.separability > 0.9)
        (8, True)
        """
        from sklearn.decomposition import PCA
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import silhouette_score
        from sklearn.model_selection import StratifiedKFold, cross_val_score
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        X = pd.DataFrame(features)
        b = np.asarray(batch)
        if len(b) != len(X):
            raise ValueError(f"The 'batch' parameter of BatchEffect.from_features must have one label per case "
                             f"({len(X)}). Got {len(b)} labels instead.")
        levels = np.unique(b)
        if len(levels) < 2:
            raise ValueError(f"BatchEffect needs at least 2 batches. Got {levels.tolist()} instead.")
        values = X.to_numpy(dtype=float)
        groups = [values[b == level] for level in levels]
        h, p = stats.kruskal(*groups, axis=0)
        p = np.where(np.isfinite(p), p, 1.0)  # constant features: no evidence of a batch effect
        q = stats.false_discovery_control(p, method="bh")
        tests = pd.DataFrame({"feature": X.columns.astype(str), "statistic": h, "p_value": p, "q_value": q,
                              "significant": q < alpha})
        z = StandardScaler().fit_transform(values)
        k = int(min(n_components, *z.shape))
        pca = PCA(n_components=k, random_state=random_state).fit(z)
        scores = pca.transform(z)
        folds = int(min(cv, np.bincount(np.unique(b, return_inverse=True)[1]).min()))
        acc = np.nan
        if folds >= 2:
            clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
            acc = float(cross_val_score(clf, values, b, scoring="balanced_accuracy",
                                        cv=StratifiedKFold(folds, shuffle=True, random_state=random_state)).mean())
        frame = pd.DataFrame({"case": X.index, "batch": b, "PC1": scores[:, 0],
                              "PC2": scores[:, 1] if k > 1 else 0.0})
        return cls(name=name, tests=tests, alpha=alpha, n_significant=int(tests["significant"].sum()),
                   n_features=len(tests), separability=acc, chance=1.0 / len(levels),
                   silhouette=float(silhouette_score(scores, b)), pca=frame,
                   explained_variance_ratio=pca.explained_variance_ratio_)

    def summary(self) -> pd.DataFrame:
        """One row: counts of batch-dependent features and separability scores."""
        return pd.DataFrame([{"name": self.name, "n_features": self.n_features, "n_significant": self.n_significant,
                              "alpha": self.alpha, "separability": self.separability, "chance": self.chance,
                              "silhouette": self.silhouette}])

    def to_frame(self) -> pd.DataFrame:
        """Per-feature Kruskal-Wallis table (feature, statistic, p_value, q_value, significant)."""
        return self.tests.copy()

    def plot(self, *, width: int = 420, height: int = 380, **opts):
        """HoloViews scatter of the first two principal components coloured by batch."""
        import holoviews as hv
        import holoviews.plotting.bokeh  # noqa: F401

        ev = self.explained_variance_ratio
        pc2 = f"PC2 ({100 * ev[1]:.0f}%)" if len(ev) > 1 else "PC2"
        return hv.Scatter(self.pca, kdims=["PC1"], vdims=["PC2", "batch", "case"]).opts(
            color="batch", cmap="Category10", size=6, tools=["hover"], width=width, height=height,
            title=f"{self.name}: {self.n_significant}/{self.n_features} features differ by batch",
            xlabel=f"PC1 ({100 * ev[0]:.0f}%)", ylabel=pc2, **opts)


def compare_batch_effects(before, after, batch, **kwargs) -> pd.DataFrame:
    """Summaries of :class:`BatchEffect` before and after harmonisation, one row each.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> X = pd.DataFrame(rng.normal(size=(40, 4)))
    >>> b = np.repeat([0, 1], 20)
    >>> compare_batch_effects(X + 3 * b[:, None], X, b)["n_significant"].tolist()
    [4, 0]
    """
    return pd.concat([BatchEffect.from_features(before, batch, name="before", **kwargs).summary(),
                      BatchEffect.from_features(after, batch, name="after", **kwargs).summary()],
                     ignore_index=True)
