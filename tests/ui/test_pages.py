"""Page logic without a browser: set store parameters, check state and figure data against the evaluation,
harmonisation and explanation objects computed directly."""

from __future__ import annotations

import re

import holoviews as hv
import numpy as np
import pandas as pd
import pytest

from radlab.evaluation import (CalibrationCurve, DecisionCurve, KaplanMeier, RocCurve, concordance_index,
                               delong_test, threshold_metrics)
from radlab.ui import Pseudonymiser, average_predictions


def _avg(predictions, cohort, model, split):
    a = predictions[(predictions.cohort == cohort) & (predictions.model == model) & (predictions.split == split)]
    return a.groupby("case", sort=False).agg(score=("score", "mean"), label=("label", "first"),
                                             time=("time", "first"), event=("event", "first"))


def test_average_predictions_means_repeats_per_case(predictions):
    avg = average_predictions(predictions)
    train = predictions[(predictions.split == "test") & (predictions.model == "all features")]
    assert (train.groupby("case").size() == 2).all()  # 2 repeats of out-of-fold scores per training case
    ref = train.groupby("case").score.mean()
    got = avg[(avg.split == "test") & (avg.model == "all features")].set_index("case").score
    pd.testing.assert_series_equal(got.sort_index(), ref.sort_index(), check_names=False)  # exact: same mean


@pytest.fixture
def roc(predictions):
    from radlab.ui._roc_page import RocStore

    return RocStore(predictions)


def test_roc_store_matches_evaluation_objects(roc, predictions):
    cohort = "breast-cancer-wisconsin"
    assert (roc.cohort, roc.split, roc.model) == (cohort, "external", "all features")
    assert roc.param.cohort.objects == [cohort]  # gbsg2 rows carry no binary label
    train = _avg(predictions, cohort, "all features", "test")
    youden = RocCurve.from_predictions(train.label, train.score, n_bootstraps=0).youden()
    assert roc.threshold == pytest.approx(youden, abs=0)  # frozen Youden from the out-of-fold training rows
    test = _avg(predictions, cohort, "all features", "external")
    ref = RocCurve.from_predictions(test.label, test.score, n_bootstraps=1000, random_state=0)
    assert roc.roc().auc == pytest.approx(ref.auc, abs=1e-12)
    assert roc.roc().ci_bootstrap == pytest.approx(ref.ci_bootstrap, abs=1e-12)
    pd.testing.assert_frame_equal(roc.metrics(), threshold_metrics(test.label, test.score, youden, n_bootstraps=200,
                                                                   random_state=0))


def test_threshold_change_updates_metrics_without_recomputing_the_bootstrap(roc):
    curve = roc.roc()
    cm_before = roc.confusion_matrix()
    roc.threshold = 0.05
    assert roc.roc() is curve  # cached per selection
    cm = roc.confusion_matrix()
    assert cm.to_numpy().sum() == cm_before.to_numpy().sum() and cm.loc["negative", "positive"] >= \
        cm_before.loc["negative", "positive"]
    fpr, tpr = roc.operating_point()
    marker = roc.marker()
    assert marker.data.iloc[0, 0] == pytest.approx(fpr) and marker.data.iloc[0, 1] == pytest.approx(tpr)
    overlay = roc.curves()
    assert isinstance(overlay, hv.Overlay)


def test_roc_delong_comparison(roc, predictions):
    assert roc.delong() is None
    roc.compare = "size only"
    a = _avg(predictions, roc.cohort, "all features", "external")
    b = _avg(predictions, roc.cohort, "size only", "external").loc[a.index]
    ref = delong_test(a.label, a.score, b.score)
    assert roc.delong().p_value == pytest.approx(ref.p_value, rel=1e-12)
    roc.split = "test"
    assert roc.threshold == pytest.approx(roc.youden_threshold())  # the split does not move the fitted threshold


@pytest.fixture
def survival(predictions):
    from radlab.ui._survival_page import SurvivalStore

    return SurvivalStore(predictions)


