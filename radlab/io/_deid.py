"""De-identify a DICOM tree: PS3.15 Basic Application Level Confidentiality Profile with the options a radiomics
study needs, UIDs remapped consistently, a mapping table written apart.

Options (PS3.15 E.3): Retain Device Identity, Retain Patient Characteristics (sex, age, size, weight, ...), Retain
Longitudinal Temporal Information with Modified Dates (every date of a patient shifted by one whole number of days,
times kept), Clean Descriptors (descriptions kept with the patient's name parts, IDs and accession number cut
out). Attributes harmonisation needs are not in Table E.1-1 and stay: manufacturer and model, kernel, slice
thickness, pixel spacing, kVp, TR/TE, field strength.

What pydicom gives is used (reading, nested sequences, ``remove_private_tags``, writing); a new UID is a
name-based UUID of the salt and the old UID under the 2.25 root (pydicom's ``generate_uid`` is random under that
root). No installed package implements the profile with
its options (pydicom and highdicom have none; ``deid`` and ``dicognito`` are not dependencies and follow their own
recipes), so the actions come from :mod:`radlab.io._deid_table`, a transcription of the Table E.1-1 rows found in
the objects radlab reads.

New UIDs are ``2.25.<integer>`` derived from the salt and the old UID, so every reference (an RTSTRUCT's or
SEG's referenced series, SOP instances and frame of reference) points at the new UID of what it referenced.
The pseudonym and the date offset of a patient are derived from the salt and the PatientID: the same salt gives
the same pseudonyms (add patients later); the mapping table is the only way back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import secrets
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from radlab.errors import InputError
from radlab.io._deid_table import OPTIONS, TABLE
from radlab.io._dicom import _has_preamble
from radlab.io._header import first_line

__all__ = ["DeidResult", "deidentify", "deidentify_dataset"]

DICOM_ROOT = "1.2.840.10008"
METHOD_CODES = {  # PS3.16 CID 7050
    None: ("113100", "Basic Application Confidentiality Profile"),
    "retain_device": ("113109", "Retain Device Identity Option"),
    "retain_patient": ("113108", "Retain Patient Characteristics Option"),
    "modified_dates": ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
    "clean_descriptors": ("113105", "Clean Descriptors Option"),
}
MAX_SHIFT_DAYS = 3650


@dataclass
class DeidResult:
    """What :func:`deidentify` wrote: files per patient pseudonym and the mapping table (kept apart)."""

    files: pd.DataFrame  # source, target, patient (pseudonym)
    mapping: pd.DataFrame  # kind (patient, date_offset_days, uid), original, pseudonym
    skipped: list[str]  # files without the DICOM preamble, not copied
    mapping_path: Path | None = None
    damaged: list[str] = field(default_factory=list)  # "file (why)": DICOM files that could not be read, not copied


class _Keys:
    """Pseudonyms, date offsets and UIDs derived from one salt, recorded for the mapping table."""

    def __init__(self, salt: str):
        self.salt = salt
        self.rows: dict[tuple[str, str], str] = {}

    def _digest(self, *parts: str) -> str:
        return hashlib.blake2b("\0".join((self.salt, *parts)).encode(), digest_size=16).hexdigest()

    def patient(self, patient_id: str) -> str:
        pseudonym = "RL" + self._digest("patient", patient_id)[:10].upper()
        self.rows[("patient", patient_id)] = pseudonym
        return pseudonym

    def offset(self, patient_id: str) -> int:
        days = -(int(self._digest("dates", patient_id), 16) % MAX_SHIFT_DAYS + 1)
        self.rows[("date_offset_days", patient_id)] = str(days)
        return days

    def uid(self, uid: str) -> str:
        new = f"2.25.{uuid.uuid5(uuid.NAMESPACE_OID, self.salt + chr(0) + uid).int}"  # a name-based UUID (PS3.5 B.2)
        self.rows[("uid", uid)] = new
        return new


def _shift(value: str, vr: str, days: int) -> str | None:
    """A DA/DT value moved by ``days`` (None when it is not a valid date)."""
    text = str(value).strip()
    if not text:
        return text
    try:
        day = dt.datetime.strptime(text[:8], "%Y%m%d").date() + dt.timedelta(days=days)
    except ValueError:
        return None
    return day.strftime("%Y%m%d") + (text[8:] if vr == "DT" else "")


def _clean(text: str, identifiers: list[str]) -> str:
    for ident in identifiers:
        text = re.sub(re.escape(ident), "", text, flags=re.IGNORECASE)
    return re.sub(r"\s{2,}", " ", text).strip(" ^-_,;")


def deidentify_dataset(ds, keys: _Keys, options: dict[str, bool]) -> str:
    """De-identify one pydicom dataset in place; returns the patient's pseudonym."""
    patient_id = str(ds.get("PatientID", ""))
    name = str(ds.get("PatientName", ""))
    identifiers = sorted({p for p in re.split(r"[\^= ]+", name) + [patient_id, str(ds.get("AccessionNumber", ""))]
                          if len(p) >= 2}, key=len, reverse=True)
    pseudonym, days = keys.patient(patient_id), keys.offset(patient_id)
    ds.remove_private_tags()
    for tag in [t for t in ds.keys() if 0x6000 <= t.group <= 0x60FF]:  # overlays
        del ds[tag]

    def visit(dataset):
        remove = []
        for elem in dataset:
            action = _action(elem, options)
            if action == "X":
                remove.append(elem.tag)
            elif action in ("Z", "D"):
                elem.value = pseudonym if elem.keyword in ("PatientName", "PatientID") else \
                    ("" if action == "Z" or elem.VR not in ("LO", "SH", "CS", "LT", "ST") else "ANONYMOUS")
            elif action == "U":
                values = elem.value if elem.VM > 1 else [elem.value]
                new = [keys.uid(str(v)) if v and not str(v).startswith(DICOM_ROOT) else v for v in values]
                elem.value = new if elem.VM > 1 else new[0]
            elif action == "C" and elem.VR in ("DA", "DT"):
                shifted = _shift(elem.value, elem.VR, days) if elem.VM <= 1 else None
                if shifted is None:
                    remove.append(elem.tag)
                else:
                    elem.value = shifted
            elif action == "C" and elem.VR not in ("TM", "SQ") and isinstance(elem.value, str):
                elem.value = _clean(elem.value, identifiers)
            if elem.VR == "SQ" and elem.tag not in remove:
                for item in elem.value:
                    visit(item)
        for tag in remove:
            del dataset[tag]

    visit(ds)
    if getattr(ds, "file_meta", None) is not None and "MediaStorageSOPInstanceUID" in ds.file_meta:
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    _record_method(ds, options)
    return pseudonym


