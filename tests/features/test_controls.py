"""Negative controls (READII's definitions): what each keeps and destroys, seeded, lazy, and on the demo cohort
a signature that falls to chance on them while it keeps its AUC on the real images."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from radlab.errors import InputError
from radlab.features import CONTROLS, negative_control, negative_controls

GEO = {"spacing": (1.0, 1.0, 2.0), "origin": (0.0, 0.0, 0.0), "direction": (1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0)}


def _case(seed=0, lazy=False):
    """A 6 x 40 x 40 case: air (0), a body disc (~100) and a tumour ball (~160) with its mask; two sequences."""
    rng = np.random.default_rng(seed)
    z, y, x = np.mgrid[:6, :40, :40]
    body = (x - 20) ** 2 + (y - 20) ** 2 < 18**2
    ball = (x - 14) ** 2 + (y - 16) ** 2 + (2 * (z - 3)) ** 2 < 4.5**2
    out = {}
    for k, name in enumerate(("T2w", "ADC")):
        img = (np.where(ball, 160 + 20 * k, np.where(body, 100, 0)) + rng.normal(0, 5, ball.shape)).astype(np.float32)
        out[name] = (("z", "y", "x"), da.from_array(img) if lazy else img, {"role": "image", **GEO})
    out["GTV"] = (("z", "y", "x"), ball.astype(np.uint8), {"role": "mask", "image": "T2w", **GEO})
    return xr.Dataset(out)


@pytest.mark.parametrize("control", [c for c in CONTROLS if c != "moved_roi"])
def test_permutations_change_only_their_region_as_readii_defines(control):
    ds = _case()
    out = negative_control(ds, control, seed=3)
    roi = ds.GTV.values > 0
    where = "non_roi" if control.endswith("non_roi") else control.rsplit("_", 1)[1]
    region = {"roi": roi, "non_roi": ~roi, "full": np.ones_like(roi)}[where]
    for name in ("T2w", "ADC"):
        before, after = ds[name].values, out[name].values
        assert after.dtype == before.dtype and after.shape == before.shape
        np.testing.assert_array_equal(after[~region], before[~region])  # outside the region: untouched
        old, new = before[region], after[region]
        assert not np.array_equal(new, old)
        if control.startswith("shuffled"):  # a permutation: the same values, elsewhere
            np.testing.assert_array_equal(np.sort(new), np.sort(old))
        elif control.startswith("randomized_sampled"):  # drawn from the region's own values
            assert np.isin(new, old).all() and len(np.unique(new)) < len(new)
        else:  # uniform between the region's extremes
            assert old.min() <= new.min() and new.max() <= old.max()
            assert not np.isin(new, old).all()
    np.testing.assert_array_equal(out.GTV.values, ds.GTV.values)  # the ROI is kept
    step = out.T2w.attrs["provenance"][-1]
    assert {k: step[k] for k in ("step", "control", "seed")} == {"step": "negative_control", "control": control,
                                                                 "seed": [3]}
    assert len(step["code"]) == 12  # the controls' code hash: part of the feature cache key


def test_moved_roi_puts_the_same_roi_on_tissue_away_from_the_tumour():
    ds = _case()
    out = negative_control(ds, "moved_roi", seed=0)
    old, new = ds.GTV.values > 0, out.GTV.values > 0
    assert new.sum() == old.sum() and not (new & old).any()
    (z0, y0, x0), (z1, y1, x1) = np.nonzero(old), np.nonzero(new)
    shift = {(int(a - b), int(c - d), int(e - f)) for a, b, c, d, e, f in zip(z1, z0, y1, y0, x1, x0)}
    assert len(shift) == 1 and next(iter(shift))[0] == 0  # a pure in-plane translation: the same shape
    assert np.abs(ds.T2w.values[new] - 100).max() < 30  # on body tissue (~100), not tumour (~160) or air (0)
    for name in ("T2w", "ADC"):
        np.testing.assert_array_equal(out[name].values, ds[name].values)  # images unchanged
    with pytest.raises(InputError, match="no in-plane position puts the ROI on tissue"):
        big = ds.assign(GTV=ds.GTV.copy(data=np.pad(np.ones((6, 30, 30), np.uint8), ((0, 0), (5, 5), (5, 5)))))
        negative_control(big, "moved_roi").GTV.values


def test_controls_are_seeded_lazy_and_per_case():
    ds = _case(lazy=True)
    a = negative_control(ds, "shuffled_roi", seed=1)
    assert isinstance(a.T2w.data, da.Array) and isinstance(a.ADC.data, da.Array)  # nothing computed yet
    np.testing.assert_array_equal(a.T2w.values, negative_control(ds, "shuffled_roi", seed=1).T2w.values)
    assert not np.array_equal(a.T2w.values, negative_control(ds, "shuffled_roi", seed=2).T2w.values)
    assert not np.array_equal(a.T2w.values[ds.GTV.values > 0], a.ADC.values[ds.GTV.values > 0] - 20)
    cases = dict(negative_controls([("p1", ds), ("p2", ds), ("p3", "not a case")], "shuffled_roi", seed=1))
    assert not np.array_equal(cases["p1"].T2w.values, cases["p2"].T2w.values)  # seeded by the case id too
    assert cases["p3"] == "not a case"  # passed on: extract reports it as that case's error
    with pytest.raises(InputError, match="Unknown negative control 'blurred'"):
        negative_control(ds, "blurred")


# the signature: ADC location/spread statistics, which do not depend on the ROI's voxel count (sums, extremes,
# entropies and texture statistics do, so a signature of them keeps its AUC on every control through tumour
# volume, which the demo ties to response: notebook 03 shows it)
INTENSITY = ["Mean", "Median", "10Percentile", "90Percentile", "InterquartileRange", "MeanAbsoluteDeviation",
             "RobustMeanAbsoluteDeviation", "RootMeanSquared", "Variance"]
PARAMS = {"setting": {"binCount": 32, "label": 1}, "imageType": {"Original": {}},
          "featureClass": {"firstorder": INTENSITY}}


def test_demo_signature_keeps_its_auc_and_falls_to_chance_on_the_controls(catalog):
    """On the 30-case demo (5-fold CV with ComBat inside): the ADC signature keeps its out-of-fold AUC on the
    real images (0.77, DeLong CI 0.58-0.96 when written), a random image with the image's histogram (0.59,
    0.36-0.82) and the ROI moved onto normal tissue (0.66, 0.45-0.87) fall to chance (CI contains 0.5), and
    shuffling inside the ROI keeps the ROI's histogram, hence every first-order feature and the AUC."""
    from radlab.features import run_negative_controls

    cohort = catalog["demo"]
    result = run_negative_controls(cohort, cohort.clinical, outcome="pcr", params=PARAMS,
                                   controls=("shuffled_roi", "randomized_sampled_full", "moved_roi"),
                                   pairs=[("ADC_pre", "tumour_pre")], scheduler="sync", cache=False,
                                   batch="centre", cv=5, k=5)
    t = result.to_frame()
    assert list(t.index) == ["original", "shuffled_roi", "randomized_sampled_full", "moved_roi"]
    assert (t.n_cases == 30).all() and (t.n_features == 9).all()
    assert t.loc["original", "ci_lower"] > 0.5 and t.loc["original", "auc"] > 0.7
    assert t.loc[["randomized_sampled_full", "moved_roi"], "chance_in_ci"].all()
    assert t.loc["shuffled_roi", "auc"] == pytest.approx(t.loc["original", "auc"], abs=1e-12)
    pd.testing.assert_series_equal(result.workflows["shuffled_roi"].selected.frequency,
                                   result.workflows["original"].selected.frequency)


def test_one_control_given_as_a_string_is_one_control():
    """``controls="moved_roi"`` names one control: the check reaches the outcome, not a control named 'm'."""
    from radlab.features import run_negative_controls

    with pytest.raises(InputError, match="The 'outcome' parameter of run_negative_controls"):
        run_negative_controls([], pd.DataFrame(), outcome="pcr", controls="moved_roi")
