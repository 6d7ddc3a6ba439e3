"""Robustness screening: ICC against pingouin (installed into .venv for the tests) and a naive ANOVA
recomputation, ICC properties, perturbations, the stability selector and volume correlation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.utils.estimator_checks import parametrize_with_checks

from radlab.features import StabilitySelector, icc, perturb_case, perturbations, robustness, volume_correlation


def _table(rng, n=12, k=4, features=3):
    truth = rng.normal(0, 1, (n, 1, features))
    values = truth + 0.5 * rng.normal(0, 1, (n, k, features)) + rng.normal(0, 0.3, (1, k, features))
    idx = pd.MultiIndex.from_product([[f"c{i}" for i in range(n)], [f"p{j}" for j in range(k)]])
    return pd.DataFrame(values.reshape(n * k, features), index=idx, columns=[f"f{j}" for j in range(features)])


def _naive_icc(y: np.ndarray, kind: str) -> float:
    """Shrout & Fleiss from sums of squares, written out with loops (n targets x k raters)."""
    n, k = y.shape
    grand = y.mean()
    ssr = k * sum((y[i].mean() - grand) ** 2 for i in range(n))
    ssc = n * sum((y[:, j].mean() - grand) ** 2 for j in range(k))
    sse = ((y - grand) ** 2).sum() - ssr - ssc
    msr, msc, mse = ssr / (n - 1), ssc / (k - 1), sse / ((n - 1) * (k - 1))
    if kind == "3,1":
        return (msr - mse) / (msr + (k - 1) * mse)
    return (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)


def test_icc_matches_pingouin_and_naive_formula():
    pg = pytest.importorskip("pingouin")
    table = _table(np.random.default_rng(0))
    ours3, ours2 = icc(table, kind="3,1"), icc(table, kind="2,1")
    for f in table.columns:
        long = table[f].rename("v").reset_index().rename(columns={"level_0": "case", "level_1": "rater"})
        ref = pg.intraclass_corr(long, targets="case", raters="rater", ratings="v").set_index("Type")["ICC"]
        # pingouin: ICC(C,1) = Shrout-Fleiss ICC(3,1), ICC(A,1) = ICC(2,1); agreement to 1e-10
        assert ours3[f] == pytest.approx(ref["ICC(C,1)"], abs=1e-10)
        assert ours2[f] == pytest.approx(ref["ICC(A,1)"], abs=1e-10)
        y = table[f].unstack().to_numpy()
        assert ours3[f] == pytest.approx(_naive_icc(y, "3,1"), abs=1e-12)
        assert ours2[f] == pytest.approx(_naive_icc(y, "2,1"), abs=1e-12)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), offset=st.floats(-5, 5), scale=st.floats(0.1, 10))
def test_icc_properties(seed, offset, scale):
    table = _table(np.random.default_rng(seed), features=2)
    base3, base2 = icc(table), icc(table, kind="2,1")
    assert ((base3 <= 1) & (base2 <= 1)).all()
    # consistency ignores a constant shift of one rater; both are invariant to a common affine rescaling
    shifted = table.copy()
    shifted.loc[(slice(None), "p1"), :] += offset
    pd.testing.assert_series_equal(icc(shifted), base3, atol=1e-9)
    pd.testing.assert_series_equal(icc(table * scale + offset, kind="2,1"), base2, atol=1e-9)


@parametrize_with_checks([StabilitySelector(), StabilitySelector(threshold=0.5)])
def test_stability_selector_sklearn_checks(estimator, check):
    check(estimator)


def test_stability_selector_uses_names_and_drops_unknown():
    X = pd.DataFrame(np.arange(12.0).reshape(3, 4), columns=["a", "b", "c", "d"])
    sel = StabilitySelector(icc=pd.Series({"a": 0.9, "b": 0.74, "c": np.nan}), threshold=0.75).fit(X)
    assert sel.get_feature_names_out().tolist() == ["a"]
    with pytest.raises(ValueError, match="one value per feature"):
        StabilitySelector(icc=[0.9, 0.8]).fit(X.to_numpy())


def test_perturbations_change_geometry_and_masks(synthetic_case):
    ds = synthetic_case(0, size=16, radius=5)
    n0 = int(ds["tumour"].values.sum())
    assert int(perturb_case(ds, morph=1)["tumour"].values.sum()) > n0 > int(perturb_case(ds, morph=-1)["tumour"].values.sum())
    moved = perturb_case(ds, shift=(2.0, 0.0, 0.0))  # 2 mm = 2 voxels along x
    np.testing.assert_array_equal(moved["tumour"].values[:, :, 2:], ds["tumour"].values[:, :, :-2])
    noisy = perturb_case(ds, noise=0.5, random_state=1)
    assert not np.allclose(noisy["T2w"].values, ds["T2w"].values) and noisy["T2w"].attrs["provenance"][-1]["noise"] == 0.5
    names = [n for n, _ in perturbations(ds, n=4)]
    assert names == ["p0", "p1", "p2", "p3", "p4"]


def test_robustness_end_to_end(synthetic_case):
    cases = [(f"c{i}", synthetic_case(i, size=24, radius=4 + i)) for i in range(6)]
    params = {"setting": {"binCount": 16}, "imageType": {"Original": {}},
              "featureClass": {"shape": ["VoxelVolume", "MeshVolume"], "firstorder": ["Mean", "Entropy"]}}
    table = robustness(cases, params, n=3, scheduler="sync", cache=False, progress=False)
    assert table.index.names == ["case", "perturbation"] and len(table) == 24
    values = icc(table)
    assert values["T2w__tumour__original_shape_VoxelVolume"] > 0.8  # volume differs far more between cases
    corr = volume_correlation(table.xs("p0", level="perturbation"))
    vol = table.xs("p0", level="perturbation")["T2w__tumour__original_shape_MeshVolume"]
    mean = table.xs("p0", level="perturbation")["T2w__tumour__original_firstorder_Mean"]
    from scipy.stats import spearmanr

    assert corr["T2w__tumour__original_firstorder_Mean"] == pytest.approx(spearmanr(vol, mean).statistic)
    assert "T2w__tumour__original_shape_MeshVolume" not in corr