def _action(elem, options: dict[str, bool]) -> str:
    """The Table E.1-1 action for one element under the chosen options (rules for attributes not in the table)."""
    row = TABLE.get(elem.keyword)
    if row is not None:
        basic, *by_option = row
        chosen = [a for opt, a in zip(OPTIONS, by_option) if a is not None and options[opt]]
        return chosen[0] if chosen else basic
    if elem.VR == "PN":
        return "X"
    if elem.VR == "UI":
        return "U"
    if elem.VR in ("DA", "DT"):
        return "C" if options["modified_dates"] else "X"
    return "K"


def _record_method(ds, options: dict[str, bool]) -> None:
    from pydicom.dataset import Dataset

    ds.PatientIdentityRemoved = "YES"
    used = [None] + [opt for opt in OPTIONS if options[opt]]
    ds.DeidentificationMethod = "radlab PS3.15 E.1-1, DCM " + " ".join(METHOD_CODES[o][0] for o in used)  # LO: 64
    codes = []
    for opt in used:
        item = Dataset()
        item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = METHOD_CODES[opt][0], "DCM", METHOD_CODES[opt][1]
        codes.append(item)
    ds.DeidentificationMethodCodeSequence = codes
    if options["modified_dates"]:
        ds.LongitudinalTemporalInformationModified = "MODIFIED"


