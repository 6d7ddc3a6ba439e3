# Saliency maps and their sanity checks (issue 6). These modules import torch only inside functions and
# holoviews only inside .plot(), so importing radlab.explain stays light.
from radlab.explain._saliency import METHODS as SALIENCY_METHODS
from radlab.explain._saliency import saliency
from radlab.explain._sanity import BrightnessBias, DeletionInsertion, MaskShare, RandomizationCheck, localization_report

__all__ = [*globals().get("__all__", []), "SALIENCY_METHODS", "saliency", "BrightnessBias", "DeletionInsertion",
           "MaskShare", "RandomizationCheck", "localization_report"]
