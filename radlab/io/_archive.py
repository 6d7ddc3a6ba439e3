"""Index a DICOM archive into a cohort: a files table and a catalog entry, with a problem table.

:func:`index_archive` crawls a tree of DICOM files (headers only, cached: :mod:`radlab.io._archive_scan`),
groups image files into series by SeriesInstanceUID, links every RTSTRUCT and SEG to the image series it
references (ReferencedSeriesInstanceUID, else FrameOfReferenceUID; never by folder), picks one image series per
image variable by rules (modality, a SeriesDescription pattern, then most slices), maps ROI names to mask
variables by patterns (``GTV=GTV.*|gtv-1``, matched whole and ignoring case) and writes a files table (one row
per patient: a path per variable) and a catalog entry. Every problem is a row of ``problems`` (patient, file,
kind, problem); a patient with a problem that makes a variable unusable is left out, the rest are indexed.

When patterns match different ROI names in different patients (``GTV-1`` here, ``gtv`` there), each patient's
name goes into the files table's ``<mask>_roi`` column and the catalog entry names that column (``roi_column``).
"""

from __future__ import annotations

import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd

from radlab.errors import InputError
from radlab.io._archive_scan import scan
from radlab.io._archive_write import ROI_SUFFIX, mask_entry
from radlab.io._dicom import LOCALIZER_ANGLE, _consistent, _split_localizers, _stack
from radlab.io._header import ReadError

__all__ = ["ArchiveIndex", "PROBLEM_KINDS", "index_archive", "parse_rules"]

PROBLEM_KINDS = (
    "non-DICOM file", "damaged DICOM file", "localizer skipped", "mixed modalities", "several series in one folder",
    "series split over folders", "incomplete slice header", "inconsistent slices", "duplicate slices",
    "missing slices", "several candidate series", "no usable series", "references no series found",
    "references another patient", "not on the chosen series", "ROI matches no pattern", "ROI matches several patterns",
    "several ROIs match", "no ROI matches", "variable left out", "no clinical row",
    "clinical row without images",
)
PROBLEM_COLUMNS = ["patient", "file", "kind", "problem"]


@dataclass
class ArchiveIndex:
    """What :func:`index_archive` found and wrote."""

    name: str
    entry: dict[str, Any]  # the catalog entry of the cohort
    files: pd.DataFrame  # one row per case: a path (relative to the entry's root) per variable
    series: pd.DataFrame  # every image series, structure set and SEG found, and what it became
    problems: pd.DataFrame  # patient, file, kind, problem
    counts: dict[str, Any] = field(default_factory=dict)  # files, read, cached, seconds, ...
    catalog: Path | None = None
    files_path: Path | None = None

    def summary(self) -> str:
        """A few lines: what was crawled, the cohort and its variables, the problems by kind."""
        c = self.counts
        lines = [f"{c['files']} files ({c['dicom']} DICOM, {c['files'] - c['dicom']} other; {c['read']} headers read, "
                 f"{c['cached']} from the cache) in {c['seconds']:.2f} s: {c['image_series']} image series, "
                 f"{c['structure_sets']} structure sets, {c['segs']} SEGs of {c['patients']} patients",
                 f"cohort {self.name!r}: {len(self.files)} cases; images {self.entry.get('images', {}) and list(self.entry['images'])}"
                 f", masks {list(self.entry.get('masks', {}))}"]
        if self.catalog is not None:
            lines.append(f"catalog entry -> {self.catalog}; files table -> {self.files_path}")
        if len(self.problems):
            counts = self.problems.kind.value_counts()
            lines.append(f"{len(self.problems)} problem(s): " + ", ".join(f"{k} ({n})" for k, n in counts.items()))
        return "\n".join(lines)


