"""A fitted pipeline saved with its provenance, and re-applied to a new feature table or cohort."""

from __future__ import annotations

import datetime as _dt
import platform
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["SavedModel", "load_model", "save_model"]


def _versions() -> dict:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("radlab", "scikit-learn", "scikit-survival", "numpy", "pandas", "scipy", "lifelines"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = None
    return out


@dataclass
class SavedModel:
    """A fitted estimator with its provenance (features, parameters, versions, training cohort, date)."""

    estimator: object
    provenance: dict

    def _features(self, features: pd.DataFrame) -> pd.DataFrame:
        needed = self.provenance["features"]
        missing = [f for f in needed if f not in features]
        if missing:
            raise ValueError(f"The feature table lacks {len(missing)} input column(s) the model was trained on: "
                             f"{missing[:5]}{' ...' if len(missing) > 5 else ''}.")
        return features[needed]

    def predict(self, features: pd.DataFrame) -> pd.Series:
        """Scores (P(positive) or risk) for each case of a feature table, columns matched by name."""
        from ._schemes import score_cases

        X = self._features(features)
        return pd.Series(score_cases(self.estimator, X), index=features.index, name="score")

    def predictions(self, features: pd.DataFrame, *, cohort: str, y=None, split: str = "external") -> pd.DataFrame:
        """Predictions table rows for a new cohort's feature table (``y``: labels or survival array)."""
        from ._schemes import predictions_frame

        return predictions_frame(features.index, self.predict(features), cohort=cohort, split=split,
                                 model=self.provenance["model"], y=y)

    def apply_to_cohort(self, cohort) -> pd.DataFrame:
        """Score a cohort (a radlab Cohort or its catalog name) from its ``features`` and ``clinical`` tables.

        Batch / covariate columns the pipeline needs (e.g. the ComBat batch column) are taken from the
        clinical table; outcomes from ``cohort.outcomes`` ("label" or "time"/"event") when present.
        """
        from radlab.models._target import survival_target

        if isinstance(cohort, str):
            import radlab

            cohort = radlab.open_cohort(cohort)
        table = cohort.features
        clinical = getattr(cohort, "clinical", None)
        if clinical is not None:
            extra = [c for c in self.provenance["features"] if c not in table and c in clinical]
            table = table.join(clinical[extra]) if extra else table
        outcomes, y = getattr(cohort, "outcomes", {}) or {}, None
        if clinical is not None and "time" in outcomes and "event" in outcomes:
            sub = clinical.reindex(table.index)
            if sub[[outcomes["time"], outcomes["event"]]].notna().all().all():
                y = survival_target(sub[outcomes["time"]], sub[outcomes["event"]])
        elif clinical is not None and "label" in outcomes:
            y = clinical.reindex(table.index)[outcomes["label"]].to_numpy(float)
        return self.predictions(table, cohort=getattr(cohort, "name", "external"), y=y)


def save_model(estimator, path, *, training_cohort: str, features=None, model: str | None = None,
               outcome: str | None = None, n_cases: int | None = None, notes: str = "") -> Path:
    """Save a fitted estimator with provenance via joblib; returns the path.

    ``features``: input column names (default ``estimator.feature_names_in_``).

    Examples
    --------
    >>> import tempfile, os
    >>> from sklearn.linear_model import LogisticRegression
    >>> X = pd.DataFrame({"a": [0.0, 1, 2, 3]}); m = LogisticRegression().fit(X, [0, 0, 1, 1])
    >>> p = save_model(m, os.path.join(tempfile.mkdtemp(), "m.joblib"), training_cohort="demo")
    >>> load_model(p).provenance["features"], load_model(p).provenance["training_cohort"]
    (['a'], 'demo')
    """
    import joblib
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator)
    if features is None:
        if not hasattr(estimator, "feature_names_in_"):
            raise ValueError("The 'features' parameter of save_model is required when the estimator was not "
                             "fitted on a DataFrame.")
        features = estimator.feature_names_in_
    params = {k: repr(v) for k, v in estimator.get_params(deep=True).items()}
    provenance = {
        "features": [str(f) for f in np.asarray(features)], "model": model or type(estimator).__name__,
        "estimator": repr(estimator), "params": params, "versions": _versions(), "training_cohort": training_cohort,
        "outcome": outcome, "n_cases": n_cases, "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "notes": notes,
    }
    path = Path(path)
    joblib.dump({"estimator": estimator, "provenance": provenance}, path)
    return path


def load_model(path) -> SavedModel:
    """Load a model saved by :func:`save_model` (only load files you trust: joblib runs pickled code)."""
    import joblib

    obj = joblib.load(Path(path))
    return SavedModel(obj["estimator"], obj["provenance"])
