"""Every radlab result class outside radlab.evaluation, built from small real inputs, round-trips exactly through
save/load, and its to_frame() has the documented columns."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from sklearn.linear_model import LogisticRegression

import radlab.explain
import radlab.harmonize
import radlab.models
from radlab import results
from radlab.explain import explain
from radlab.harmonize import BatchEffect
from radlab.models import CoxPH, Nomogram, survival_target


@pytest.fixture(scope="module")
def shap_explanation():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"age": rng.normal(60, 10, 30), "size": rng.gamma(2.0, 1.0, 30), "grade": rng.integers(1, 4, 30)},
                     index=pd.Index([f"c{i:02d}" for i in range(30)], name="case")).astype({"grade": float})
    y = (X["size"] + rng.normal(0, 1, 30) > 2).astype(int)
    return explain(LogisticRegression().fit(X, y), X)


def _cox_nomogram():
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"age": rng.normal(60, 10, 40), "nodes": rng.poisson(3, 40).astype(float)})
    y = survival_target(rng.exponential(1000 / np.exp(0.3 * X["nodes"] / 3)), rng.random(40) < 0.7)
    return Nomogram.from_estimator(CoxPH(alpha=0.1).fit(X, y), X, times=[500.0, 1000.0])


def _batch_effect():
    rng = np.random.default_rng(2)
    X = pd.DataFrame(rng.normal(size=(24, 4)), columns=["f0", "f1", "f2", "f3"],
                     index=[f"c{i}" for i in range(24)])
    batch = np.repeat(["A", "B", "C"], 8)
    X.loc[batch == "B", "f0"] += 3.0
    return BatchEffect.from_features(X, batch, cv=3, name="raw")


@pytest.fixture(scope="module")
def saliency_inputs():
    torch = pytest.importorskip("torch")
    from radlab.dl import ResNet
    from radlab.explain import saliency

    torch.manual_seed(0)
    net = ResNet(1, dim=2, widths=(4, 8)).eval()
    img = xr.DataArray(np.random.default_rng(0).normal(size=(1, 12, 12)).astype("float32"),
                       dims=("channel", "y", "x"), coords={"channel": ["T2w"]})
    mask = xr.DataArray((np.arange(144).reshape(12, 12) < 40).astype(int), dims=("y", "x"))
    return net, img, mask, saliency(net, img, method="gradient")


def _sanity(name):
    def build(request):
        from radlab.explain import BrightnessBias, DeletionInsertion, MaskShare, RandomizationCheck

        net, img, mask, smap = request.getfixturevalue("saliency_inputs")
        return {"randomization": lambda: RandomizationCheck.from_model(net, img, method="gradient"),
                "deletion": lambda: DeletionInsertion.from_saliency(net, img, smap, n_steps=5),
                "brightness": lambda: BrightnessBias.from_saliency(smap, img, mask=mask),
                "mask-share": lambda: MaskShare.from_saliency(smap, mask)}[name]()
    return build


def _shap(method):
    return lambda request: method(request.getfixturevalue("shap_explanation"))


# id -> (builder(request), documented to_frame columns)
CASES = {
    "ShapExplanation": (_shap(lambda e: e), ["case", "feature", "value", "shap"]),
    "ShapSummary": (_shap(lambda e: e.summary(max_features=2)), ["feature", "mean_abs_shap"]),
    "ShapDependence": (_shap(lambda e: e.dependence("size")), ["value", "shap"]),
    "ShapWaterfall": (_shap(lambda e: e.waterfall("c03", max_features=2)), ["feature", "shap", "start", "end"]),
    "Nomogram-logistic": (lambda request: Nomogram.from_estimator(
        LogisticRegression().fit(pd.DataFrame({"age": [40.0, 50, 60, 70], "size": [1.0, 3, 2, 4]}), [0, 0, 1, 1]),
        pd.DataFrame({"age": [40.0, 50, 60, 70], "size": [1.0, 3, 2, 4]})), ["variable", "value", "points"]),
    "Nomogram-cox": (lambda request: _cox_nomogram(), ["variable", "value", "points"]),
    "BatchEffect": (lambda request: _batch_effect(), ["feature", "statistic", "p_value", "q_value", "significant"]),
    "RandomizationCheck": (_sanity("randomization"), ["step", "layer", "spearman", "ssim", "method"]),
    "DeletionInsertion": (_sanity("deletion"), ["fraction", "curve", "score"]),
    "BrightnessBias": (_sanity("brightness"), ["channel", "spearman"]),
    "MaskShare": (_sanity("mask-share"), ["case", "share", "expected", "enrichment", "hit"]),
}


def _assert_identical(a, b):
    assert type(a) is type(b)
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True, check_index_type=True, check_column_type=True)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, check_exact=True, check_index_type=True)
    elif isinstance(a, xr.DataArray):
        xr.testing.assert_identical(a, b)
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, strict=True)
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b


@pytest.mark.parametrize("build, columns", CASES.values(), ids=CASES.keys())
def test_result_round_trips_exactly_and_to_frame_has_the_documented_columns(build, columns, request, tmp_path):
    result = build(request)
    loaded = results.load(result.save(tmp_path / "result.json"))
    assert type(loaded) is type(result) and loaded == result
    for f in dataclasses.fields(result):
        _assert_identical(getattr(result, f.name), getattr(loaded, f.name))
    frame = result.to_frame()
    assert list(frame.columns) == columns and len(frame) > 0
    pd.testing.assert_frame_equal(loaded.to_frame(), frame, check_exact=True)
    assert type(result).load(tmp_path / "result.json") == result


def test_every_result_class_outside_evaluation_is_tested_and_keeps_exact_equality():
    """Each registered radlab result class (radlab.evaluation has its own tests) is in CASES, with Result's ==."""
    ours = {name: cls for name, cls in results._REGISTRY.items()
            if name.startswith("radlab.") and not name.startswith(("radlab.evaluation.", "radlab.results."))}
    assert {cls.__name__ for cls in ours.values()} == {k.split("-")[0] for k in CASES}
    assert all(cls.__eq__ is results.Result.__eq__ for cls in ours.values())
    assert {radlab.explain.ShapExplanation, radlab.models.Nomogram, radlab.harmonize.BatchEffect} <= set(ours.values())


def test_cox_nomogram_keeps_its_survival_horizons(tmp_path):
    nom = _cox_nomogram()
    loaded = Nomogram.load(nom.save(tmp_path / "nomogram.json"))
    assert loaded.times.tolist() == [500.0, 1000.0]
    pd.testing.assert_frame_equal(loaded.risk_from_points([0.0, 50.0, 100.0]), nom.risk_from_points([0.0, 50.0, 100.0]),
                                  check_exact=True)