def parse_rules(values, what: str) -> dict[str, str]:
    """``["GTV=GTV.*|gtv-1", ...]`` (or a dict) -> ``{"GTV": "GTV.*|gtv-1"}``; each pattern must compile."""
    if isinstance(values, dict):
        pairs = list(values.items())
    else:
        pairs = []
        for value in values or []:
            var, sep, rule = str(value).partition("=")
            if not sep or not var.strip() or not rule.strip():
                raise InputError(f"{what} {value!r} must be NAME=PATTERN, e.g. GTV=GTV.*|gtv-1")
            pairs.append((var.strip(), rule.strip()))
    out = {}
    for var, rule in pairs:
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_\-]*", var):
            raise InputError(f"{what} name {var!r} must start with a letter and hold letters, digits, '_' or '-'")
        if var in out:
            raise InputError(f"{what} {var!r} is given twice")
        try:
            re.compile(rule.partition(":")[2] if what == "--series" else rule)
        except re.error as exc:
            raise InputError(f"{what} {var}={rule!r}: not a valid regular expression ({exc})") from None
        out[var] = rule
    return out


def _folder(rel: str) -> str:
    return str(PurePosixPath(rel).parent)


class _Index:
    def __init__(self, records: dict[str, dict | None]):
        self.records = records
        self.problems: list[tuple[str, str, str, str]] = []
        self.series: dict[str, dict] = {}  # image series uid -> info
        self.objects: list[dict] = []  # RTSTRUCT / SEG files

    def problem(self, patient: str, file: str, kind: str, text: str) -> None:
        assert kind in PROBLEM_KINDS, kind
        self.problems.append((patient, file, kind, text))

    # ------------------------------------------------------------------ files -> series
    def group(self) -> None:
        other = defaultdict(list)
        for rel, rec in self.records.items():
            if rec is None:
                other[_folder(rel)].append(PurePosixPath(rel).name)
            elif "error" in rec:
                self.problem("", rel, "damaged DICOM file", f"{rec['error']}: skipped; replace it with an intact copy")
            elif not rec["SOPInstanceUID"] and not rec["Modality"] and PurePosixPath(rel).name.upper() != "DICOMDIR":
                self.problem("", rel, "damaged DICOM file", "no SOP Instance UID nor modality (a truncated or "
                             "damaged file): skipped; replace it with an intact copy")
            elif rec["Modality"] in ("RTSTRUCT", "SEG"):
                self.objects.append({"file": rel, **rec})
            elif rec["image"]:
                if not rec["SeriesInstanceUID"]:
                    self.problem(rec["PatientID"], rel, "damaged DICOM file", "image without SeriesInstanceUID: skipped")
                    continue
                s = self.series.setdefault(rec["SeriesInstanceUID"], {"uid": rec["SeriesInstanceUID"], "files": []})
                s["files"].append((rel, rec))
        for folder, names in sorted(other.items()):
            shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
            self.problem("", folder, "non-DICOM file", f"{len(names)} file(s) without the DICOM preamble skipped: {shown}")
        for s in self.series.values():
            self._describe(s)
        self._check_folders()

    def _describe(self, s: dict) -> None:
        first = s["files"][0][1]
        s.update(patient=first["PatientID"], study=first["StudyInstanceUID"], modality=first["Modality"],
                 description=first["SeriesDescription"], number=first["SeriesNumber"],
                 frame=first["FrameOfReferenceUID"], usable=True, role="")
        folders = sorted({_folder(rel) for rel, _ in s["files"]})
        s["folder"] = folders[0]
        scouts = [rel for rel, r in s["files"] if "LOCALIZER" in r["ImageType"]]
        if len(scouts) == len(s["files"]):
            s.update(usable=False, role="localizer")
            self.problem(s["patient"], s["folder"], "localizer skipped",
                         f"series {s['description']!r} ({len(scouts)} files) is a localizer/scout (ImageType LOCALIZER)")
            return
        slices = [(rel, r) for rel, r in s["files"] if "LOCALIZER" not in r["ImageType"]]
        if scouts:
            self.problem(s["patient"], s["folder"], "localizer skipped",
                         f"{len(scouts)} localizer slice(s) of series {s['description']!r} skipped (the reader skips them too)")
        if len(folders) > 1:
            self._unusable(s, "series split over folders", f"series {s['description']!r} lies in {len(folders)} folders "
                           f"({', '.join(folders[:3])}); radlab reads a series from one folder: move its files together")
            return
        s["n_slices"] = len(slices)
        if len(slices) == 1 and slices[0][1]["frames"] > 1:
            s.update(path=slices[0][0], n_slices=slices[0][1]["frames"])
            return
        s["path"] = s["folder"]
        self._check_slices(s, slices)

    def _unusable(self, s: dict, kind: str, text: str) -> None:
        s.update(usable=False, role="unusable")
        self.problem(s["patient"], s.get("path", s["folder"]), kind, text + "; series not used")

    def _check_slices(self, s: dict, slices: list) -> None:
        keys = {"position": "ImagePositionPatient", "orientation": "ImageOrientationPatient", "spacing": "PixelSpacing"}
        records = []
        for rel, r in slices:
            missing = [keys[k] for k in keys if not r[k]]
            if missing:
                self._unusable(s, "incomplete slice header", f"{rel} has no {', '.join(missing)}")
                return
            records.append((rel, {"ImagePositionPatient": r["position"], "ImageOrientationPatient": r["orientation"],
                                  "PixelSpacing": r["spacing"], "Rows": r["matrix"][0], "Columns": r["matrix"][1]}))
        geometry = np.array([[*r["matrix"], *r["spacing"], *r["orientation"]] for _, r in slices], float)
        uniform = bool(np.all(np.abs(geometry - geometry[0]) <= 1e-3))  # the reader's checks only where needed
        records, lone = (records, []) if uniform else _split_localizers(records)
        if lone:
            self.problem(s["patient"], s["folder"], "localizer skipped", f"{len(lone)} slice(s) tilted more than "
                         f"{LOCALIZER_ANGLE:g} degrees from the stack skipped as localizers: {', '.join(lone[:3])}")
        s["n_slices"] = len(records)
        try:
            for key in ("Rows", "Columns", "PixelSpacing", "ImageOrientationPatient") if not uniform else ():
                _consistent(s["folder"], records, key)
            _stack(s["folder"], records)
        except ReadError as exc:
            text = str(exc)
            kind = ("duplicate slices" if "same position" in text else "missing slices" if "missing" in text
                    else "inconsistent slices")
            self._unusable(s, kind, text)

    def _check_folders(self) -> None:
        in_folder = defaultdict(list)
        for s in self.series.values():
            if s["role"] != "localizer" and s.get("path") == s["folder"]:
                in_folder[s["folder"]].append(s)
        for folder, group in in_folder.items():
            if len(group) > 1:
                modalities = sorted({s["modality"] for s in group})
                kind = "mixed modalities" if len(modalities) > 1 else "several series in one folder"
                listing = ", ".join(f"{s['modality']} {s['description']!r}" for s in group)
                for s in group:
                    self._unusable(s, kind, f"folder holds {len(group)} image series ({listing}); radlab reads one "
                                            "series per folder: move each series into its own folder")

    # ------------------------------------------------------------------ choose series per patient
    def choose(self, rules: dict[str, str]) -> dict[str, dict[str, dict]]:
        chosen: dict[str, dict[str, dict]] = defaultdict(dict)
        wanted = {rule.partition(":")[0].upper() for rule in rules.values()}
        by_patient = defaultdict(list)
        for s in self.series.values():
            by_patient[s["patient"]].append(s)
        for patient in sorted(by_patient):
            series = by_patient[patient]
            for var, rule in rules.items():
                modality, _, pattern = rule.partition(":")
                candidates = [s for s in series if s["usable"] and s["modality"].upper() == modality.upper()
                              and re.search(pattern, s["description"], re.IGNORECASE)]
                if not candidates:
                    self.problem(patient, "", "no usable series", f"no usable {modality} series"
                                 f"{f' with a description matching {pattern!r}' if pattern else ''} for image {var!r}: "
                                 "patient left out")
                    continue
                candidates.sort(key=lambda s: (-s["n_slices"], s["number"], s["uid"]))
                best = candidates[0]
                best["role"] = f"image {var}"
                chosen[patient][var] = best
                if len(candidates) > 1:
                    others = ", ".join(f"{s['description']!r} ({s['n_slices']})" for s in candidates[1:])
                    self.problem(patient, best["path"], "several candidate series",
                                 f"{len(candidates)} series fit image {var!r}: took {best['description']!r} "
                                 f"({best['n_slices']} slices, the most), not {others}")
            extra = sorted({s["modality"] for s in series if s["usable"] and s["modality"].upper() not in wanted})
            for modality in extra:
                self.problem(patient, "", "mixed modalities", f"{modality} series besides the indexed "
                             f"{'/'.join(sorted(wanted))}: not indexed (state a rule, e.g. --series {modality}={modality})")
        return chosen

    # ------------------------------------------------------------------ structure sets and SEGs
    def link(self, chosen: dict[str, dict[str, dict]], image_var: str) -> None:
        for obj in self.objects:
            kind = "structure set" if obj["Modality"] == "RTSTRUCT" else "SEG"
            obj.update(target=None, kind=kind)
            refs = [self.series[u] for u in obj["ref_series"] if u in self.series]
            if refs:
                mine = [s for s in refs if s["patient"] == obj["PatientID"]]
                if not mine:
                    self.problem(obj["PatientID"], obj["file"], "references another patient",
                                 f"this {kind} of patient {obj['PatientID']!r} references series of patient "
                                 f"{refs[0]['patient']!r}: not used (it belongs to another patient, or its UIDs are wrong)")
                    continue
                target = mine[0]
            else:
                frames = set(obj["ref_frames"])
                same = [s for s in self.series.values() if s["patient"] == obj["PatientID"] and s["frame"] in frames
                        and s["usable"]]
                pick = chosen.get(obj["PatientID"], {}).get(image_var)
                target = pick if pick in same else (same[0] if len(same) == 1 else None)
                if target is None:
                    self.problem(obj["PatientID"], obj["file"], "references no series found",
                                 f"this {kind} references series {', '.join(obj['ref_series']) or '(none)'} and frame "
                                 f"of reference {', '.join(sorted(frames)) or '(none)'}, none of which is an image "
                                 "series in the archive: not used")
                    continue
            if obj["PatientID"] not in chosen:
                continue  # the patient has no usable image series (listed already)
            if chosen[obj["PatientID"]].get(image_var) is not target:
                self.problem(obj["PatientID"], obj["file"], "not on the chosen series",
                             f"this {kind} was drawn on series {target['description']!r}, not on the series chosen "
                             f"for image {image_var!r}: not used")
                continue
            obj["target"] = target

    def match(self, patient: str, rois: dict[str, str]) -> dict[tuple[str, str], tuple[str, str]]:
        """{(mask variable, RTSTRUCT or SEG): (file, ROI name)} of one patient; problems for names matching none
        or several."""
        found: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
        for obj in self.objects:
            if obj["PatientID"] != patient or obj.get("target") is None:
                continue
            unmatched = []
            for roi in obj["rois"]:
                hits = [var for var, pattern in rois.items() if re.fullmatch(pattern, roi, re.IGNORECASE)]
                if not hits:
                    unmatched.append(roi)
                elif len(hits) > 1:
                    self.problem(patient, obj["file"], "ROI matches several patterns",
                                 f"ROI {roi!r} matches the patterns of {hits}: not used; make the patterns exclusive")
                else:
                    found[(hits[0], obj["Modality"])].append((obj["file"], roi))
            if unmatched and rois:
                self.problem(patient, obj["file"], "ROI matches no pattern",
                             f"{obj['kind']} ROI(s) matching no --roi pattern, not indexed: {', '.join(unmatched)}")
        out = {}
        for (var, modality), hits in found.items():
            if len(hits) > 1:
                listing = ", ".join(f"{roi!r} in {PurePosixPath(f).name}" for f, roi in hits)
                self.problem(patient, hits[0][0], "several ROIs match",
                             f"{len(hits)} {modality} ROIs match mask {var!r} ({listing}): none used (radlab does "
                             "not guess); narrow the pattern or remove the duplicate")
            else:
                out[(var, modality)] = hits[0]
        return out


