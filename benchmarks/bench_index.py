"""Speed of radlab.io.index_archive: a synthetic archive of the four lung CTs copied under new patients
(new UIDs, same pixels), about 3,100 files; a first (cold) run reads every header, a rerun only stats files.

    .venv/bin/python benchmarks/bench_index.py [copies]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import pydicom
from pydicom.uid import generate_uid

from radlab.datasets import build_lung_ct
from radlab.io import index_archive


def clone(archive: Path, out: Path, copies: int) -> int:
    n = 0
    for copy in range(copies):
        uids: dict[str, str] = {}
        for f in sorted(archive.rglob("*.dcm")):
            ds = pydicom.dcmread(f)
            for elem in ds.iterall():
                if elem.VR == "UI" and elem.value and not str(elem.value).startswith("1.2.840.10008"):
                    elem.value = uids.setdefault(str(elem.value), generate_uid())
            ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
            ds.PatientID = f"{copy:03d}-{ds.PatientID}"
            target = out / ds.PatientID / f.parent.name / f"{n:06d}"
            target.parent.mkdir(parents=True, exist_ok=True)
            ds.save_as(target)
            n += 1
    return n


def main(copies: int = 15) -> None:
    os.environ.setdefault("RADLAB_CACHE", tempfile.mkdtemp())
    archive = build_lung_ct(Path(os.environ.get("RADLAB_DATA", "data")) / "lung-ct") / "archive"
    with tempfile.TemporaryDirectory() as tmp:
        n = clone(archive, Path(tmp), copies)
        for run in ("cold", "warm"):
            start, cpu = time.perf_counter(), time.process_time()
            ix = index_archive(tmp, name="bench", rois={"GTV": "GTV.*"})
            print(f"{run}: {n} files, {len(ix.files)} cases, {ix.counts['read']} headers read, "
                  f"{time.perf_counter() - start:.2f} s ({time.process_time() - cpu:.2f} s CPU)")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