def test_survival_groups_from_frozen_training_cutoffs(survival, predictions):
    assert (survival.cohort, survival.model, survival.split) == ("gbsg2", "clinical", "external")
    train = _avg(predictions, "gbsg2", "clinical", "test")
    test = _avg(predictions, "gbsg2", "clinical", "external")
    assert survival.risk_groups().cutoff_[0] == pytest.approx(np.median(train.score), abs=1e-12)
    survival.cutoff_method, survival.percentile = "percentile", 75.0
    cut = np.percentile(train.score, 75)
    assert survival.risk_groups().cutoff_[0] == pytest.approx(cut, abs=1e-12)
    groups = np.where(test.score >= cut, "high risk", "low risk")
    np.testing.assert_array_equal(survival.groups(), groups)
    ref = KaplanMeier.from_survival(test.time, test.event.astype(bool), groups=groups)
    assert survival.kaplan_meier().logrank.p_value == pytest.approx(ref.logrank.p_value, rel=1e-12)
    pd.testing.assert_frame_equal(survival.kaplan_meier().at_risk_table(), ref.at_risk_table())
    c = concordance_index(test.time, test.event.astype(bool), test.score, n_bootstraps=500, random_state=0)
    assert survival.concordance() == c
    survival.cutoff_method = "youden"
    assert survival.risk_groups().cutoff_[0] in set(train.score)  # a training score, fitted at the horizon
    assert survival.hazard_ratio().hr > 1  # high-risk group fails earlier on test
    assert set(survival.figures()) >= {"Kaplan-Meier", "Numbers at risk", "C-index", "Time-dependent AUC"}


@pytest.fixture
def calibration(predictions):
    from radlab.ui._calibration_page import CalibrationStore

    return CalibrationStore(predictions)


def test_calibration_per_centre_and_decision_curve(calibration, predictions):
    test = _avg(predictions, calibration.cohort, "all features", "external")
    ref = CalibrationCurve.from_predictions(test.label, test.score, n_bins=10, n_bootstraps=0)
    assert calibration.stats().brier.iloc[0] == pytest.approx(ref.stats.brier.iloc[0], rel=1e-12)
    assert calibration.stats().slope.iloc[0] == pytest.approx(ref.stats.slope.iloc[0], rel=1e-9)
    calibration.group_by = "centre"
    assert list(calibration.stats().group) == ["A", "B", "C"]
    b = _avg(predictions, calibration.cohort, "size only", "external").loc[test.index]
    dc = DecisionCurve.from_predictions(test.label, {"all features": test.score.to_numpy(), "size only": b.score.to_numpy()})
    got = calibration.decision().table.set_index(["model", "threshold"]).net_benefit
    want = dc.table.set_index(["model", "threshold"]).net_benefit
    pd.testing.assert_series_equal(got.sort_index(), want.sort_index(), rtol=1e-12)
    calibration.curve = "clinical_impact"
    assert isinstance(calibration.decision_plot(), hv.Overlay)


def test_calibration_refuses_scores_that_are_not_probabilities(predictions):
    from radlab.ui._calibration_page import CalibrationStore

    with pytest.raises(ValueError, match="probabilities"):
        CalibrationStore(predictions.assign(score=predictions.score * 10))


def test_harmonisation_counts_batch_affected_features(batch_features):
    from radlab.harmonize import BatchEffect
    from radlab.ui._harmonize_page import HarmonisationStore

    X, batch = batch_features
    store = HarmonisationStore(X, batch)
    summary = store.summary().set_index("name")
    assert summary.loc["before", "n_significant"] == BatchEffect.from_features(X, batch.to_numpy()).n_significant == 3
    assert summary.loc["after", "n_significant"] == 0
    assert store.feature in {"f0", "f1", "f2"}  # opens on the most batch-dependent feature
    store.feature = "f4"
    layout = store.distribution_plot()
    np.testing.assert_array_equal(layout.BoxWhisker.Before.data.value if hasattr(layout.BoxWhisker, "Before")
                                  else layout[0].data.value, X["f4"].to_numpy())


