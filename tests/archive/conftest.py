"""Fixtures of the archive tests: the lung-ct data of the tiny data folder and a messy archive built from it
(tests/archive/messy.py says what is wrong with each patient)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .messy import build_messy
from radlab.datasets import build_lung_ct


@pytest.fixture(scope="session")
def lung_ct(data_root) -> Path:
    """The lung-ct data folder (archive/, files.csv, catalog.yaml) of the tiny data."""
    return build_lung_ct(data_root / "lung-ct")


@pytest.fixture(scope="session")
def messy_archive(lung_ct, data_root, tmp_path_factory) -> Path:
    return build_messy(lung_ct / "archive", data_root / "demo", tmp_path_factory.mktemp("messy"))
