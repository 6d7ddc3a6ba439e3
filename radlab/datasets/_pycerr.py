"""Four real lung CT sub-volumes (DICOM series + RTSTRUCT) from the pycerr wheel, laid out as an archive.

The pycerr 2.5.1 wheel ships ``cerr/datasets/radiomics_phantom_dicom/pat_1 .. pat_4``: one CT series and one
RTSTRUCT (ROI ``GTV-1``) per patient. ``pat_1`` is the IBSI 1 CT radiomics phantom (``PAT1`` of the IBSI
reference manual). radlab reads the wheel as a zip file (pycerr is not installed: it pulls in GUI packages) and
writes the files the way an archive download looks: ``archive/<PatientID>/<study>/<series>/<hashed name>.dcm``,
so that ``make data`` builds the ``lung-ct`` cohort through :func:`radlab.io.index_archive`.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

__all__ = ["LUNG_CT_CASES", "PYCERR_VERSION", "build_lung_ct", "fetch_lung_ct"]

PYCERR_VERSION = "2.5.1"
PREFIX = "cerr/datasets/radiomics_phantom_dicom/"
LUNG_CT_CASES = ("1", "2", "3", "4")  # PatientID of pat_1 .. pat_4
LUNG_CT_ROIS = {"GTV": "GTV.*"}

README = f"""# lung-ct: four lung CT sub-volumes with their gross tumour volume

Written by `radlab data` from the pycerr {PYCERR_VERSION} wheel (PyPI), folder `{PREFIX}pat_1 .. pat_4`:
four non-small-cell lung cancer CT sub-volumes (0.977 x 0.977 x 3 mm), each a DICOM CT series with an RT
structure set holding the gross tumour volume `GTV-1`. `archive/` lays them out as an archive download
(PatientID / study / series / hashed file names); `files.csv` and `catalog.yaml` are what
`radlab index archive --name lung-ct --roi "GTV=GTV.*"` wrote from it.

Patient `1` (`pat_1`) is the IBSI 1 CT radiomics phantom (`PAT1` of the IBSI reference manual,
https://ibsi.readthedocs.io, configurations A-E).

## Licence and citation

The radiomics phantom data set was contributed by Philippe Lambin and published by CancerData,
DOI 10.17195/candat.2016.08.1, under the Creative Commons Attribution-NonCommercial 3.0 Unported licence
(CC BY-NC 3.0, https://creativecommons.org/licenses/by-nc/3.0/): non-commercial use, with attribution.
pycerr's own README_LICENSE.txt for this folder states that licence; the pycerr package itself is GPL-3.0.
The IBSI reference manual describes the same DOI as "a small data set of CT images from four non-small-cell
lung carcinoma patients", which is what the four folders hold.

Please cite:

- Lambin P. Radiomics Digital Phantom, CancerData (2016), DOI 10.17195/candat.2016.08.1
- Lambin P, Leijenaar RTH, Deist TM, et al. Radiomics: the bridge between medical imaging and personalized
  medicine. Nat Rev Clin Oncol. 2017;14(12):749-762.
- for IBSI reference values: Zwanenburg A, Vallieres M, et al. The Image Biomarker Standardization Initiative.
  Radiology. 2020;295(2):328-338.
"""


def _wheel(tmp: str) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:",
                    f"pycerr=={PYCERR_VERSION}", "-d", tmp], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)
    return next(Path(tmp).glob("pycerr-*.whl"))


def _short(uid: str) -> str:
    return hashlib.blake2b(uid.encode(), digest_size=3).hexdigest()


def fetch_lung_ct(dest: str | Path, *, wheel: str | Path | None = None) -> Path:
    """Write the four lung CTs as an archive under ``dest/archive`` and a README (skipped if present).

    ``wheel`` is a pycerr-2.5.1 wheel; without it pip downloads one (26 MB) into a temporary folder.
    Returns ``dest/archive``.
    """
    import pydicom

    dest = Path(dest)
    archive = dest / "archive"
    if (dest / "README.md").exists() and archive.is_dir():
        return archive
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(wheel or _wheel(tmp)) as whl:
            members = sorted(n for n in whl.namelist() if n.startswith(PREFIX) and n.endswith(".dcm"))
            if not members:
                raise FileNotFoundError(f"{wheel}: no {PREFIX}pat_*/*.dcm in the wheel (not pycerr {PYCERR_VERSION}?)")
            for name in members:
                data = whl.read(name)
                ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
                study = f"{ds.get('StudyDate') or 'study'}-{_short(str(ds.StudyInstanceUID))}"
                series = f"{int(ds.get('SeriesNumber') or 0)}-{ds.Modality}-{_short(str(ds.SeriesInstanceUID))}"
                file = hashlib.blake2b(str(ds.SOPInstanceUID).encode(), digest_size=6).hexdigest() + ".dcm"
                target = archive / str(ds.PatientID) / study / series / file
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
    (dest / "README.md").write_text(README)
    return archive


def build_lung_ct(dest: str | Path, *, wheel: str | Path | None = None) -> Path:
    """Fetch the archive (:func:`fetch_lung_ct`) and index it into ``dest/files.csv`` and ``dest/catalog.yaml``
    (cohort ``lung-ct``); both are rewritten only when missing. Returns ``dest``."""
    from radlab.io import index_archive

    dest = Path(dest)
    archive = fetch_lung_ct(dest, wheel=wheel)
    if not (dest / "files.csv").exists() or not (dest / "catalog.yaml").exists():
        index_archive(archive, name="lung-ct", catalog=dest / "catalog.yaml", files=dest / "files.csv",
                      rois=LUNG_CT_ROIS, description=DESCRIPTION)
    return dest


DESCRIPTION = ("Four real lung CT sub-volumes with their GTV (RTSTRUCT), from the pycerr 2.5.1 wheel; patient 1 is "
               "the IBSI CT radiomics phantom. Indexed from a DICOM archive by radlab index. CC BY-NC 3.0.")