def deidentify(src: str | Path, dst: str | Path, *, mapping: str | Path | None = None, salt: str | None = None,
               retain_device: bool = True, retain_patient: bool = True, modified_dates: bool = True,
               clean_descriptors: bool = True) -> DeidResult:
    """De-identify every DICOM file under ``src`` into ``dst`` (``<pseudonym>/<study>/<series>/<n>.dcm``).

    ``mapping`` (default ``<dst>.mapping.csv``, beside ``dst``; it must lie outside ``dst``) receives the
    original -> pseudonym table: PatientIDs, date offsets, UIDs. ``salt`` (default: random) keys pseudonyms,
    offsets and UIDs: give the same salt to de-identify more data consistently. Files without the DICOM preamble
    are not copied (listed in ``skipped``), nor DICOM files that cannot be read or lack a SOPInstanceUID (listed
    in ``damaged``). An existing mapping table is not overwritten, and a source without any readable DICOM file
    is an :class:`~radlab.errors.InputError` (nothing written).
    """
    import pydicom

    src, dst = Path(src), Path(dst)
    if not src.is_dir():
        raise InputError(f"{src}: no such folder to de-identify", file=src)
    mapping = Path(mapping) if mapping is not None else dst.with_name(dst.name + ".mapping.csv")
    if mapping.resolve().is_relative_to(dst.resolve()) or dst.resolve().is_relative_to(src.resolve()):
        raise InputError(f"the mapping table {mapping} must lie outside the output {dst}, and the output outside "
                         f"the source {src}: the mapping is the key back to the patients, keep it apart", file=mapping)
    if dst.exists() and (not dst.is_dir() or any(dst.iterdir())):
        raise InputError(f"{dst} is not empty; de-identify into a new folder", file=dst)
    if mapping.exists():
        raise InputError(f"the mapping table {mapping} already exists: it may be the only key back to an earlier "
                         "de-identification; move it away or give another --mapping", file=mapping)
    options = {"retain_device": retain_device, "retain_patient": retain_patient, "modified_dates": modified_dates,
               "clean_descriptors": clean_descriptors}
    keys = _Keys(salt or secrets.token_hex(16))
    rows, skipped, damaged, counters = [], [], [], {}
    for folder, dirs, names in os.walk(src):
        dirs.sort()
        for name in sorted(names):
            path = Path(folder) / name
            rel = str(path.relative_to(src))
            try:
                if not _has_preamble(path):
                    skipped.append(rel)
                    continue
                ds = pydicom.dcmread(path)
            except Exception as exc:  # unreadable, or pydicom cannot parse it (it raises many types)
                damaged.append(f"{rel} ({first_line(exc)})")
                continue
            if not ds.get("SOPInstanceUID"):  # pydicom reads a truncated file without a word
                damaged.append(f"{rel} (no SOPInstanceUID: a truncated or damaged file)")
                continue
            pseudonym = deidentify_dataset(ds, keys, options)
            study, series = (hashlib.blake2b(str(ds.get(k, "")).encode(), digest_size=4).hexdigest()
                             for k in ("StudyInstanceUID", "SeriesInstanceUID"))
            where = dst / pseudonym / study / f"{ds.get('Modality', 'OT')}-{series}"
            counters[where] = counters.get(where, 0) + 1
            where.mkdir(parents=True, exist_ok=True)
            target = where / f"{counters[where]:05d}.dcm"
            ds.save_as(target)
            rows.append((str(path.relative_to(src)), str(target.relative_to(dst)), pseudonym))
    if not rows:
        raise InputError(f"{src}: no readable DICOM file to de-identify ({len(skipped)} other and {len(damaged)} "
                         f"damaged files{': ' + ', '.join(damaged[:3]) if damaged else ''}); nothing written", file=src)
    table = pd.DataFrame([(k, o, p) for (k, o), p in keys.rows.items()], columns=["kind", "original", "pseudonym"])
    mapping.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(mapping, index=False)
    return DeidResult(files=pd.DataFrame(rows, columns=["source", "target", "patient"]), mapping=table,
                      skipped=skipped, mapping_path=mapping, damaged=damaged)
