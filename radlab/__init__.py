"""radlab: radiomics and deep-learning outcome prediction on lazily loaded image cohorts.

``import radlab`` is cheap: submodules (and heavy dependencies such as torch, shap,
pyradiomics and panel) load on first use.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBMODULES = {
    "catalog", "cohort", "grid", "datasets", "demo", "io", "preprocessing", "features", "evaluation", "harmonize",
    "select", "validation", "models", "explain", "dl", "ui", "cli",
}
_FUNCTIONS = {
    "open_catalog": "radlab.catalog",
    "open_cohort": "radlab.catalog",
    "view": "radlab.ui.viewer",
    "notebook": "radlab.ui._notebook",
}

__all__ = sorted(_SUBMODULES | set(_FUNCTIONS))


def __getattr__(name: str):
    if name in _FUNCTIONS:
        return getattr(importlib.import_module(_FUNCTIONS[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"radlab.{name}")
    raise AttributeError(f"module 'radlab' has no attribute {name!r}")


def __dir__():
    return __all__
