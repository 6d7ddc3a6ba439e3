"""Explanation: SHAP for tabular pipelines, saliency maps for CNNs and the sanity checks saliency needs.

Heavy dependencies (shap, torch, holoviews) are imported inside the functions that need them, so
importing radlab.explain stays light.
"""

from radlab.explain._saliency import METHODS as SALIENCY_METHODS
from radlab.explain._saliency import saliency
from radlab.explain._sanity import BrightnessBias, DeletionInsertion, MaskShare, RandomizationCheck, localization_report
from radlab.explain._shap import ShapDependence, ShapExplanation, ShapSummary, ShapWaterfall, explain

__all__ = ["SALIENCY_METHODS", "BrightnessBias", "DeletionInsertion", "MaskShare", "RandomizationCheck",
           "ShapDependence", "ShapExplanation", "ShapSummary", "ShapWaterfall", "explain", "localization_report",
           "saliency"]
