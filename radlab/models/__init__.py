"""Models: factory, penalised Cox PH, prognostic-index stacking, nomograms and Table 1."""

from ._factory import MODELS, CoxPH, make_model
from ._nomogram import Nomogram
from ._stacking import PrognosticIndexStack
from ._table1 import table_one
from ._target import is_survival, split_survival, survival_target

__all__ = ["MODELS", "CoxPH", "Nomogram", "PrognosticIndexStack", "is_survival", "make_model", "split_survival",
           "survival_target", "table_one"]
