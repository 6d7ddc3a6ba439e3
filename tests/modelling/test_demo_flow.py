"""Issue 5's demo: the whole flow on a 60-case demo cohort recovers what the generator put there."""

from __future__ import annotations

import pytest

from radlab.cohort import Cohort
from radlab.datasets import make_demo_cohort
from radlab.demo import MODELS, prepare_demo
from radlab.evaluation import RocCurve
from radlab.validation import PREDICTION_COLUMNS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def results(catalog, tmp_path_factory):
    root = make_demo_cohort(tmp_path_factory.mktemp("demo60") / "demo", n_cases=60, n_external=15, n_dicom=0,
                            seed=3, progress=False)
    cohort = Cohort("demo", catalog.spec("demo"), root=root)
    return cohort, prepare_demo(cohort, scheduler="sync", cv=4, progress=False)


def test_one_tidy_predictions_table_for_every_model(results):
    cohort, r = results
    p = r.predictions
    assert list(p.columns[: len(PREDICTION_COLUMNS)]) == list(PREDICTION_COLUMNS)
    assert set(p.model) == set(MODELS)
    external = p[p.split == "external"]
    assert set(cohort.clinical.loc[external.case, "centre"]) == {"D"}
    assert set(cohort.clinical.loc[p[p.split == "test"].case, "centre"]) <= {"A", "B", "C"}
    # every case of the training centres gets exactly one out-of-fold score per model and repeat
    oof = p[(p.split == "test") & (p.model == "radiomics-logistic")]
    assert oof.case.is_unique and len(oof) == (cohort.clinical.centre != "D").sum()
    # each model's rows carry its own endpoint: pCR for the classifiers, time and event for the Cox model
    cox = p.model == "radiomics-cox"
    assert p.loc[~cox, "label"].notna().all() and p.loc[cox, ["time", "event"]].notna().all().all()
    assert p.loc[~cox, "time"].isna().all() and p.loc[cox, "label"].isna().all()


def test_combat_removes_the_injected_centre_effect(results):
    _, r = results
    before, after = r.batch_effect.set_index("name").loc[["before", "after"], "n_significant"]
    n = r.batch_effect.n_features.iloc[0]
    assert before >= 0.5 * n  # the generator's scanner effect shows in most features
    assert after <= 0.05 * n  # and ComBat (fitted on the training centres) removes it


def test_selected_features_carry_the_generators_signal(results):
    _, r = results
    # selected features track the latent aggressiveness better than the typical feature does
    assert r.signal.percentile.median() >= 0.6
    assert r.signal.abs_rho.median() >= 0.4


def test_radiomics_model_beats_chance_out_of_fold(results):
    _, r = results
    oof = r.predictions.query("split == 'test' and model == 'radiomics-logistic'")
    roc = RocCurve.from_predictions(oof.label, oof.score, n_bootstraps=0)
    assert roc.auc > 0.6


def test_results_are_saved_and_reloaded(results, monkeypatch):
    cohort, r = results
    import radlab.features

    monkeypatch.setattr(radlab.features, "extract", lambda *a, **k: pytest.fail("recomputed features"))
    again = prepare_demo(cohort, scheduler="sync", cv=4, progress=False)
    assert again.predictions.equals(r.predictions)
    assert set(again.pipelines) == set(MODELS)
