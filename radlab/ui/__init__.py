"""Panel dashboards over radlab objects (imports panel: the UI layer only)."""

from radlab.ui._cohort_page import CohortPage, acquisition_by_batch, case_table, cohort_table_one
from radlab.ui._inputs import (PREDICTION_COLUMNS, Pseudonymiser, average_predictions, example_predictions,
                              read_predictions)
from radlab.ui._serve import PAGES, PageInputs, build_page, serve
from radlab.ui._viewer import ImageViewer, default_window

__all__ = ["CohortPage", "cohort_table_one", "ImageViewer", "PAGES", "PREDICTION_COLUMNS", "PageInputs", "Pseudonymiser",
           "acquisition_by_batch", "average_predictions", "build_page", "case_table", "default_window",
           "example_predictions", "read_predictions", "serve"]
