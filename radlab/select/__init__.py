"""Feature selection as scikit-learn transformers, for binary labels or survival outcomes.

Survival outcomes are scikit-survival structured arrays (``radlab.models.survival_target``).
``VarianceThreshold``, ``RFE`` and ``RFECV`` are scikit-learn's, re-exported here.
"""

from sklearn.feature_selection import RFE, RFECV, VarianceThreshold

from ._selectors import (
    MRMR,
    CorrelationFilter,
    ICCFilter,
    LassoSelector,
    StabilitySelection,
    UnivariateFilter,
    volume_proxies,
)
from ._univariate import univariate_auc, univariate_cox, univariate_scores

__all__ = [
    "MRMR", "RFE", "RFECV", "CorrelationFilter", "ICCFilter", "LassoSelector", "StabilitySelection",
    "UnivariateFilter", "VarianceThreshold", "univariate_auc", "univariate_cox", "univariate_scores",
    "volume_proxies",
]