def test_saliency_store_maps_and_checks(saliency_inputs):
    from radlab.explain._saliency import saliency
    from radlab.explain._sanity import MaskShare
    from radlab.ui._saliency_page import SaliencyStore

    s = SaliencyStore(**saliency_inputs, pseudonymiser=Pseudonymiser("x"))
    assert s.case == "S001" and s.slice in (2, 3)  # opens on the slice with most mask
    assert list(s.param.case.names) == Pseudonymiser("x").map(["S001", "S002", "S003", "S004"])
    s.case, s.method = "S002", "integrated_gradients"
    ref = saliency(saliency_inputs["model"], saliency_inputs["images"].sel(case="S002"), method="integrated_gradients",
                   n_steps=32)
    np.testing.assert_allclose(s.saliency_map().values, ref.values, rtol=1e-5, atol=1e-7)
    share = MaskShare.from_saliency(ref, saliency_inputs["masks"].sel(case="S002")).shares
    pd.testing.assert_frame_equal(s.mask_share().shares, share)
    assert isinstance(s.overlay(), hv.Overlay)
    s.method, s.window = "occlusion", 4
    assert s.options() == {"window": (4, 4, 4), "stride": (2, 2, 2)}


def test_shap_page_reads_the_explanation_and_hides_case_ids(shap_inputs):
    from radlab.ui._shap_page import ShapStore

    store = ShapStore.from_pipeline(shap_inputs["pipeline"], shap_inputs["X"], pseudonymiser=Pseudonymiser("x"))
    e = store.explanation
    assert e.explainer == "linear"  # chosen automatically for scaler + logistic regression
    # additivity: SHAP values + base value = the pipeline's log-odds (1e-8)
    np.testing.assert_allclose(e.model_output(), shap_inputs["pipeline"].decision_function(shap_inputs["X"]), atol=1e-8)
    case = str(e.values.index[3])
    store.case, store.top = case, 4
    frame = store.case_explanation()
    assert list(frame.feature[:4]) == list(e.values.loc[e.values.index[3]].abs().sort_values(ascending=False).index[:4])
    assert store.importance().index[0] == e.values.abs().mean().idxmax() == store.feature
    title = store.case_plot().opts.get("plot").kwargs["title"]
    assert case not in title and store.labels[case] in title


def test_pseudonyms_are_stable_salted_and_optional():
    p, q = Pseudonymiser("a"), Pseudonymiser("b")
    assert p("A0001") == p("A0001") != q("A0001")
    assert p("A0001").startswith("P-") and "A0001" not in p("A0001")
    assert Pseudonymiser(enabled=False)("A0001") == "A0001"


def test_serve_refuses_other_addresses_without_authentication(catalog):
    from radlab.ui import serve

    with pytest.raises(PermissionError, match="without authentication"):
        serve(catalog=catalog.path, address="0.0.0.0", threaded=True)


def test_view_falls_back_to_the_builtin_viewer(catalog):
    import radlab
    from radlab.ui import ImageViewer

    cohort = catalog["demo"]
    viewer = radlab.view(cohort.case(cohort.ids[0]))  # itkwidgets is not installed here
    assert isinstance(viewer, ImageViewer) and viewer.image_var == "T2w_pre" and viewer.mask_var == "tumour_pre"
    assert isinstance(radlab.view((cohort, cohort.ids[1]), backend="builtin"), ImageViewer)
    with pytest.raises(ImportError, match="itkwidgets"):
        radlab.view(cohort.case(cohort.ids[0]), backend="itkwidgets")


def test_export_html_is_standalone(roc, tmp_path):
    from radlab.ui._export import export_html

    path = export_html(roc.figures(), tmp_path / "roc.html", title="ROC")
    html = path.read_text()
    assert "Metrics at threshold" in html and "sensitivity" in html
    assert not re.search(r'<(script|link)[^>]*(src|href)="https?://', html)  # JS inlined, no CDN links