def _assemble(ix: _Index, chosen, rois: dict[str, str], image_vars: list[str]) -> tuple[dict, dict]:
    """Per patient {variable: path}, and per mask variable (its ROI name, its format).

    Each ``--roi`` variable ``V`` comes from structure sets when any matches it (else from SEGs) and every patient
    needs it; the other source gives ``V_seg`` (or ``V_rtstruct``), kept only when every patient has it.
    """
    patients = sorted({s["patient"] for s in ix.series.values()} | {o["PatientID"] for o in ix.objects})
    complete = [p for p in patients if all(v in chosen.get(p, {}) for v in image_vars)]
    found = {p: ix.match(p, rois) for p in complete}  # {patient: {(V, modality): (file, roi)}}
    sources = Counter(key for m in found.values() for key in m)
    required, optional = {}, {}
    for var in rois:
        primary = "RTSTRUCT" if sources[(var, "RTSTRUCT")] else "SEG"
        required[var] = (var, primary)
        other = "SEG" if primary == "RTSTRUCT" else "RTSTRUCT"
        if sources[(var, other)]:
            optional[f"{var}_{other.lower()}"] = (var, other)
    for name, key in list(optional.items()):
        if sources[key] < len(complete):
            del optional[name]
            ix.problem("", "", "variable left out", f"mask {name!r} ({key[1]} matching {key[0]!r}) found for "
                       f"{sources[key]} of {len(complete)} patients: left out (every case of a cohort has the same "
                       "variables)")
    wanted = required | optional
    seen = {v: {found[p][k][1] for p in complete if k in found[p]} for v, k in wanted.items() if sources[k]}
    names = {v: next(iter(n)) if len(n) == 1 else None for v, n in seen.items()}  # None: a name per patient
    cases = {}
    for p in complete:
        row, ok = {v: chosen[p][v]["path"] for v in image_vars}, True
        for var, key in wanted.items():
            hit = found[p].get(key)
            if hit is None:
                if not any(t[0] == p and t[2] == "several ROIs match" and f"{key[0]!r}" in t[3] for t in ix.problems):
                    what = ("structure set ROI" if key[1] == "RTSTRUCT" else "SEG segment") if sources[key] \
                        else "structure set ROI or SEG segment"
                    ix.problem(p, chosen[p][image_vars[0]]["path"], "no ROI matches",
                               f"no {what} on the chosen series matches mask {var!r} ({rois[key[0]]}): patient left out")
                ok = False
            else:
                row[var] = hit[0]
                if names[var] is None:
                    row[var + ROI_SUFFIX] = hit[1]
        if ok:
            cases[p] = row
    return cases, {v: (names.get(v, ""), "rtstruct" if k[1] == "RTSTRUCT" else "seg") for v, k in wanted.items()}


