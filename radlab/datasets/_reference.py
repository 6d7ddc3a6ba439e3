"""Real data shipped by installed packages, written where the catalog expects it.

- the pyradiomics 3.0.1 sample cases (brain1, brain2, breast1, lung1, lung2: images + masks, and
  pyradiomics' baseline feature values), taken from the pyradiomics source distribution;
- scikit-learn's breast-cancer Wisconsin table (30 features measured on digitised images, diagnosis);
- scikit-survival's GBSG2 breast-cancer survival table.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import pandas as pd

__all__ = ["PYRADIOMICS_CASES", "fetch_pyradiomics_samples", "write_reference_tables"]

PYRADIOMICS_CASES = ("brain1", "brain2", "breast1", "lung1", "lung2")
PYRADIOMICS_VERSION = "3.0.1"


def fetch_pyradiomics_samples(dest: str | Path, *, sdist: str | Path | None = None) -> Path:
    """Extract the pyradiomics sample cases and baseline values into ``dest`` (skipped if present).

    ``sdist`` is a pyradiomics-3.0.1.tar.gz; without it pip fetches one from the package index.
    """
    dest = Path(dest)
    if all((dest / f"{c}_image.nrrd").exists() for c in PYRADIOMICS_CASES) and (dest / "baseline").is_dir():
        return dest
    with tempfile.TemporaryDirectory() as tmp:
        if sdist is None:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-build-isolation",
                 "--no-binary", ":all:", f"pyradiomics=={PYRADIOMICS_VERSION}", "-d", tmp],
                check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )
            sdist = next(Path(tmp).glob("pyradiomics-*.tar.gz"))
        prefix = f"pyradiomics-{PYRADIOMICS_VERSION}/data/"
        dest.mkdir(parents=True, exist_ok=True)
        with tarfile.open(sdist) as tar:
            for member in tar.getmembers():
                if member.isfile() and member.name.startswith(prefix):
                    target = dest / member.name[len(prefix):]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(tar.extractfile(member).read())
    return dest


def write_reference_tables(dest: str | Path) -> dict[str, Path]:
    """Write the breast-cancer Wisconsin and GBSG2 tables as CSV files with a ``case_id`` column."""
    from sklearn.datasets import load_breast_cancer
    from sksurv.datasets import load_gbsg2

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    out = {}

    wbc = load_breast_cancer(as_frame=True)
    table = wbc.data.copy()
    table.columns = [c.replace(" ", "_") for c in table.columns]
    table.insert(0, "case_id", [f"wbc{i:03d}" for i in range(len(table))])
    table["malignant"] = (wbc.target == 0).astype(int)  # sklearn codes 0 = malignant
    out["breast-cancer-wisconsin"] = dest / "breast_cancer_wisconsin.csv"
    table.to_csv(out["breast-cancer-wisconsin"], index=False)

    x, y = load_gbsg2()
    table = pd.DataFrame(x).reset_index(drop=True)
    # numeric coding so the table feeds models directly: yes/post = 1, tumour grade I-III = 1-3
    table["horTh"] = (table["horTh"].astype(str) == "yes").astype(int)
    table["menostat"] = (table["menostat"].astype(str) == "Post").astype(int)
    table["tgrade"] = table["tgrade"].astype(str).map({"I": 1, "II": 2, "III": 3}).astype(int)
    table.insert(0, "case_id", [f"gbsg{i:03d}" for i in range(len(table))])
    table["time_days"] = y["time"]
    table["event"] = y["cens"].astype(int)
    out["gbsg2"] = dest / "gbsg2.csv"
    table.to_csv(out["gbsg2"], index=False)
    return out
