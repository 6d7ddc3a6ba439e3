"""Batch-effect diagnostics against scipy/statsmodels, and ComBat measurably removing an injected effect."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from radlab.harmonize import BatchEffect, ComBat, compare_batch_effects


def _data(seed=0, n=90, p=30):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, p)), columns=[f"f{i}" for i in range(p)])
    centre = np.repeat(["A", "B", "C"], n // 3)
    shift = {"A": 0.0, "B": 1.5, "C": -1.0}
    X[:] = X.to_numpy() + np.array([shift[c] for c in centre])[:, None] * rng.uniform(0.5, 1.5, p)
    return X, centre


def test_kruskal_and_fdr_match_scipy_and_statsmodels():
    X, centre = _data()
    be = BatchEffect.from_features(X, centre)
    for j in (0, 7, 29):
        h, p = stats.kruskal(*(X.iloc[:, j][centre == c] for c in "ABC"))
        assert np.isclose(be.tests.statistic[j], h, rtol=1e-12) and np.isclose(be.tests.p_value[j], p, rtol=1e-10)
    q = multipletests(be.tests.p_value, method="fdr_bh")[1]
    np.testing.assert_allclose(be.tests.q_value, q, rtol=1e-10)
    assert be.n_significant == int((q < 0.05).sum()) == 30


def test_combat_inside_training_removes_the_centre_effect_on_held_out_cases():
    X, centre = _data(n=600)
    train = np.arange(600) % 2 == 0
    cb = ComBat("centre").fit(X[train].assign(centre=centre[train]))
    after = cb.transform(X[~train].assign(centre=centre[~train]))
    table = compare_batch_effects(X[~train], after, centre[~train], cv=3)
    before, post = table.iloc[0], table.iloc[1]
    assert before.n_significant >= 25 and post.n_significant <= 2
    assert before.separability > 0.9 and post.separability < 0.5  # chance = 1/3
    assert before.silhouette > 0.1 > post.silhouette


def test_frames_and_plot():
    X, centre = _data(p=5)
    be = BatchEffect.from_features(X, centre, name="raw")
    assert list(be.to_frame().columns) == ["feature", "statistic", "p_value", "q_value", "significant"]
    assert be.summary().loc[0, "chance"] == 1 / 3
    assert set(be.pca.columns) == {"case", "batch", "PC1", "PC2"}
    import holoviews as hv

    assert isinstance(be.plot(), hv.Scatter)
