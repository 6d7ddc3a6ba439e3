"""Patient-grouped stratified repeated k-fold CV, the predictions table, ensembles and deep features."""

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from radlab.dl import (  # noqa: E402
    PREDICTION_COLUMNS,
    ChannelNormalizer,
    ResNet,
    cross_validate,
    deep_features,
    ensemble,
    grouped_splits,
    synthetic_grid,
)


def test_grouped_splits_keep_patients_together_and_stratify():
    rng = np.random.default_rng(0)
    cases = [f"c{i}" for i in range(60)]
    patients = pd.Series([f"p{i // 2}" for i in range(60)], index=cases)  # two cases (e.g. timepoints) each
    labels = pd.Series(np.repeat(rng.integers(0, 2, 30), 2), index=cases)
    folds = list(grouped_splits(labels, groups=patients, n_splits=5, n_repeats=3, random_state=1))
    assert len(folds) == 15
    for repeat in range(3):
        tests = [t for r, _, _, t in folds if r == repeat]
        assert sorted(sum(tests, [])) == sorted(cases)  # every case out-of-fold exactly once per repeat
    for _, _, tr, te in folds:
        assert not set(patients[tr]) & set(patients[te])
        assert abs(labels[te].mean() - labels.mean()) < 0.2  # stratified
    assert [f[3] for f in folds[:5]] != [f[3] for f in folds[5:10]]  # repeats reshuffle
    with pytest.raises(ValueError, match="'groups' parameter"):
        next(grouped_splits(labels, groups=patients.iloc[:5]))


@pytest.fixture(scope="module")
def cv():
    grid, mask, labels = synthetic_grid(24, shape=(6, 12, 12), radius=2.5, random_state=4)
    ext_grid, ext_mask, ext_labels = synthetic_grid(6, shape=(6, 12, 12), radius=2.5, random_state=5)
    ext_grid = ext_grid.assign_coords(case=[f"ext{i}" for i in range(6)])
    ext_labels.index = ext_grid.case.values
    time = pd.Series(np.arange(24.0), index=labels.index)
    result = cross_validate(grid, labels, dim=3, model=lambda: ResNet(2, dim=3, widths=(4,)), model_name="tiny3d",
                            cohort="dev", n_splits=3, n_repeats=2, external={"centreD": (ext_grid, ext_labels)},
                            time=time, epochs=2, batch_size=8, progress=False, device="cpu", random_state=0)
    return result, grid, labels


@pytest.mark.slow
def test_cross_validate_writes_the_predictions_table(cv):
    result, grid, labels = cv
    p = result.predictions
    assert list(p.columns) == PREDICTION_COLUMNS
    test = p[p.split == "test"]
    assert len(test) == 24 * 2 and (test.groupby("repeat").case.nunique() == 24).all()
    assert set(test.cohort) == {"dev"} and set(test.model) == {"tiny3d"}
    np.testing.assert_array_equal(test.label, labels.loc[test.case].to_numpy())
    np.testing.assert_array_equal(test.time, test.case.str[4:].astype(float))  # case00k -> time k
    ext = p[p.split == "external"]
    assert len(ext) == 6 * 6 and set(ext.cohort) == {"centreD"} and ext.time.isna().all()
    assert p.score.between(0, 1).all() and len(result.models) == 6
    # normalisers were fitted on each fold's fitting cases only
    s = result.splits
    fit = s[(s.repeat == 1) & (s.fold == 2) & (s.role == "fit")].case
    assert not set(fit) & set(s[(s.repeat == 1) & (s.fold == 2) & (s.role == "test")].case)
    ref = ChannelNormalizer().fit(grid.sel(case=list(fit)))
    np.testing.assert_allclose(result.normalizers[1, 2].mean_, ref.mean_)
    # the test fold's scores are what the fold's model gives
    model, norm = result.models[0, 0], result.normalizers[0, 0]
    case = test[(test.repeat == 0) & (test.fold == 0)].case.iloc[0]
    x = torch.as_tensor(norm.transform(grid.sel(case=[case])).values)
    with torch.no_grad():
        expected = torch.sigmoid(model.eval()(x))[0, 0].item()
    assert test[(test.repeat == 0) & (test.case == case)].score.item() == pytest.approx(expected, rel=1e-5)


@pytest.mark.slow
def test_ensemble_averages_models(cv):
    result, _, _ = cv
    ens = result.ensemble()
    assert list(ens.columns) == PREDICTION_COLUMNS and (ens[["fold", "repeat"]] == -1).all().all()
    ext = ens[ens.split == "external"].set_index("case")
    raw = result.predictions[result.predictions.split == "external"].groupby("case").score.mean()
    np.testing.assert_allclose(ext.score, raw.loc[ext.index])
    assert set(ens.model) == {"tiny3d ensemble"}
    assert len(ens[ens.split == "test"]) == 24  # out-of-fold scores averaged over repeats


def test_cross_validate_2d_slices_with_mask():
    grid, mask, labels = synthetic_grid(12, shape=(5, 10, 10), radius=2, random_state=6)
    result = cross_validate(grid, labels, dim=2, mask=mask, model=lambda: ResNet(2, dim=2, widths=(4,)),
                            n_splits=2, n_repeats=1, epochs=1, progress=False, device="cpu")
    test = result.predictions[result.predictions.split == "test"]
    assert sorted(test.case) == sorted(labels.index)  # one (slice-averaged) row per case
    assert ensemble(result.predictions, name="e").model.eq("e").all()


def test_deep_features_match_a_manual_hook():
    grid, mask, labels = synthetic_grid(5, shape=(4, 8, 8), radius=2, random_state=0)
    torch.manual_seed(0)
    net = ResNet(2, dim=3, widths=(4, 6)).eval()
    feats = deep_features(net, grid, layer="layer2")
    assert feats.shape == (5, 6) and list(feats.index) == list(grid.case.values)
    acts = []
    h = net.layer2.register_forward_hook(lambda m, i, o: acts.append(o))
    with torch.no_grad():
        net(torch.as_tensor(grid.values))
    h.remove()
    np.testing.assert_allclose(feats.values, acts[0].mean(dim=(2, 3, 4)).numpy(), rtol=1e-5, atol=1e-6)
    pooled = deep_features(net, grid)  # "pool": the penultimate layer
    np.testing.assert_allclose(pooled.values, feats.values, rtol=1e-5, atol=1e-6)
    assert list(pooled.columns) == [f"pool_{i}" for i in range(6)]
    # 2D model: slice features averaged per case
    net2 = ResNet(2, dim=2, widths=(3,)).eval()
    f2 = deep_features(net2, grid, mask=mask)
    case = grid.case.values[1]
    zs = np.flatnonzero(mask.sel(case=case).values.any(axis=(1, 2)))
    with torch.no_grad():
        ref = net2.pool(net2.layer1(net2.stem(torch.as_tensor(grid.sel(case=case).values[:, zs]).transpose(0, 1))))
    np.testing.assert_allclose(f2.loc[case].values, ref.mean(0).numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="'layer' parameter"):
        deep_features(net, grid, layer="nope")
