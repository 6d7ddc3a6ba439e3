"""Evaluation: discrimination, calibration, clinical usefulness, survival and segmentation agreement.

Every statistic reports its uncertainty; result objects follow the Display pattern
(``from_predictions`` / ``from_survival``, ``.to_frame()``, ``.plot()`` -> HoloViews element).
"""

from ._delong import DeLongResult, delong_test, delong_test_unpaired
from ._roc import RocCurve, threshold_metrics, wilson_interval

__all__ = [
    "DeLongResult", "RocCurve", "delong_test", "delong_test_unpaired", "threshold_metrics", "wilson_interval",
]
from ._km import KaplanMeier, LogRankResult, logrank_test
from ._cox import CoxTable, cox_univariate

__all__ += ["CoxTable", "cox_univariate", "KaplanMeier", "LogRankResult", "logrank_test"]
from ._calibration import CalibrationCurve, hosmer_lemeshow, logistic_recalibration

__all__ += ["CalibrationCurve", "hosmer_lemeshow", "logistic_recalibration"]
from ._decision import DecisionCurve

__all__ += ["DecisionCurve"]
from ._concordance import ConcordanceComparison, ConcordanceResult, compare_concordance, concordance_index
from ._td_auc import TimeDependentAuc
from ._reclassification import (
    ReclassificationResult,
    integrated_discrimination_improvement,
    net_reclassification_improvement,
)
from ._risk_groups import RiskGroups

__all__ += [
    "ConcordanceComparison", "ConcordanceResult", "ReclassificationResult", "RiskGroups", "TimeDependentAuc",
    "compare_concordance", "concordance_index", "integrated_discrimination_improvement",
    "net_reclassification_improvement",
]
from ._segmentation import (
    average_surface_distance,
    dice,
    hausdorff_distance,
    jaccard,
    pairwise_agreement,
    segmentation_metrics,
    surface_dice,
)

__all__ += [
    "average_surface_distance", "dice", "hausdorff_distance", "jaccard", "pairwise_agreement",
    "segmentation_metrics", "surface_dice",
]
from ._agreement import BlandAltman, agreement_summary, reader_agreement, reader_volumes
from ._reliability import feature_reliability, reader_icc, stable_features

__all__ += [
    "BlandAltman", "agreement_summary", "feature_reliability", "reader_agreement", "reader_icc", "reader_volumes",
    "stable_features",
]
