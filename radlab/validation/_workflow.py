"""The whole tabular flow: features -> ComBat inside CV -> selection -> model -> out-of-fold and external predictions."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from radlab.models._target import survival_target

from ._schemes import RepeatedStratifiedGroupKFold, cross_validate_predictions, predictions_frame, score_cases

__all__ = ["WorkflowResult", "make_pipeline", "run_workflow"]


def make_pipeline(*, batch: str | None = None, categorical=(), continuous=(), unseen: str = "fit",
                  variance: float | None = 0.0, correlation: float | None = 0.85, selector="univariate",
                  k: int = 10, model="logistic", random_state=0):
    """A scikit-learn Pipeline: [ComBat] -> variance filter -> z-score -> correlation filter -> selector -> model.

    ``batch``: batch column consumed by ComBat (with ``categorical``/``continuous`` covariate columns), None
    for no harmonisation. ``selector``: "univariate" (k best AUC / Cox), "lasso", "mrmr" (k), "stability",
    None, or any selector estimator. ``model``: a :func:`radlab.models.make_model` name or an estimator.
    The pipeline outputs pandas so every step keeps feature names.

    Examples
    --------
    >>> [name for name, _ in make_pipeline(batch="centre").steps]
    ['combat', 'variance', 'scale', 'correlation', 'select', 'model']
    """
    from sklearn.base import clone
    from sklearn.feature_selection import VarianceThreshold
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from radlab.harmonize import ComBat
    from radlab.models import make_model
    from radlab.select import MRMR, CorrelationFilter, LassoSelector, StabilitySelection, UnivariateFilter

    steps = []
    if batch is not None:
        steps.append(("combat", ComBat(batch, categorical=list(categorical) or None,
                                       continuous=list(continuous) or None, unseen=unseen)))
    if variance is not None:
        steps.append(("variance", VarianceThreshold(variance)))
    steps.append(("scale", StandardScaler()))
    if correlation is not None:
        steps.append(("correlation", CorrelationFilter(correlation)))
    choices = {"univariate": lambda: UnivariateFilter(k), "mrmr": lambda: MRMR(k),
               "lasso": lambda: LassoSelector(random_state=random_state),
               "stability": lambda: StabilitySelection(n_bootstraps=30, random_state=random_state)}
    if isinstance(selector, str):
        if selector not in choices:
            raise ValueError(f"The 'selector' parameter of make_pipeline must be one of {sorted(choices)}, None or "
                             f"an estimator. Got {selector!r} instead.")
        steps.append(("select", choices[selector]()))
    elif selector is not None:
        steps.append(("select", clone(selector)))
    steps.append(("model", make_model(model, random_state=random_state) if isinstance(model, str) else clone(model)))
    return Pipeline(steps).set_output(transform="pandas")


@dataclass
class WorkflowResult:
    """Output of :func:`run_workflow`.

    ``predictions``: the tidy table (out-of-fold ``split="test"`` on the training cohort, ``"external"`` for
    each external cohort); ``estimator``: the pipeline refitted on all training cases (use it for external
    cohorts and SHAP); ``selected``: per feature, the fraction of CV fits that kept it, and whether the final
    fit kept it; ``fold_estimators``: the fitted pipeline of every fold.
    """

    predictions: pd.DataFrame
    estimator: object
    selected: pd.DataFrame
    fold_estimators: list = field(repr=False, default_factory=list)


def _selected(pipe) -> list[str]:
    return list(pipe[:-1].get_feature_names_out()) if len(pipe.steps) > 1 else list(pipe.feature_names_in_)


def run_workflow(features: pd.DataFrame, clinical: pd.DataFrame, *, outcome, batch: str | None = None,
                 covariates=(), external=None, cv: int = 5, n_repeats: int = 1, groups: str | None = None,
                 cohort: str = "train", model_name: str | None = None, random_state=0, **pipeline) -> WorkflowResult:
    """Run the whole flow from a feature table and a clinical table indexed by case id.

    Parameters
    ----------
    features : DataFrame (case x feature)
    clinical : DataFrame indexed by case (outcome, batch, covariates, patient, centre columns)
    outcome : str or (str, str)
        Binary label column, or ``(time, event)`` columns for survival.
    batch : str, optional
        Clinical column of the batch (e.g. centre); ComBat is then fitted inside every training fold.
    covariates : sequence of str
        Clinical columns ComBat preserves (categorical if non-numeric, else continuous).
    external : str column + values, or dict
        ``{"column": "centre", "values": ["D"]}`` holds those cases out as external cohorts, one per
        value; or a dict name -> (features, clinical) of separate cohorts. External cases are scored by the
        pipeline refitted on all training cases.
    cv, n_repeats, groups
        Repeated stratified k-fold on the training cases, grouped by the clinical column ``groups``
        (e.g. patient id) when given.
    **pipeline
        Passed to :func:`make_pipeline` (``selector``, ``k``, ``model``, ``correlation``, ``variance``...).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> f = pd.DataFrame(rng.normal(size=(60, 6)), index=[f"c{i}" for i in range(60)]).add_prefix("f")
    >>> cl = pd.DataFrame({"y": (f.f0 > 0).astype(int), "centre": np.repeat(["A", "B", "C"], 20)}, index=f.index)
    >>> r = run_workflow(f, cl, outcome="y", batch="centre", external={"column": "centre", "values": ["C"]},
    ...                  cv=3, k=3)
    >>> r.predictions.groupby("split").size().to_dict()
    {'external': 20, 'test': 40}
    """
    if not features.index.isin(clinical.index).all():
        missing = features.index[~features.index.isin(clinical.index)]
        raise ValueError(f"The clinical table lacks {len(missing)} case(s) of the feature table, e.g. "
                         f"{list(missing[:3])}.")
    clinical = clinical.reindex(features.index)
    meta = ([batch] if batch else []) + list(covariates)
    X = features.join(clinical[meta]) if meta else features.copy()

    def target(cl):
        if isinstance(outcome, str):
            return cl[outcome].to_numpy()
        return survival_target(cl[outcome[0]], cl[outcome[1]])

    cats = [c for c in covariates if not pd.api.types.is_numeric_dtype(clinical[c])]
    cons = [c for c in covariates if c not in cats]
    pipe = make_pipeline(batch=batch, categorical=cats, continuous=cons, random_state=random_state, **pipeline)
    name = model_name or str(pipeline.get("model", "logistic"))

    externals = {}
    train = np.ones(len(X), bool)
    if isinstance(external, dict) and "column" in external:
        col = clinical[external["column"]]
        for value in external["values"]:
            rows = (col == value).to_numpy()
            externals[str(value)] = (X[rows], target(clinical[rows]))
            train &= ~rows
    elif isinstance(external, dict):
        for key, (f_ext, cl_ext) in external.items():
            cl_ext = cl_ext.reindex(f_ext.index)
            externals[str(key)] = (f_ext.join(cl_ext[meta]) if meta else f_ext, target(cl_ext))
    Xtr, ytr = X[train], target(clinical[train])
    g = clinical.loc[train, groups].to_numpy() if groups else None
    splitter = RepeatedStratifiedGroupKFold(cv, n_repeats, random_state)
    table, fitted = cross_validate_predictions(pipe, Xtr, ytr, cv=splitter, groups=g, cohort=cohort, model=name,
                                               return_estimators=True)
    final = pipe.fit(Xtr, ytr)
    rows = [table] + [predictions_frame(Xe.index, score_cases(final, Xe), cohort=key, split="external", model=name,
                                        y=ye) for key, (Xe, ye) in externals.items()]
    counts = pd.Series([f for est in fitted for f in _selected(est)]).value_counts()
    selected = pd.DataFrame({"frequency": counts.reindex(features.columns, fill_value=0) / len(fitted)})
    selected["final"] = selected.index.isin(_selected(final))
    selected = selected.sort_values("frequency", ascending=False)
    return WorkflowResult(pd.concat(rows, ignore_index=True), final, selected, fitted)