def index_archive(root: str | Path, *, name: str, catalog: str | Path | None = None, files: str | Path | None = None,
                  clinical: str | Path | None = None, id_column: str | None = None,
                  series: dict[str, str] | list[str] | None = None, rois: dict[str, str] | list[str] | None = None,
                  description: str = "", replace: bool = True, cache: bool = True) -> ArchiveIndex:
    """Index the DICOM archive under ``root`` into cohort ``name``.

    ``series`` maps image variables to ``MODALITY[:DESCRIPTION_PATTERN]`` rules (default: the archive's most
    common image modality, e.g. ``{"CT": "CT"}``); among fitting series the one with most slices is taken.
    ``rois`` maps mask variables to ROI name patterns (``{"GTV": "GTV.*|gtv-1"}``, whole name, any case);
    an RTSTRUCT ROI gives mask ``GTV``, a SEG segment ``GTV_seg``. ``clinical`` (with ``id_column``, whose
    values are PatientIDs) adds a clinical table. With ``catalog``, the entry is written into that file (added,
    or replacing an entry of the same name when ``replace``) and the files table to ``files`` (default:
    ``<name>_files.csv`` next to the catalog); the entry's root is the folder holding the archive, the files
    table and the clinical table.

    Examples
    --------
    >>> import tempfile
    >>> ix = index_archive(tempfile.mkdtemp(), name="empty", cache=False)
    >>> len(ix.files), ix.counts["files"]
    (0, 0)
    """
    start = time.perf_counter()
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"archive folder {root} does not exist (or is not a folder)", file=root)
    rois = parse_rules(rois, "--roi")
    records, counts = scan(root, cache=cache)
    ix = _Index(records)
    ix.group()
    if series is None:
        modalities = Counter(s["modality"] for s in ix.series.values() if s["role"] != "localizer")
        series = {modalities.most_common(1)[0][0]: modalities.most_common(1)[0][0]} if modalities else {}
    rules = parse_rules(series, "--series")
    image_vars = list(rules)
    chosen = ix.choose(rules)
    if image_vars:
        ix.link(chosen, image_vars[0])
    cases, masks = _assemble(ix, chosen, rois, image_vars) if image_vars else ({}, {})
    columns = image_vars + [c for v, (n, _) in masks.items() for c in ([v] if n is not None else [v, v + ROI_SUFFIX])]
    table = pd.DataFrame.from_dict(cases, orient="index", dtype=object, columns=columns)
    table.index.name = "case_id"

    clinical_df = None
    if clinical is not None:
        clinical_df, table = _join_clinical(ix, Path(clinical), id_column or "case_id", table, chosen)
    out = ArchiveIndex(name=name, entry={}, files=table, series=_series_table(ix),
                       problems=pd.DataFrame(ix.problems, columns=PROBLEM_COLUMNS).sort_values(
                           ["patient", "kind", "file"], kind="stable").reset_index(drop=True))
    counts.update(dicom=sum(1 for r in records.values() if r is not None), image_series=len(ix.series),
                  structure_sets=sum(o["Modality"] == "RTSTRUCT" for o in ix.objects),
                  segs=sum(o["Modality"] == "SEG" for o in ix.objects),
                  patients=len({s["patient"] for s in ix.series.values()} | {o["PatientID"] for o in ix.objects}))
    if catalog is not None and len(table):  # nothing to write for an archive without a usable case
        from radlab.io._archive_write import write_cohort  # writes and validates through radlab.catalog

        catalog = Path(catalog)
        files = Path(files) if files is not None else catalog.parent / f"{name}_files.csv"
        out.entry = write_cohort(catalog, files, name=name, archive=root, table=table, image_vars=image_vars,
                                 mask_vars=list(masks), mask_formats={v: f for v, (_, f) in masks.items()},
                                 roi_names={v: n for v, (n, _) in masks.items()}, clinical=clinical_df, id_column=id_column,
                                 description=description, replace=replace)
        out.catalog, out.files_path = catalog, files
    else:
        out.entry = {"images": {v: {"column": v, "format": "dicom"} for v in image_vars},
                     "masks": {v: mask_entry(v, f, n, image_vars[0]) for v, (n, f) in masks.items()}}
    counts["seconds"] = time.perf_counter() - start
    out.counts = counts
    return out


