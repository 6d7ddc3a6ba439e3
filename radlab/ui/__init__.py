"""Panel dashboards over radlab objects (imports panel: the UI layer only)."""

from radlab.ui._cohort_page import CohortPage, case_table
from radlab.ui._serve import PAGES, serve
from radlab.ui._viewer import ImageViewer, default_window

__all__ = ["CohortPage", "ImageViewer", "PAGES", "case_table", "default_window", "serve"]
