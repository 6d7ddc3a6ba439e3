"""Shared fixtures: a tiny twin of the data folder, so the real data_catalog.yaml opens tiny cohorts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# the real data folder (built by `make data`); only its reference data sets are reused by the tests
REAL_DATA = Path(os.environ.get("RADLAB_DATA", REPO / "data"))
TINY_CASES = 30
LIDC_PATIENTS = 20  # the lidc slice: the first 20 patients' nodules (64 nodules, 20 benign, 12 malignant)


@pytest.fixture(scope="session")
def data_root(tmp_path_factory) -> Path:
    """A data folder with a 30-case demo cohort (2 as DICOM), the real reference data sets (pyradiomics
    samples, the four lung CTs of cohort lung-ct) and a slice of cohort lidc."""
    from radlab.datasets import (build_lidc, build_lung_ct, fetch_lidc, fetch_pyradiomics_samples, make_demo_cohort,
                                 write_reference_tables)

    root = tmp_path_factory.mktemp("radlab-data")
    make_demo_cohort(root / "demo", n_cases=TINY_CASES, n_external=6, n_dicom=2, seed=0, progress=False)
    samples = fetch_pyradiomics_samples(REAL_DATA / "pyradiomics-samples")
    (root / "pyradiomics-samples").symlink_to(samples, target_is_directory=True)
    (root / "lung-ct").symlink_to(build_lung_ct(REAL_DATA / "lung-ct").resolve(), target_is_directory=True)
    write_reference_tables(root / "tables")
    build_lidc(root / "lidc", sqlite=fetch_lidc(REAL_DATA / "lidc"), patients=LIDC_PATIENTS, progress=False)
    return root


@pytest.fixture(scope="session")
def catalog(data_root, tmp_path_factory):
    """The project's own data_catalog.yaml, opened over the tiny data folder."""
    import radlab

    os.environ["RADLAB_DATA"] = str(data_root)
    os.environ["RADLAB_CACHE"] = str(tmp_path_factory.mktemp("radlab-cache"))
    return radlab.open_catalog(REPO / "data_catalog.yaml")


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole session, shared by the UI, notebook and export tests: Playwright's sync
    API runs one instance at a time (a second inside the first's loop is refused)."""
    from ui.ui_helpers import chromium

    with chromium() as browser:
        yield browser
