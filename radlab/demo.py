"""The whole radiomics flow on the demo cohort, as the dashboards, notebooks and ``make demo`` use it.

features (pyradiomics on Dask, cached) -> ComBat inside CV -> selection -> models -> out-of-fold predictions on
centres A-C and external predictions on centre D, for pCR (radiomics logistic regression and random forest, a
clinical baseline) and overall survival (radiomics Cox). Results are saved under the cohort's
``results/`` folder and reloaded on the next call.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["DemoResults", "PRE_TREATMENT_PAIRS", "prepare_demo", "signal_recovery"]

FLOW_VERSION = 3  # bump when the flow's output changes, so saved results are recomputed
PRE_TREATMENT_PAIRS = [("T2w_pre", "tumour_pre"), ("ADC_pre", "tumour_pre")]
CLINICAL = ["age", "t_stage", "n_stage", "cea"]
EXTERNAL = {"column": "centre", "values": ["D"]}
# name -> (outcome, feature set, run_workflow options)
MODELS = {
    "radiomics-logistic": ("pcr", "radiomics", {"batch": "centre", "model": "logistic", "k": 10}),
    "radiomics-rf": ("pcr", "radiomics", {"batch": "centre", "model": "random_forest", "k": 10}),
    "clinical-logistic": ("pcr", "clinical", {"model": "logistic", "selector": None, "correlation": None}),
    "radiomics-cox": (("os_months", "os_event"), "radiomics", {"batch": "centre", "model": "coxnet", "k": 10}),
}


@dataclass
class DemoResults:
    """``features`` (case x feature), ``predictions`` (the tidy table, every model), ``pipelines`` (model ->
    pipeline refitted on the training centres), ``selected`` (model -> selection frequencies), ``batch_effect``
    (features differing by centre before/after ComBat on the training centres), ``signal`` (per selected
    radiomics feature: its |Spearman| with the generator's latent aggressiveness after harmonisation)."""

    features: pd.DataFrame
    predictions: pd.DataFrame
    pipelines: dict
    selected: dict
    batch_effect: pd.DataFrame
    signal: pd.DataFrame


def signal_recovery(harmonised: pd.DataFrame, latent: pd.Series, selected) -> pd.DataFrame:
    """|Spearman rho| of each selected feature with the latent variable, and its percentile among all features.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> z = pd.Series(rng.normal(size=50))
    >>> X = pd.DataFrame({"signal": z + rng.normal(0, 0.1, 50), "noise": rng.normal(size=50)})
    >>> signal_recovery(X, z, ["signal"]).round(2).to_dict("records")
    [{'feature': 'signal', 'abs_rho': 0.99, 'percentile': 1.0}]
    """
    from scipy.stats import spearmanr

    latent = latent.loc[harmonised.index].to_numpy()
    rho = harmonised.apply(lambda col: abs(spearmanr(col, latent)[0])).fillna(0.0)
    pct = rho.rank(pct=True)
    selected = list(selected)
    return pd.DataFrame({"feature": selected, "abs_rho": rho[selected].to_numpy(), "percentile": pct[selected].to_numpy()})


def _paths(root: Path) -> dict[str, Path]:
    folder = root / "results"
    return {"folder": folder, "features": folder / "features.parquet", "predictions": folder / "predictions.parquet",
            "pipelines": folder / "pipelines.joblib", "summary": folder / "summary.json"}


def prepare_demo(cohort="demo", *, catalog=None, scheduler=None, cv: int = 5, n_repeats: int = 1,
                 refresh: bool = False, progress: bool = True) -> DemoResults:
    """Run (or reload) the demo flow on ``cohort`` (a name in the catalog, or a Cohort).

    ``scheduler`` goes to :func:`radlab.features.extract` (default: a LocalCluster). ``refresh`` reruns
    the models even when saved results exist (features always come from the per-case cache).
    """
    import joblib

    from radlab.catalog import open_cohort
    from radlab.features import extract
    from radlab.harmonize import ComBat, compare_batch_effects
    from radlab.validation import run_workflow

    cohort = open_cohort(cohort, catalog) if isinstance(cohort, str) else cohort
    paths = _paths(cohort.root)
    settings = {"flow": FLOW_VERSION, "cv": cv, "n_repeats": n_repeats, "models": sorted(MODELS), "cases": len(cohort)}
    if not refresh and paths["summary"].exists() and json.loads(paths["summary"].read_text()).get("settings") == settings:
        summary = json.loads(paths["summary"].read_text())
        saved = joblib.load(paths["pipelines"])
        return DemoResults(pd.read_parquet(paths["features"]), pd.read_parquet(paths["predictions"]), saved["pipelines"],
                           saved["selected"], pd.DataFrame(summary["batch_effect"]), pd.DataFrame(summary["signal"]))

    features = extract(cohort, "demo", scheduler=scheduler, pairs=PRE_TREATMENT_PAIRS, progress=progress)
    clinical = cohort.clinical.loc[features.index]
    training = clinical[~clinical["centre"].isin(EXTERNAL["values"])]
    cv = min(cv, int(training["pcr"].value_counts().min()))  # every fold needs both classes
    tables, pipelines, selected = [], {}, {}
    for name, (outcome, inputs, options) in MODELS.items():
        X = features if inputs == "radiomics" else clinical[CLINICAL].astype(float)
        result = run_workflow(X, clinical, outcome=outcome, external=EXTERNAL, cv=cv, n_repeats=n_repeats,
                              cohort="demo", model_name=name, **options)
        tables.append(result.predictions)
        pipelines[name], selected[name] = result.estimator, result.selected
    predictions = pd.concat(tables, ignore_index=True)
    predictions["cohort"] = cohort.name  # external rows are told apart by split (and their centre)

    train = clinical.index[~clinical["centre"].isin(EXTERNAL["values"])]
    X = features.loc[train].join(clinical.loc[train, ["centre"]])
    harmonised = pd.DataFrame(np.asarray(ComBat("centre").fit(X).transform(X)), index=train, columns=features.columns)
    batch_effect = compare_batch_effects(features.loc[train], harmonised, clinical.loc[train, "centre"])
    latent = pd.Series({case: v["z"] for case, v in cohort.ground_truth.get("cases", {}).items()}, dtype=float)
    chosen = selected["radiomics-logistic"]
    signal = (signal_recovery(harmonised, latent, chosen.index[chosen["final"]]) if len(latent)
              else pd.DataFrame(columns=["feature", "abs_rho", "percentile"]))

    paths["folder"].mkdir(parents=True, exist_ok=True)
    features.to_parquet(paths["features"])
    predictions.to_parquet(paths["predictions"])
    joblib.dump({"pipelines": pipelines, "selected": selected}, paths["pipelines"])
    paths["summary"].write_text(json.dumps({"settings": settings, "batch_effect": batch_effect.to_dict("records"),
                                            "signal": signal.to_dict("records")}, indent=1, default=float))
    return DemoResults(features, predictions, pipelines, selected, batch_effect, signal)

