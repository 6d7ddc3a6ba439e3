"""ComBat against neuroCombat 0.2.12 (reference implementation) and its documented behaviour."""

from __future__ import annotations

import contextlib
import io
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from radlab.errors import InputError
from radlab.harmonize import ComBat, NoBatchWarning

MODES = [
    dict(), dict(parametric=False), dict(eb=False), dict(mean_only=True),
    dict(mean_only=True, parametric=False), dict(ref_batch=1), dict(ref_batch=2, parametric=False),
    dict(ref_batch=0, eb=False),
]


def _neurocombat(dat, covars, monkeypatch, **kw):
    from neuroCombat import neuroCombat

    monkeypatch.setattr(np, "int", int, raising=False)  # neuroCombat 0.2.12 still calls np.int (ref_batch)
    with contextlib.redirect_stdout(io.StringIO()):
        return neuroCombat(dat.copy(), covars, "batch", **kw)


def _fake_data(seed, size=200, n_feats=20, n_batches=3):
    """neuroCombat's own test-data recipe (tests/test_combat.py gen_fake_data: uniform features, 3 batches,
    2 continuous and 1 three-level categorical covariate), with a batch effect added so EB has work to do."""
    rng = np.random.default_rng(seed)
    covars = pd.DataFrame({"covars_0": rng.random(size), "covars_1": rng.random(size),
                           "covars_2": rng.integers(0, 3, size)})
    batch = rng.integers(0, n_batches, size)
    data = rng.random((size, n_feats)) + 0.5 * batch[:, None] * rng.random(n_feats) + 0.3 * covars[["covars_0"]].values
    data *= 1 + 0.5 * (batch[:, None] == 1)
    covars["batch"] = batch
    return data, covars


@pytest.mark.parametrize("kw", MODES, ids=str)
def test_matches_neurocombat_with_covariates(kw, monkeypatch):
    data, covars = _fake_data(0)
    ref = _neurocombat(data.T, covars, monkeypatch, categorical_cols=["covars_2"],
                       continuous_cols=["covars_0", "covars_1"], **kw)["data"].T
    X = pd.concat([pd.DataFrame(data, columns=[f"f{i}" for i in range(data.shape[1])]), covars], axis=1)
    ours = ComBat("batch", categorical=["covars_2"], continuous=["covars_0", "covars_1"], **kw).fit_transform(X)
    # 1e-6 asked; neuroCombat casts continuous covariates to float32, which bounds agreement near 1e-8
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-6)
    # batch and covariates as metadata (the routed form): the same numbers, bit for bit
    routed = ComBat(categorical=["covars_2"], continuous=["covars_0", "covars_1"], **kw).fit_transform(
        X.iloc[:, :20], batch=covars["batch"].to_numpy(), covariates=covars.drop(columns="batch"))
    np.testing.assert_array_equal(routed, ours)


@pytest.mark.parametrize("kw", MODES[:5], ids=str)
def test_matches_neurocombat_readme_example(kw, monkeypatch):
    """The README example's layout: 200 features x 10 scans, batch 1/2, gender preserved."""
    rng = np.random.default_rng(5)
    covars = pd.DataFrame({"batch": [1, 1, 1, 1, 1, 2, 2, 2, 2, 2], "gender": [1, 2, 1, 2, 1, 2, 1, 2, 1, 2]})
    dat = rng.normal(size=(200, 10)) + 2.0 * (covars["batch"].to_numpy() == 2) + rng.normal(size=(200, 1))
    ref = _neurocombat(dat, covars, monkeypatch, categorical_cols=["gender"], **kw)["data"].T
    ours = ComBat(0, categorical=[1], **kw).fit_transform(np.column_stack([covars.to_numpy(), dat.T]))
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-6)


