"""Datasets over cohort grids and the per-sequence normaliser."""

import dask
import dask.array as da
import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

torch = pytest.importorskip("torch")

from radlab.dl import BoxDataset, ChannelNormalizer, SliceDataset, make_dataset, synthetic_grid  # noqa: E402


@parametrize_with_checks([ChannelNormalizer()])
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.fixture
def cohort():
    return synthetic_grid(10, shape=(6, 12, 12), n_channels=2, radius=2.5, random_state=0)


def test_normalizer_fitted_on_training_cases_only(cohort):
    grid, _, _ = cohort
    train = list(grid.case.values[:6])
    norm = ChannelNormalizer().fit(grid.sel(case=train))
    ref = grid.sel(case=train).values
    # reference: numpy mean / population SD over training cases and voxels, per channel
    np.testing.assert_allclose(norm.mean_, ref.mean(axis=(0, 2, 3, 4)), rtol=1e-5)
    np.testing.assert_allclose(norm.scale_, ref.std(axis=(0, 2, 3, 4)) + 1e-8, rtol=1e-5)
    out = norm.transform(grid)
    assert out.dims == grid.dims and (out.case == grid.case).all()
    z = out.sel(case=train).values
    np.testing.assert_allclose(z.mean(axis=(0, 2, 3, 4)), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(axis=(0, 2, 3, 4)), 1, atol=1e-5)
    held_out = out.isel(case=slice(6, None)).values
    assert not np.allclose(held_out.mean(axis=(0, 2, 3, 4)), 0, atol=1e-4)  # not refitted on test cases
    np.testing.assert_allclose(norm.transform_array(grid.values[7]), held_out[1], rtol=1e-5, atol=1e-6)


def test_transform_of_lazy_grid_computes_nothing(cohort):
    grid, _, _ = cohort
    lazy = grid.copy(data=da.from_array(grid.values, chunks=(1, -1, -1, -1, -1)))
    norm = ChannelNormalizer().fit(lazy)
    with dask.config.set(scheduler=_forbid):
        out = norm.transform(lazy)
    assert isinstance(out.data, da.Array)
    np.testing.assert_allclose(out.values, norm.transform(grid).values, rtol=1e-6)


def _forbid(*args, **kwargs):
    raise AssertionError("transform computed the lazy grid")


def test_slice_dataset_keeps_case_ids_and_uses_mask(cohort):
    grid, mask, labels = cohort
    ds = SliceDataset(grid, labels, cases=["case003", "case001"], mask=mask)
    for case in ("case003", "case001"):
        zs = np.flatnonzero(mask.sel(case=case).values.any(axis=(1, 2)))
        assert list(ds.items.loc[ds.items.case == case, "z"]) == list(zs)
    x, y = ds[0]
    case, z = ds.items.iloc[0]
    assert case == "case003" and x.dtype == torch.float32 and tuple(x.shape) == (2, 12, 12)
    np.testing.assert_array_equal(x.numpy(), grid.sel(case=case).values[:, z])
    assert float(y) == labels[case]
    assert len(SliceDataset(grid, labels)) == 10 * 6
    assert set(SliceDataset(grid, labels, mask=mask, min_mask_voxels=10 ** 6).items.case) == set()


def test_box_dataset_and_normalisation(cohort):
    grid, _, labels = cohort
    norm = ChannelNormalizer().fit(grid)
    ds = make_dataset(grid, labels, dim=3, normalizer=norm)
    assert isinstance(ds, BoxDataset) and len(ds) == 10
    x, y = ds[4]
    np.testing.assert_allclose(x.numpy(), norm.transform(grid).isel(case=4).values, rtol=1e-5, atol=1e-6)
    assert list(ds.case_labels.index) == list(grid.case.values)
    unlabelled = BoxDataset(grid)
    assert np.isnan(float(unlabelled[0][1])) and unlabelled.case_labels.isna().all()


def test_errors_name_the_parameter(cohort):
    grid, _, labels = cohort
    with pytest.raises(ValueError, match="'grid' parameter"):
        BoxDataset(grid.isel(channel=0))
    with pytest.raises(KeyError, match="'cases' parameter"):
        BoxDataset(grid, labels, cases=["nope"])
    with pytest.raises(KeyError, match="'labels' parameter"):
        BoxDataset(grid, labels.iloc[:3])
    with pytest.raises(ValueError, match="'dim' parameter"):
        make_dataset(grid, labels, dim=4)
    with pytest.raises(ValueError, match="3 channels"):
        ChannelNormalizer().fit(grid.isel(channel=[0, 1, 1]).assign_coords(channel=["a", "b", "c"])).transform(grid)


def test_synthetic_grid_signal_is_where_the_mask_is():
    grid, mask, labels = synthetic_grid(40, shape=(8, 16, 16), random_state=3)
    inside = (grid.isel(channel=0) * mask).sum(("z", "y", "x")) / mask.sum(("z", "y", "x"))
    diff = inside.values[labels.values == 1].mean() - inside.values[labels.values == 0].mean()
    assert diff == pytest.approx(1.5, abs=0.2)  # the generator's contrast; noise SD 1 averaged over ~260 voxels
    assert labels.sum() == 20 and isinstance(labels, pd.Series)
