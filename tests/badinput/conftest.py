"""The bad-input corpus: fresh small cohorts, each broken one way by a test.

Every test in this folder asserts the exact outcome for one kind of bad input: which error (type, case, file,
words), that the other cases completed, and that no wrong number was produced. docs/data.md ("What radlab
checks") lists the kinds.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from ._helpers import write_catalog

CATALOG = """
cohorts:
  m:
    images: {T2w: "images/{case}/T2w_pre.nii.gz"}
    masks: {tumour: {path: "masks/{case}/tumour_pre.nii.gz", image: T2w}}
    clinical: {path: clinical.csv}
    outcomes: {label: pcr, time: os_months, event: os_event}
"""


@pytest.fixture
def messy(tmp_path, data_root) -> tuple[Path, list[str]]:
    """Five demo cases (pre-treatment T2w + tumour mask, clinical table) copied into a fresh cohort folder
    with a catalog ``catalog.yaml`` declaring cohort ``m``; returns (folder, case ids)."""
    src = data_root / "demo"
    clinical = pd.read_csv(src / "clinical.csv", dtype={"case_id": str}).head(5)
    for case in clinical.case_id:
        for sub, name in (("images", "T2w_pre.nii.gz"), ("masks", "tumour_pre.nii.gz")):
            (tmp_path / sub / case).mkdir(parents=True)
            shutil.copy(src / sub / case / name, tmp_path / sub / case / name)
    clinical.to_csv(tmp_path / "clinical.csv", index=False)
    write_catalog(tmp_path, CATALOG)
    return tmp_path, list(clinical.case_id)

