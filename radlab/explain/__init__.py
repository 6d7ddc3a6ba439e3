"""Explanation: SHAP for tabular pipelines (and saliency for CNNs).

Heavy dependencies (shap, torch) are imported inside the functions that need them.
"""

from ._shap import ShapDependence, ShapExplanation, ShapSummary, ShapWaterfall, explain

__all__ = ["ShapDependence", "ShapExplanation", "ShapSummary", "ShapWaterfall", "explain"]
