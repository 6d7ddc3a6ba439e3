"""Builders: page name -> (PageInputs -> fresh page). One store per call, so every session has its own state."""

from __future__ import annotations

__all__ = ["BUILDERS"]


def cohort(inputs):
    from radlab.ui._cohort_page import CohortPage

    return CohortPage(inputs.catalog, pseudonymiser=inputs.pseudonymiser)


def roc(inputs):
    from radlab.ui._roc_page import RocPage, RocStore

    return RocPage(RocStore(inputs.predictions))


def survival(inputs):
    from radlab.ui._survival_page import SurvivalPage, SurvivalStore

    return SurvivalPage(SurvivalStore(inputs.predictions))


def calibration(inputs):
    from radlab.ui._calibration_page import CalibrationPage, CalibrationStore

    return CalibrationPage(CalibrationStore(inputs.probabilities))


def _shap_store(inputs):
    from radlab.ui._shap_page import ShapStore

    from radlab.explain import explain

    # SHAP values are the slow part: compute them once per server, keep one store per session
    if "explanation" not in inputs.shap:
        inputs.shap["explanation"] = explain(inputs.shap["pipeline"], inputs.shap["X"])
    return ShapStore(inputs.shap["explanation"], pseudonymiser=inputs.pseudonymiser)


def shap(inputs):
    from radlab.ui._shap_page import ShapPage

    return ShapPage(_shap_store(inputs))


def harmonisation(inputs):
    from radlab.ui._harmonize_page import HarmonisationPage, HarmonisationStore

    h = inputs.harmonisation
    if "after" not in h:  # fit ComBat once per server
        h["after"] = HarmonisationStore(h["features"], h["batch"]).after
        h["fitted_here"] = True
    store = HarmonisationStore(h["features"], h["batch"], after=h["after"])
    store.fitted_here = h.get("fitted_here", False)
    return HarmonisationPage(store)


def saliency(inputs):
    from radlab.ui._saliency_page import SaliencyPage, SaliencyStore

    s = inputs.saliency
    return SaliencyPage(SaliencyStore(s["model"], s["images"], s.get("masks"), pseudonymiser=inputs.pseudonymiser))


def _prediction_stores(inputs, names):
    """A store over the server's table for each prediction page among ``names``."""
    from radlab.ui._calibration_page import CalibrationStore
    from radlab.ui._roc_page import RocStore
    from radlab.ui._survival_page import SurvivalStore

    for name, make in (("roc", lambda: RocStore(inputs.predictions)),
                       ("survival", lambda: SurvivalStore(inputs.predictions)),
                       ("calibration", lambda: CalibrationStore(inputs.probabilities))):
        if name in names:
            try:
                yield make()
            except ValueError:  # e.g. no labelled or no survival rows in this table: the page will say so
                continue


def warm(inputs, names) -> int:
    """Compute what every selection (cohort x model x split) of the prediction pages shows, at the pages'
    default settings, into the results cache that sessions share; returns the selections computed.

    ``radlab serve`` runs this in a background thread at start, so a session's first visit of a selection
    finds its bootstraps done. A selection that fails here is left for the page to report.
    """
    done = 0
    for store in _prediction_stores(inputs, names):
        for cohort in list(store.param.cohort.objects):
            store.cohort = cohort
            for model in list(store.param.model.objects):
                for split in list(store.param.split.objects):
                    try:
                        store.param.update(model=model, split=split)
                        store.figures()
                        done += 1
                    except Exception:  # noqa: BLE001  (the page shows the error when the selection is visited)
                        continue
    return done


BUILDERS = {"cohort": cohort, "roc": roc, "survival": survival, "calibration": calibration, "saliency": saliency,
            "harmonisation": harmonisation, "shap": shap}
