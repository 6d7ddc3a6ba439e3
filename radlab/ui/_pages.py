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

    p = inputs.predictions
    # calibration needs probabilities: leave out risk scores (e.g. Cox linear predictors) and unlabelled rows
    probability = p.groupby("model").score.transform(lambda s: bool(s.between(0, 1).all())).astype(bool)
    return CalibrationPage(CalibrationStore(p[probability & p.label.notna()]))


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


BUILDERS = {"cohort": cohort, "roc": roc, "survival": survival, "calibration": calibration, "saliency": saliency,
            "harmonisation": harmonisation, "shap": shap}