def _two_centres(seed=0, n=40, p=6):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, p)), columns=[f"f{i}" for i in range(p)])
    X["centre"] = np.repeat(["A", "B"], n // 2)
    X.loc[X.centre == "B", X.columns[:p]] = X.loc[X.centre == "B", X.columns[:p]] * 2 + 3
    return X


def test_transform_new_cases_of_known_batches_uses_frozen_estimates():
    X = _two_centres()
    train, test = X.iloc[::2], X.iloc[1::2]
    cb = ComBat("centre").fit(train)
    before = {k: getattr(cb, k).copy() for k in ("grand_mean_", "var_pooled_", "gamma_star_", "delta_star_")}
    out = cb.transform(test)
    for k, v in before.items():
        np.testing.assert_array_equal(getattr(cb, k), v)
    # by hand: standardise with the pooled estimates, remove the batch's gamma*/delta*, restore
    k = (test.centre == "B").to_numpy().astype(int)
    y = test.iloc[:, :6].to_numpy()
    s = (y - cb.grand_mean_) / np.sqrt(cb.var_pooled_)
    expect = (s - cb.gamma_star_[k]) / np.sqrt(cb.delta_star_[k]) * np.sqrt(cb.var_pooled_) + cb.grand_mean_
    np.testing.assert_allclose(out, expect, atol=1e-12)
    # transforming the training cases reproduces the fit's own harmonised data, case by case
    np.testing.assert_allclose(cb.transform(train.iloc[3:9]), cb.transform(train)[3:9], atol=1e-12)


def test_unseen_batches():
    X = _two_centres()
    cb = ComBat("centre").fit(X)
    new = _two_centres(seed=1).iloc[:20].assign(centre="C")
    new.iloc[:, :6] = new.iloc[:, :6] * 3 - 10
    with pytest.raises(ValueError, match=r"unseen batches \['C'\]"):
        cb.transform(new)
    frozen = cb.grand_mean_.copy()
    passed = cb.set_params(unseen="passthrough").transform(new)
    np.testing.assert_allclose(passed, new.iloc[:, :6].to_numpy(), atol=1e-12)
    fitted = cb.set_params(unseen="fit").transform(new)
    np.testing.assert_array_equal(cb.grand_mean_, frozen)
    harmonised_known = cb.transform(X.iloc[:20])
    # the new centre's shift (+3, x2) is removed: its means land near the harmonised training means
    assert np.abs(fitted.mean(0) - harmonised_known.mean(0)).max() < 0.6
    assert np.abs(new.iloc[:, :6].to_numpy().mean(0) - harmonised_known.mean(0)).min() > 5
    with pytest.raises(ValueError, match="at least 2 cases of a new batch"):
        cb.transform(new.iloc[:1])


def test_reference_batch_keeps_its_data_and_units():
    X = _two_centres()
    out = ComBat("centre", ref_batch="B").fit_transform(X)
    np.testing.assert_allclose(out[20:], X.iloc[20:, :6].to_numpy(), atol=1e-12)
    assert np.abs(out[:20].mean(0) - out[20:].mean(0)).max() < 0.5  # A moved onto B's scale (mean ~3)
    with pytest.raises(ValueError, match="'ref_batch' parameter of ComBat must be one of"):
        ComBat("centre", ref_batch="Z").fit(X)


def test_bootstrap_combat_is_seeded_and_close_to_combat():
    X = _two_centres(p=10)
    plain = ComBat("centre").fit_transform(X)
    b1 = ComBat("centre", n_bootstraps=30, random_state=0).fit_transform(X)
    b2 = ComBat("centre", n_bootstraps=30, random_state=0).fit_transform(X)
    np.testing.assert_array_equal(b1, b2)
    assert 0 < np.abs(b1 - plain).max() < 0.5
    assert np.abs(b1[:20].mean(0) - b1[20:].mean(0)).max() < 0.5


def test_biological_covariate_is_preserved():
    """A covariate unbalanced across centres: with it in the model its effect survives, without it shrinks."""
    rng = np.random.default_rng(3)
    n = 200
    centre = np.repeat([0, 1], n // 2)
    grade = (rng.random(n) < np.where(centre == 1, 0.8, 0.2)).astype(int)
    Y = rng.normal(size=(n, 5)) + 1.0 * grade[:, None] + 2.0 * centre[:, None]
    X = np.column_stack([centre, grade, Y])

    def effect(Z):
        return np.linalg.lstsq(np.column_stack([np.ones(n), grade]), Z, rcond=None)[0][1]

    kept = ComBat(0, categorical=[1]).fit_transform(X)
    lost = ComBat(0).fit_transform(np.delete(X, 1, axis=1))
    assert np.all(np.abs(effect(kept) - 1.0) < 0.25)
    assert np.all(effect(lost) < 0.75)


@settings(max_examples=20, deadline=None)
@given(shift=st.floats(-50, 50), scale=st.floats(0.2, 5), seed=st.integers(0, 1000))
def test_property_removes_injected_batch_shift(shift, scale, seed):
    rng = np.random.default_rng(seed)
    Y = rng.normal(size=(60, 8))
    b = np.repeat([0, 1, 2], 20)
    Y[b == 1] = Y[b == 1] * scale + shift
    out = ComBat(0).fit_transform(np.column_stack([b, Y]))
    means = np.vstack([out[b == k].mean(0) for k in range(3)])
    sds = np.sqrt(np.vstack([out[b == k].var(0) for k in range(3)]))
    spread = np.sqrt(out.var(0))
    assert np.all(np.ptp(means, axis=0) < 1.0 * spread)
    assert np.all(sds.max(0) / sds.min(0) < 3.0)


def test_pipeline_pandas_output_pickle_and_errors():
    X = _two_centres()
    pipe = make_pipeline(ComBat("centre"), StandardScaler()).set_output(transform="pandas")
    out = pipe.fit_transform(X)
    assert list(out.columns) == [f"f{i}" for i in range(6)]
    again = pickle.loads(pickle.dumps(pipe)).transform(X)
    pd.testing.assert_frame_equal(again, out)
    with pytest.raises(ValueError, match="'batch' parameter of ComBat must name a column"):
        ComBat("site").fit(X)
    with pytest.raises(ValueError, match="at least 2 batches with at least 2 cases"):
        ComBat("centre").fit(X.iloc[:21])
    bad = X.copy()
    bad.iloc[0, 0] = np.nan
    with pytest.raises(ValueError, match="finite feature values"):
        ComBat("centre").fit(bad)
    with pytest.raises(ValueError, match="levels seen in fit"):
        ComBat("centre", categorical=["g"]).fit(X.assign(g=0)).transform(X.assign(g=1))


def test_metadata_routing_through_pipeline_and_cross_validation():
    """batch= and covariates= reach ComBat through a Pipeline (fit and predict) and radlab's cross-validation,
    giving the same scores as the column form; nothing from held-out folds reaches the fit."""
    import sklearn
    from sklearn.linear_model import LogisticRegression

    from radlab.validation import cross_validate_predictions

    X = _two_centres(p=6)
    centre, feats = X.pop("centre").to_numpy(), X
    age = pd.DataFrame({"age": np.random.default_rng(1).normal(60, 8, len(X))}, index=X.index)
    y = (feats.f0 + np.random.default_rng(2).normal(size=len(X)) > feats.f0.median()).astype(int).to_numpy()
    columns = make_pipeline(ComBat("centre", continuous=["age"]), LogisticRegression())
    routed = make_pipeline(ComBat(continuous=["age"]), LogisticRegression())
    with sklearn.config_context(enable_metadata_routing=True):
        routed.fit(feats, y, batch=centre, covariates=age)
        p_routed = routed.predict_proba(feats, batch=centre, covariates=age)[:, 1]
        with pytest.raises(ValueError, match=r"transform needs each case's batch label"):
            routed.predict_proba(feats, covariates=age)
    p_columns = columns.fit(feats.join(age).assign(centre=centre), y).predict_proba(
        feats.join(age).assign(centre=centre))[:, 1]
    np.testing.assert_allclose(p_routed, p_columns, rtol=0, atol=1e-12)
    cv_routed = cross_validate_predictions(routed, feats, y, cv=4, params={"batch": centre, "covariates": age})
    cv_columns = cross_validate_predictions(columns, feats.join(age).assign(centre=centre), y, cv=4)
    pd.testing.assert_frame_equal(cv_routed, cv_columns)
    assert not sklearn.get_config()["enable_metadata_routing"]  # radlab's schemes leave the global switch alone
    # scikit-learn's scorers (other than the estimator's own score) get no metadata for predict: it stops, loudly
    from sklearn.model_selection import cross_validate

    with sklearn.config_context(enable_metadata_routing=True), pytest.raises(InputError, match="transform needs"):
        cross_validate(make_pipeline(ComBat(), LogisticRegression()), feats, y, params={"batch": centre}, cv=4,
                       scoring="roc_auc", error_score="raise")


def test_without_batch_labels_combat_is_the_identity_and_warns():
    X = _two_centres().drop(columns="centre")
    with pytest.warns(NoBatchWarning, match="fitted without batch labels"):
        cb = ComBat().fit(X)
    assert cb.batches_ is None
    np.testing.assert_allclose(cb.transform(X), X.to_numpy(), rtol=0, atol=1e-12)
    with pytest.raises(InputError, match="fitted without batch labels"):
        cb.transform(X, batch=np.repeat(["A", "B"], 20))


def test_cross_check_with_combatlearn():
    """combatlearn 2.3 (method="fortin", eps=0) fits the same location/scale model: pooled mean, pooled variance
    and covariate coefficients equal ours exactly, and given the same gamma*/delta* both transforms agree to
    1e-12. Its empirical-Bayes step differs by design (priors pooled across batches per feature, not across
    features per batch as in Johnson 2007 / neuroCombat), so harmonised values differ (max 0.08 here, where
    ours equal neuroCombat's to 1e-8)."""
    combatlearn = pytest.importorskip("combatlearn", reason="combatlearn not installed (pip install radlab[dev])")
    data, covars = _fake_data(0)
    X = pd.DataFrame(data, columns=[f"f{i}" for i in range(data.shape[1])])
    batch, cov = covars.pop("batch"), covars
    ref = combatlearn.ComBat(batch=batch, discrete_covariates=cov[["covars_2"]],
                             continuous_covariates=cov[["covars_0", "covars_1"]], method="fortin", eps=0.0)
    with warnings.catch_warnings():  # combatlearn's own data-quality notes
        warnings.simplefilter("ignore", UserWarning)
        ref.fit(X)
        theirs = np.asarray(ref.transform(X))
    ours = ComBat(categorical=["covars_2"], continuous=["covars_0", "covars_1"]).fit(X, batch=batch, covariates=cov)
    model = ref._model  # combatlearn keeps its estimates private
    np.testing.assert_array_equal(ours.grand_mean_, model._grand_mean.to_numpy())
    np.testing.assert_array_equal(ours.var_pooled_, model._pooled_var.to_numpy())
    np.testing.assert_array_equal(ours.beta_, model._beta_hat_nonbatch)
    ours.gamma_star_, ours.delta_star_ = model._gamma_star, model._delta_star
    np.testing.assert_allclose(ours.transform(X, batch=batch, covariates=cov), theirs, rtol=0, atol=1e-12)


# Every generic check passes on ComBat() (batch labels as metadata, none given: one batch, the identity); the
# warning saying so is expected there.
@pytest.mark.filterwarnings("ignore::radlab.harmonize.NoBatchWarning")
@parametrize_with_checks([ComBat()])
def test_sklearn_api(estimator, check):
    check(estimator)
