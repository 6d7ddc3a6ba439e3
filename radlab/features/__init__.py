"""Radiomic features of cohorts: pyradiomics (or MIRP) on dask.distributed, cached and resumable,
with robustness screening (perturbation ICC, stability selection, correlation with volume)."""

from radlab.features._controls import (CONTROLS, NegativeControls, negative_control, negative_controls,
                                       run_negative_controls)
from radlab.features._extract import default_cache, errors, extract, local_cluster
from radlab.features._ibsi import ibsi_report, match_rates
from radlab.features._params import PRESETS, load_params, param_hash
from radlab.features._robustness import (StabilitySelector, icc, perturb_case, perturbations, robustness,
                                         volume_correlation)

__all__ = ["CONTROLS", "NegativeControls", "PRESETS", "StabilitySelector", "default_cache", "errors", "extract",
           "ibsi_report", "icc", "load_params", "local_cluster", "match_rates", "negative_control", "negative_controls",
           "param_hash", "perturb_case", "perturbations", "robustness", "run_negative_controls", "volume_correlation"]
