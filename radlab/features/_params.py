"""Feature-extraction parameters: named presets, pyradiomics YAML files or dicts, and their hash."""

from __future__ import annotations

import copy
import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

__all__ = ["PRESETS", "load_params", "param_hash"]

PRESETS = ("ct", "mr", "demo")


def load_params(params: str | Path | dict | None) -> dict[str, Any]:
    """A pyradiomics parameter dict from a preset name, a YAML file or a dict (copied).

    Examples
    --------
    >>> p = load_params("demo")
    >>> p["setting"]["binCount"], sorted(p["imageType"])
    (32, ['Original'])
    """
    if params is None:
        params = "demo"
    if isinstance(params, dict):
        out = copy.deepcopy(params)
    elif isinstance(params, str) and params in PRESETS:
        text = resources.files("radlab.features").joinpath("presets", f"{params}.yaml").read_text()
        out = yaml.safe_load(text)
    elif isinstance(params, (str, Path)) and Path(params).is_file():
        out = yaml.safe_load(Path(params).read_text())
    else:
        raise ValueError(
            f"The 'params' parameter of extract must be a preset name {PRESETS}, an existing pyradiomics YAML "
            f"file or a dict. Got {params!r} instead.")
    if not isinstance(out, dict):
        raise ValueError(f"The 'params' parameter of extract must describe a mapping; {params!r} gives {type(out).__name__}.")
    out.setdefault("setting", {})
    out.setdefault("imageType", {"Original": {}})
    out.setdefault("featureClass", {})
    for key in ("setting", "imageType", "featureClass"):
        out[key] = out[key] or {}
    return out


def param_hash(params: dict[str, Any], *, backend: str = "pyradiomics", version: str = "") -> str:
    """A short stable hash of the parameters, the backend and its version (the cache key).

    Examples
    --------
    >>> param_hash({"setting": {"binWidth": 25}}) == param_hash({"setting": {"binWidth": 25}})
    True
    >>> param_hash({"setting": {"binWidth": 25}}) == param_hash({"setting": {"binWidth": 10}})
    False
    """
    blob = json.dumps({"params": params, "backend": backend, "version": version}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
