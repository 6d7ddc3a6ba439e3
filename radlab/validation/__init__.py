"""Validation without leakage: CV schemes, external cohorts, nested CV, the predictions table, saved models.

Every scheme writes the tidy predictions table (``PREDICTION_COLUMNS``) that metrics and dashboards read.
"""

from ._persist import SavedModel, load_model, save_model
from ._schemes import (
    PREDICTION_COLUMNS,
    LeaveOneCentreOut,
    RepeatedStratifiedGroupKFold,
    cross_validate_predictions,
    external_validation,
    leave_one_centre_out,
    nested_cv,
    predictions_frame,
    score_cases,
)
from ._workflow import WorkflowResult, make_pipeline, run_workflow

__all__ = [
    "PREDICTION_COLUMNS", "LeaveOneCentreOut", "RepeatedStratifiedGroupKFold", "SavedModel", "WorkflowResult",
    "cross_validate_predictions", "external_validation", "leave_one_centre_out", "load_model", "make_pipeline",
    "nested_cv", "predictions_frame", "run_workflow", "save_model", "score_cases",
]
