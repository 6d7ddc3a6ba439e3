"""Preprocessing: values against SimpleITK/pyradiomics/numpy references, provenance, normalisers as sklearn
estimators, crops, registration recovery, lazy cohort-level steps."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from sklearn.utils.estimator_checks import parametrize_with_checks

from radlab.preprocessing import (HistogramMatcher, PercentileScaler, ZScore, adc, apply_transform, crop_to_roi,
                                  discretise, modal_spacing, n4_correct, preprocess, register_rigid, resample,
                                  roi_stack, voi_slices, window)

GEO = {"spacing": (1.0, 1.0, 2.0), "origin": (-5.0, 3.0, 10.0), "direction": (1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0)}


def _blob(shape=(12, 32, 32), centre=(6, 16, 16), radius=6.0, seed=0):
    rng = np.random.default_rng(seed)
    z, y, x = np.indices(shape)
    r = np.sqrt(((z - centre[0]) * 2) ** 2 + (y - centre[1]) ** 2 + (x - centre[2]) ** 2)
    img = (100 * np.exp(-(r / radius) ** 2) + 20 * np.sin(x / 3.0) + rng.normal(0, 1, shape)).astype(np.float32)
    mask = (r < radius).astype(np.uint8)
    return (xr.DataArray(img, dims=("z", "y", "x"), attrs={**GEO, "role": "image"}, name="T2w"),
            xr.DataArray(mask, dims=("z", "y", "x"), attrs={**GEO, "role": "mask", "image": "T2w"}, name="tumour"))


def test_resample_matches_simpleitk_and_keeps_labels():
    import SimpleITK as sitk

    from radlab.io import to_sitk

    img, mask = _blob()
    out = resample(img, spacing=(2.0, 2.0, 1.0), interpolator="linear")
    ref = sitk.ResampleImageFilter()
    src = sitk.Cast(to_sitk(img), sitk.sitkFloat32)
    ref.SetOutputSpacing((2.0, 2.0, 1.0)), ref.SetSize((16, 16, 24)), ref.SetOutputOrigin(src.GetOrigin())
    ref.SetOutputDirection(src.GetDirection()), ref.SetInterpolator(sitk.sitkLinear)
    np.testing.assert_allclose(out.values, sitk.GetArrayFromImage(ref.Execute(src)), rtol=0, atol=1e-5)
    assert out.attrs["provenance"] == [{"step": "resample", "spacing": (2.0, 2.0, 1.0), "interpolator": "linear"}]
    m = resample(mask, spacing=(0.5, 0.5, 0.5), interpolator="nearest")
    assert set(np.unique(m.values)) == {0, 1} and m.dtype == mask.dtype
    assert m.values.sum() * 0.125 == pytest.approx(mask.values.sum() * 2.0, rel=0.1)  # volume in mm3 kept
    with pytest.raises(ValueError, match="The 'interpolator' parameter of resample"):
        resample(img, interpolator="cubic")


def test_modal_spacing_of_cohort(catalog):
    cohort = catalog["demo"]
    spacings = cohort.acquisition()[["spacing_x", "spacing_y", "spacing_z"]]
    expected = tuple(spacings.round(4).value_counts().idxmax())
    assert modal_spacing(cohort) == expected


def test_discretise_matches_pyradiomics_binning():
    from radiomics import imageoperations

    img, mask = _blob()
    ours = discretise(img, mask, bin_width=7.5)
    ref, _ = imageoperations.binImage(img.values.astype(float), mask.values.astype(bool), binWidth=7.5)
    np.testing.assert_array_equal(ours.values[mask.values > 0], ref[mask.values > 0])
    fbn = discretise(img, mask, bin_count=16)
    ref, _ = imageoperations.binImage(img.values.astype(float), mask.values.astype(bool), binCount=16)
    np.testing.assert_array_equal(fbn.values[mask.values > 0], ref[mask.values > 0])
    with pytest.raises(ValueError, match="exactly one of 'bin_width' and 'bin_count'"):
        discretise(img)


def test_window_and_adc():
    img, _ = _blob()
    w = window(img * 20 - 800, width=1500, level=-600)
    assert float(w.min()) >= -1350 and float(w.max()) <= 150 and w.attrs["provenance"][-1]["step"] == "window"
    rng = np.random.default_rng(0)
    true = rng.uniform(0.5e-3, 3e-3, (2, 3, 4))
    s0 = rng.uniform(500, 1500, (2, 3, 4))
    signals = {b: xr.DataArray(s0 * np.exp(-b * true), dims=("z", "y", "x"), attrs=GEO) for b in (0, 400, 800)}
    np.testing.assert_allclose(adc(signals).values, true, rtol=1e-9)


def test_n4_removes_a_multiplicative_bias():
    z, y, x = np.indices((16, 48, 48))
    body = ((x - 24) ** 2 + (y - 24) ** 2) < 20**2
    field = np.exp(0.5 * (x - 24) / 24.0)
    img = xr.DataArray((np.where(body, 100.0, 0.0) * field).astype(np.float32), dims=("z", "y", "x"), attrs=GEO)
    out = n4_correct(img, xr.DataArray(body.astype(np.uint8), dims=("z", "y", "x"), attrs=GEO), shrink=2)
    cv = lambda a: a[body].std() / a[body].mean()  # noqa: E731
    assert cv(out.values) < 0.3 * cv(img.values)
    assert out.attrs["provenance"][-1]["step"] == "n4_correct"


@parametrize_with_checks([ZScore(), PercentileScaler(), HistogramMatcher()])
def test_normalisers_sklearn_checks(estimator, check):
    check(estimator)


def test_zscore_fitted_on_train_is_applied_unchanged():
    train = [_blob(seed=s)[0] * (1 + s) for s in range(3)]
    masks = [_blob(seed=s)[1] for s in range(3)]
    z = ZScore().fit(train, masks=masks)
    pooled = np.concatenate([t.values[m.values > 0] for t, m in zip(train, masks)])
    assert z.mean_ == pytest.approx(pooled.mean()) and z.scale_ == pytest.approx(pooled.std())
    val = _blob(seed=9)[0]
    out = z.transform(val)
    np.testing.assert_allclose(out.values, (val.values - pooled.mean()) / pooled.std(), rtol=1e-5)
    assert out.attrs["provenance"][-1]["step"] == "ZScore" and out.attrs["spacing"] == GEO["spacing"]


def test_histogram_matching_maps_quantiles():
    rng = np.random.default_rng(0)
    ref = rng.normal(100, 10, (1, 5000))
    other = rng.normal(0, 1, (1, 5000)) * 3 + 7
    m = HistogramMatcher(n_quantiles=21).fit(ref)
    out = m.transform(other)
    q = np.linspace(5, 95, 10)
    np.testing.assert_allclose(np.percentile(out, q), np.percentile(ref, q), rtol=0.01)


def test_crops_stacks_and_voi_slices():
    img, mask = _blob()
    box = crop_to_roi(img, mask, margin=2.0)
    zz, yy, xx = np.nonzero(mask.values)
    assert box.shape == (np.ptp(zz) + 1 + 2, np.ptp(yy) + 1 + 4, np.ptp(xx) + 1 + 4)
    assert box.attrs["origin"] == (GEO["origin"][0] + xx.min() - 2, GEO["origin"][1] + yy.min() - 2,
                                   GEO["origin"][2] + 2.0 * (zz.min() - 1))
    np.testing.assert_array_equal(box.values[1:-1, 2:-2, 2:-2], img.values[zz.min():zz.max() + 1, yy.min():yy.max() + 1,
                                                                          xx.min():xx.max() + 1])
    stack = roi_stack(img, mask, size=(28, 28), depth=20)
    assert stack.shape == (20, 28, 28) and not stack.values[0].any() and stack.values[10].any()
    slices = voi_slices(img, mask, size=(24, 24), case="A0001")
    assert slices.shape == (len(np.unique(zz)), 24, 24) and set(slices.case.values) == {"A0001"}


def test_rigid_registration_recovers_a_shift_and_carries_the_mask():
    import SimpleITK as sitk

    fixed, mask = _blob(shape=(16, 40, 40), centre=(8, 20, 20))
    shift = sitk.TranslationTransform(3, (3.0, -2.0, 2.0))
    moving = apply_transform(fixed, shift, fixed)
    moving_mask = apply_transform(mask, shift, mask, interpolator="nearest")
    reg = register_rigid(fixed, moving, iterations=100)
    assert reg.ncc_after > 0.9 > 0.7 > reg.ncc_before  # borders shifted in are zero-filled
    np.testing.assert_allclose(reg.parameters[3:], (-3.0, 2.0, -2.0), atol=0.3)  # moving = fixed shifted
    back = apply_transform(moving_mask, reg.transform, fixed, interpolator="nearest")
    dice = 2 * (back.values & mask.values).sum() / (back.values.sum() + mask.values.sum())
    assert dice > 0.9 and reg.image.attrs["provenance"][-1]["step"] == "register_rigid"


def test_lazy_cohort_preprocess(catalog):
    import dask

    cohort = catalog["demo"].subset(ids=catalog["demo"].ids[:2])
    lazy = preprocess(cohort, resample, spacing=(2.0, 2.0, 4.0), interpolator="linear")
    with dask.config.set(scheduler=lambda *a, **k: (_ for _ in ()).throw(AssertionError("computed"))):
        ds = lazy.case(cohort.ids[0])  # nothing is read
    eager = resample(cohort.case(cohort.ids[0])["T2w_pre"].compute(), spacing=(2.0, 2.0, 4.0), interpolator="linear")
    np.testing.assert_allclose(ds["T2w_pre"].values, eager.values, rtol=1e-6)
    assert ds["tumour_pre"].attrs["provenance"][-1]["interpolator"] == "nearest"
    assert lazy.ids == cohort.ids and len(lazy.clinical) == 2
    from radlab.features import errors, extract

    df = extract(lazy, {"featureClass": {"shape": ["VoxelVolume"]}}, scheduler="sync", cache=False, progress=False)
    assert errors(df).empty and len(df) == 2
