"""Harmonisation: ComBat (EB, M-ComBat, B-ComBat) as a scikit-learn transformer, and batch-effect diagnostics."""

from ._combat import ComBat, NoBatchWarning
from ._diagnostics import BatchEffect, compare_batch_effects

__all__ = ["BatchEffect", "ComBat", "NoBatchWarning", "compare_batch_effects"]
