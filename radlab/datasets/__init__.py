"""Data a user can open without bringing their own: a synthetic demo cohort and real sample data
shipped by installed packages (pyradiomics sample cases, breast-cancer Wisconsin, GBSG2)."""

from __future__ import annotations

from pathlib import Path

from radlab.datasets._demo import CENTRES, make_demo_cohort
from radlab.datasets._reference import PYRADIOMICS_CASES, fetch_pyradiomics_samples, write_reference_tables

__all__ = ["CENTRES", "PYRADIOMICS_CASES", "build_data", "fetch_pyradiomics_samples", "make_demo_cohort",
           "write_reference_tables"]


def build_data(root: str | Path, *, n_cases: int = 150, seed: int = 0, progress: bool = True) -> Path:
    """Build everything the default catalog names under ``root`` (each part only if missing)."""
    root = Path(root)
    if not (root / "demo" / "clinical.csv").exists():
        make_demo_cohort(root / "demo", n_cases=n_cases, seed=seed, progress=progress)
    fetch_pyradiomics_samples(root / "pyradiomics-samples")
    if not (root / "tables" / "gbsg2.csv").exists():
        write_reference_tables(root / "tables")
    return root
