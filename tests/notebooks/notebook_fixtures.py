"""Notebook fixtures: the kernels' environment (tiny data folder, shared feature cache) and the folder
the browser test keeps its screenshots and HTML in (the browser is tests/conftest.py's).

A module the test files import the fixtures from, not a conftest.py: tests/ui has a conftest.py too and,
neither folder being a package, two modules named ``conftest`` clash when both folders are given to pytest."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nbrun import REPO

ARTIFACTS = REPO / "build" / "test-artifacts" / "notebooks"


@pytest.fixture(scope="session")
def notebook_env(catalog):
    """Environment of the notebook kernels: the tiny data folder and a session-shared feature cache."""
    return dict(os.environ, RADLAB_CATALOG=str(REPO / "data_catalog.yaml"),
                RADLAB_DATA=os.environ["RADLAB_DATA"], RADLAB_CACHE=os.environ["RADLAB_CACHE"])


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """build/test-artifacts/notebooks/: a screenshot and the HTML of each notebook the browser test ran."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
