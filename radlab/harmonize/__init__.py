"""Harmonisation: ComBat (EB, M-ComBat, B-ComBat) as a scikit-learn transformer, and batch-effect diagnostics."""

from ._combat import ComBat
from ._diagnostics import BatchEffect, compare_batch_effects

__all__ = ["BatchEffect", "ComBat", "compare_batch_effects"]