def _join_clinical(ix: _Index, path: Path, id_column: str, table: pd.DataFrame, chosen) -> tuple[Path, pd.DataFrame]:
    try:
        clinical = pd.read_csv(path, dtype={id_column: str}, keep_default_na=False, na_values=[""])
    except (OSError, ValueError) as exc:
        raise InputError(f"--clinical {path}: cannot read it as CSV ({exc})", file=path) from None
    if id_column not in clinical.columns:
        raise InputError(f"--clinical {path}: no column {id_column!r} (--id); columns: {list(clinical.columns)[:12]}",
                         file=path)
    ids = set(clinical[id_column].dropna())
    for patient in sorted(set(table.index) - ids):
        ix.problem(patient, str(path), "no clinical row", f"patient {patient!r} has no row in {path.name} "
                   f"(column {id_column!r}): left out")
    for patient in sorted(ids - set(table.index)):
        why = "" if patient in chosen else " (no image series of this PatientID in the archive)"
        ix.problem(patient, str(path), "clinical row without images",
                   f"{path.name} has a row for {patient!r} but the archive gives no usable case{why}")
    return path, table.loc[[p for p in table.index if p in ids]]


def _series_table(ix: _Index) -> pd.DataFrame:
    rows = [{"patient": s["patient"], "modality": s["modality"], "description": s["description"],
             "files": len(s["files"]), "slices": s.get("n_slices", 0), "path": s.get("path", s["folder"]),
             "role": s["role"] or ("not used" if s["usable"] else "unusable"), "uid": s["uid"]}
            for s in ix.series.values()]
    rows += [{"patient": o["PatientID"], "modality": o["Modality"], "description": ", ".join(o["rois"]),
              "files": 1, "slices": 0, "path": o["file"],
              "role": f"on {o['target']['role']}" if o.get("target") else "not used", "uid": o["SeriesInstanceUID"]}
             for o in ix.objects]
    columns = ["patient", "modality", "description", "files", "slices", "path", "role", "uid"]
    return pd.DataFrame(rows, columns=columns).sort_values(["patient", "modality", "path"]).reset_index(drop=True)
