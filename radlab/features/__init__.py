"""Radiomic features of cohorts: pyradiomics (or MIRP) on dask.distributed, cached and resumable,
with robustness screening (perturbation ICC, stability selection, correlation with volume)."""

from radlab.features._extract import default_cache, errors, extract
from radlab.features._params import PRESETS, load_params, param_hash

__all__ = ["PRESETS", "default_cache", "errors", "extract", "load_params", "param_hash"]