@pytest.mark.ui
def test_export_png_and_svg(roc, tmp_path):
    from radlab.ui._export import export_figure

    png = export_figure(roc.curves(), tmp_path / "roc.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    svg = export_figure(roc.curves(), tmp_path / "roc.svg").read_text()
    assert svg.startswith("<svg") and "<path" in svg


def test_cli_export_html(catalog, tmp_path, capsys, monkeypatch):
    from radlab.cli import main

    out = tmp_path / "survival.html"
    assert main(["--catalog", str(catalog.path), "export-html", "survival", "--out", str(out)]) == 0
    assert "Kaplan-Meier" in out.read_text() and "Kaplan-Meier" in capsys.readouterr().out


def test_cli_page_names_match_the_served_pages():
    from radlab.cli_ui import PAGE_NAMES
    from radlab.ui._serve import PAGES, TITLES

    assert PAGE_NAMES == tuple(TITLES) == tuple(PAGES)


def _rendered(page):
    """The page rendered into a Bokeh document: (root model, {model id: model})."""
    import panel as pn
    from bokeh.document import Document

    root = pn.panel(page).get_root(Document())
    return root, _models(root)


def _models(root) -> dict:
    """The document's models but style sheets (Panel re-issues those on every update)."""
    from bokeh.models import ImportedStyleSheet

    return {m.id: m for m in root.references() if not isinstance(m, ImportedStyleSheet)}


def _texts(models) -> str:
    return " ".join(str(getattr(m, "text", "")) for m in models.values())


def _lines(models) -> list:
    from bokeh.models import ColumnDataSource

    return [np.asarray(m.data[k]).copy() for m in models.values() if isinstance(m, ColumnDataSource)
            for k in sorted(m.data) if k in ("x", "y")]


def test_survival_cutoff_move_updates_the_rendered_page_in_place(survival, predictions):
    from radlab.evaluation import CoxTable
    from radlab.ui._survival_page import SurvivalPage

    survival.cutoff_method = "percentile"
    root, before = _rendered(SurvivalPage(survival))
    lines = _lines(before)
    survival.percentile = 40.0
    after = _models(root)
    assert set(before) <= set(after)  # no model replaced: text, plot and table updated in place
    assert any(a.shape != b.shape or not np.array_equal(a, b) for a, b in zip(lines, _lines(after)))
    test = _avg(predictions, "gbsg2", "clinical", "external")
    high = (test.score >= np.percentile(_avg(predictions, "gbsg2", "clinical", "test").score, 40)).astype(float)
    ref = CoxTable.from_survival(pd.DataFrame({"t": test.time, "e": test.event, "high": high.to_numpy()}), "t", "e",
                                 ph_test=False).table.iloc[0]  # lifelines
    assert survival.hazard_ratio().hr == pytest.approx(ref.hr, rel=1e-4)  # lifelines stops at ~1e-5 on coef
    assert f"HR high vs low {ref.hr:.2f} (95% CI {ref.hr_lower:.2f}–{ref.hr_upper:.2f})" in _texts(after)


def test_roc_split_switch_updates_the_rendered_page_in_place(roc):
    from radlab.ui._roc_page import RocPage

    root, before = _rendered(RocPage(roc))
    roc.split = "test"
    after = _models(root)
    assert set(before) <= set(after)
    assert f"AUC {roc.roc().auc:.3f}" in _texts(after)
    assert f"{roc.roc().n_positive} positive" in _texts(after)


def test_warm_up_fills_the_shared_cache_for_every_selection(predictions, monkeypatch):
    """After the serve-time warm-up, a session visiting any selection of the prediction pages computes no
    bootstrap: every RocCurve, C-index, AUC(t) and calibration curve comes from the shared cache."""
    from radlab.ui import PageInputs
    from radlab.ui import _store
    from radlab.ui._calibration_page import CalibrationStore
    from radlab.ui._pages import warm
    from radlab.ui._roc_page import RocStore
    from radlab.ui._survival_page import SurvivalStore

    table = predictions.copy()  # a table no other test has warmed
    inputs = PageInputs(predictions=table)
    assert warm(inputs, ["roc", "survival", "calibration"]) >= 6
    import radlab.ui._calibration_page as cal_page
    import radlab.ui._roc_page as roc_page
    import radlab.ui._survival_page as surv_page

    def no_compute(*args, **kwargs):
        raise AssertionError("computed again after the warm-up")
    monkeypatch.setattr(roc_page.RocCurve, "from_predictions", no_compute)
    monkeypatch.setattr(surv_page, "concordance_index", no_compute)
    monkeypatch.setattr(surv_page.TimeDependentAuc, "from_survival", no_compute)
    monkeypatch.setattr(cal_page.CalibrationCurve, "from_predictions", no_compute)
    roc, surv, cal = RocStore(table), SurvivalStore(table), CalibrationStore(inputs.probabilities)
    for store in (roc, surv, cal):
        for cohort in store.param.cohort.objects:
            store.cohort = cohort
            for model in store.param.model.objects:
                for split in store.param.split.objects:
                    store.param.update(model=model, split=split)
                    store.figures()
    assert any(key[0] == "RocStore" for key in _store._SHARED[(id(table), "label")][-1])


def test_calibration_split_switch_updates_the_rendered_page_in_place(calibration):
    from radlab.ui._calibration_page import CalibrationPage

    root, before = _rendered(CalibrationPage(calibration)._calibration())  # curve, statistics, warnings
    brier_before = calibration.stats().brier.iloc[0]
    calibration.split = "test"
    after = _models(root)
    assert set(before) <= set(after)  # no model replaced
    brier = calibration.stats().brier.iloc[0]
    assert brier != brier_before
    assert any(f"{brier:.3f}".rstrip("0") in str(m.properties_with_values(include_defaults=False).get("text", ""))
               for m in after.values())  # the statistics table shows the new split's Brier score


def test_cli_export_html_reads_a_predictions_file(catalog, predictions, tmp_path, capsys):
    from radlab.cli import main

    mine = predictions[predictions.cohort == "breast-cancer-wisconsin"]
    mine = mine.assign(cohort="my study", score=1 - mine.score)  # reversed scores: AUC 1 - the catalog's
    mine.to_csv(tmp_path / "mine.csv", index=False)
    out = tmp_path / "roc.html"
    argv = ["--catalog", str(catalog.path), "export-html", "roc", "--predictions", str(tmp_path / "mine.csv"),
            "--out", str(out)]
    assert main(argv) == 0 and out.stat().st_size > 0
    from radlab.cli import _parser
    from radlab.cli_ui import _inputs
    from radlab.ui._export import page_figures

    figures = page_figures("roc", _inputs(_parser().parse_args(argv)))  # what export-html drew
    test = _avg(mine, "my study", "all features", "external")
    ref = RocCurve.from_predictions(test.label, test.score, n_bootstraps=0)
    assert ref.auc < 0.5 and figures["AUC"].auc.iloc[0] == pytest.approx(ref.auc, abs=1e-12)  # the file's scores


def test_cli_pseudonyms_take_the_salt_from_the_environment(catalog, monkeypatch):
    import argparse

    from radlab.cli_ui import _inputs

    args = argparse.Namespace(catalog=str(catalog.path), show_case_ids=False, predictions=None)
    monkeypatch.setenv("RADLAB_PSEUDONYM_SALT", "site-salt")
    first, second = _inputs(args).pseudonymiser, _inputs(args).pseudonymiser
    assert first("A0001") == second("A0001") == Pseudonymiser(salt="site-salt")("A0001")  # stable across restarts
    monkeypatch.delenv("RADLAB_PSEUDONYM_SALT")
    assert _inputs(args).pseudonymiser("A0001") != first("A0001")  # random salt otherwise
