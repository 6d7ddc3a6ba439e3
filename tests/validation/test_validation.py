"""Validation schemes, the predictions table, saved models, the full workflow, and proof of no leakage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from radlab.evaluation import RocCurve
from radlab.harmonize import BatchEffect, ComBat
from radlab.select import UnivariateFilter
from radlab.validation import (
    PREDICTION_COLUMNS,
    RepeatedStratifiedGroupKFold,
    cross_validate_predictions,
    external_validation,
    leave_one_centre_out,
    load_model,
    make_pipeline,
    nested_cv,
    run_workflow,
    save_model,
)


def _synthetic(seed=0, n=240, p=60, n_signal=5, noise_only=False):
    """Features with a known centre effect (location+scale per centre) and known signal features f0..f4."""
    rng = np.random.default_rng(seed)
    ids = [f"case{i:03d}" for i in range(n)]
    centre = np.array(["A", "B", "C", "D"])[np.arange(n) % 4]
    latent = rng.normal(size=n)
    y = (latent > 0).astype(int)
    F = rng.normal(size=(n, p))
    if not noise_only:
        F[:, :n_signal] += 1.0 * latent[:, None]
    shift = {"A": 0.0, "B": 2.0, "C": -1.5, "D": 1.0}
    scale = {"A": 1.0, "B": 1.8, "C": 0.7, "D": 1.3}
    F = F * np.array([scale[c] for c in centre])[:, None] + np.array([shift[c] for c in centre])[:, None]
    features = pd.DataFrame(F, index=ids, columns=[f"f{j}" for j in range(p)])
    clinical = pd.DataFrame({"label": y, "centre": centre, "patient": np.arange(n) // 2}, index=ids)
    return features, clinical


def _auc_ci(table):
    test = table[table.split == "test"]
    roc = RocCurve.from_predictions(test.label.astype(int), test.score, n_bootstraps=0)
    return roc.auc, roc.ci_delong


def test_no_leakage_permuted_labels_ci_contains_half_while_leaky_pipeline_does_not():
    features, clinical = _synthetic(seed=1, n=120, p=400, noise_only=True)
    clinical["label"] = np.random.default_rng(2).permutation(clinical.label.to_numpy())
    X, y = features.join(clinical[["centre"]]), clinical.label.to_numpy()
    honest = make_pipeline(batch="centre", variance=None, correlation=None, selector="univariate", k=10)
    auc, ci = _auc_ci(cross_validate_predictions(honest, X, y, cv=5, random_state=0))
    assert ci[0] < 0.5 < ci[1], (auc, ci)
    # leaky: ComBat and selection fitted on ALL cases (test folds included), only the model inside CV
    Z = ComBat("centre").fit_transform(X)
    Z = UnivariateFilter(k=10).fit_transform(Z, y)
    leaky = Pipeline([("scale", StandardScaler()), ("model", LogisticRegression(max_iter=5000))])
    auc_leak, ci_leak = _auc_ci(cross_validate_predictions(leaky, Z, y, cv=5, random_state=0))
    assert ci_leak[0] > 0.5 and auc_leak > 0.7, (auc_leak, ci_leak)
    print(f"honest AUC {auc:.3f} CI {ci}; leaky AUC {auc_leak:.3f} CI {ci_leak}")


def test_repeated_grouped_stratified_kfold_table():
    features, clinical = _synthetic(n=80, p=8)
    cv = RepeatedStratifiedGroupKFold(n_splits=4, n_repeats=2, random_state=0)
    X, y, g = features.to_numpy(), clinical.label.to_numpy(), clinical.patient.to_numpy()
    for tr, te in cv.split(X, y, g):
        assert not set(g[tr]) & set(g[te])
    t = cross_validate_predictions(LogisticRegression(), features, y, cv=cv, groups=g, return_train=True)
    assert list(t.columns) == PREDICTION_COLUMNS
    test = t[t.split == "test"]
    assert len(test) == 160 and test.groupby("repeat").case.nunique().tolist() == [80, 80]
    assert sorted(test.fold.unique()) == [0, 1, 2, 3] and set(t.split) == {"train", "test"}
    assert t.time.isna().all() and t.label.notna().all()


def test_leave_one_centre_out_and_external_centres():
    features, clinical = _synthetic(n=120, p=10)
    X, y = features.join(clinical[["centre"]]), clinical.label.to_numpy()
    pipe = make_pipeline(batch="centre", selector=None, correlation=None)  # unseen="fit": new centre from itself
    t = leave_one_centre_out(pipe, X, y, clinical.centre)
    assert sorted(t.cohort.unique()) == ["A", "B", "C", "D"] and len(t) == 120
    assert all(roc_auc_score(g.label, g.score) > 0.7 for _, g in t.groupby("cohort"))
    train = clinical.centre.isin(["A", "B"]).to_numpy()
    ext = {c: (X[(clinical.centre == c).to_numpy()], y[(clinical.centre == c).to_numpy()]) for c in ("C", "D")}
    preds, fitted = external_validation(pipe, X[train], y[train], ext, cv=3)
    assert preds.groupby(["cohort", "split"]).size().to_dict() == {("C", "external"): 30, ("D", "external"): 30,
                                                                   ("train", "test"): 60}
    np.testing.assert_allclose(preds[preds.cohort == "C"].score, fitted.predict_proba(ext["C"][0])[:, 1])


def test_nested_cv_tunes_inside_training_folds():
    features, clinical = _synthetic(n=100, p=10)
    pipe = make_pipeline(selector="univariate", k=3, correlation=None)
    preds, best = nested_cv(pipe, {"select__k": [2, 5], "model__C": [0.1, 1.0]}, features,
                            clinical.label.to_numpy(), outer_cv=3, inner_cv=3)
    assert len(preds) == 100 and len(best) == 3 and set(best.columns) == {"repeat", "fold", "select__k", "model__C"}
    assert roc_auc_score(preds.label, preds.score) > 0.7  # centre effect left in (no ComBat here)


def test_saved_model_provenance_and_reapplication(tmp_path):
    features, clinical = _synthetic(n=100, p=12)
    X = features.join(clinical[["centre"]])
    pipe = make_pipeline(batch="centre", k=4).fit(X, clinical.label)
    path = save_model(pipe, tmp_path / "model.joblib", training_cohort="synthetic-train", model="radiomics",
                      outcome="label", n_cases=len(X))
    saved = load_model(path)
    prov = saved.provenance
    assert prov["features"] == list(X.columns) and prov["training_cohort"] == "synthetic-train"
    assert prov["versions"]["scikit-learn"] and prov["date"].endswith("+00:00") and "model__C" in prov["params"]
    new_features, new_clinical = _synthetic(seed=5, n=40, p=12)
    shuffled = new_features[new_features.columns[::-1]].join(new_clinical[["centre"]])  # columns by name
    np.testing.assert_allclose(saved.predict(shuffled), pipe.predict_proba(new_features.join(new_clinical[["centre"]]))[:, 1])

    class Cohort:  # the radlab Cohort contract: name, features, clinical, outcomes
        name = "new-centre"
        features = new_features
        clinical = new_clinical
        outcomes = {"label": "label"}

    t = saved.apply_to_cohort(Cohort())
    assert list(t.columns) == PREDICTION_COLUMNS and set(t.split) == {"external"} and t.cohort.iloc[0] == "new-centre"
    assert t.label.tolist() == new_clinical.label.astype(float).tolist()
    with pytest.raises(ValueError, match="lacks 1 input column"):
        saved.predict(shuffled.drop(columns="f3"))


def test_workflow_removes_injected_centre_effect_and_finds_signal():
    features, clinical = _synthetic(seed=3, n=240, p=60)
    result = run_workflow(features, clinical, outcome="label", batch="centre", groups="patient",
                          external={"column": "centre", "values": ["D"]}, cv=3, k=5, selector="univariate")
    p = result.predictions
    test, ext = p[p.split == "test"], p[p.split == "external"]
    assert len(test) == 180 and len(ext) == 60 and set(ext.cohort) == {"D"}
    assert roc_auc_score(test.label, test.score) > 0.8 and roc_auc_score(ext.label, ext.score) > 0.8
    top = set(result.selected.index[:5])
    assert len(top & {f"f{j}" for j in range(5)}) >= 4
    train = (clinical.centre != "D").to_numpy()
    X = features[train].join(clinical.loc[train, ["centre"]])
    before = BatchEffect.from_features(features[train], clinical.centre[train], cv=3)
    after = BatchEffect.from_features(result.estimator.named_steps["combat"].transform(X), clinical.centre[train], cv=3)
    assert before.n_significant == 60 and after.n_significant <= 3
    assert before.separability > 0.9 and after.separability < 0.5  # chance 1/3


def test_workflow_on_breast_cancer_and_gbsg2():
    data = load_breast_cancer(as_frame=True)
    features = data.data.set_axis([f"case{i}" for i in range(len(data.data))])
    clinical = pd.DataFrame({"label": data.target.to_numpy()}, index=features.index)
    r = run_workflow(features, clinical, outcome="label", cv=3, k=5)
    t = r.predictions
    assert roc_auc_score(t.label, t.score) > 0.95
    from sksurv.datasets import load_gbsg2

    from radlab.evaluation import concordance_index

    Xg, yg = load_gbsg2()
    feats = Xg[["age", "estrec", "pnodes", "progrec", "tsize"]].set_axis([f"p{i}" for i in range(len(Xg))])
    clin = pd.DataFrame({"time": yg["time"], "event": yg["cens"].astype(int),
                         "menostat": Xg.menostat.astype(str).to_numpy()}, index=feats.index)
    rs = run_workflow(feats, clin, outcome=("time", "event"), cv=3, k=3, model="cox", correlation=None,
                      external={"column": "menostat", "values": ["Pre"]})
    ts = rs.predictions
    assert ts.time.notna().all() and ts.label.isna().all()
    c = concordance_index(ts[ts.split == "test"].time, ts[ts.split == "test"].event, ts[ts.split == "test"].score)
    c_ext = concordance_index(ts[ts.split == "external"].time, ts[ts.split == "external"].event,
                              ts[ts.split == "external"].score)
    assert c.estimate > 0.6 and c_ext.estimate > 0.6
    assert {"pnodes", "progrec"} <= set(rs.selected.index[rs.selected.final])
