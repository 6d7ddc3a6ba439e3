"""Cohorts: case ids, a clinical table and lazily read images and masks per case.

Opening a cohort reads its tables and checks that files exist; it reads no voxels. ``cohort.case(id)``
builds an ``xarray.Dataset`` of dask arrays from cached headers; voxels are read only when computed.

Tables are validated where they enter (:mod:`radlab._tables`): ids are read as text exactly as written ("001"
stays "001"); blank, duplicate and unsafe ids (a ``/``, ``..``, NUL or surrounding spaces), paths outside the
cohort root and invalid outcome values are listed in ``cohort.problems`` (case, file, problem). A case with a bad
id or path is left out; a case with an invalid outcome value keeps its images and gets a missing outcome.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import dask
import dask.array as da
import numpy as np
import pandas as pd
import xarray as xr

from radlab._tables import index_by_id, listed_ids, read_table
from radlab.catalog import CatalogError, CohortSpec, _outside
from radlab.errors import RadlabError
from radlab.io import Header, ReadError, coords_from_geometry, detect_format, read_mask_voxels, read_voxels, same_geometry
from radlab.io._index import HeaderIndex
from radlab.outcomes import column_problem, outcome_problems

__all__ = ["Cohort", "CaseError", "GeometryError"]

log = logging.getLogger(__name__)


class CaseError(RadlabError, ValueError):
    """A problem with one case; the message names the case and the file."""


class GeometryError(CaseError):
    """An image and its mask do not share a grid."""


@dataclass(frozen=True)
class _File:
    var: str  # variable name in the case Dataset, e.g. "T2w_pre"
    name: str  # catalog key, e.g. "T2w"
    path: str
    format: str
    kind: str  # "image" | "mask"
    timepoint: str | None
    image: str | None = None  # masks: the variable of their image
    roi: str | int | None = None
    label: int | None = None
    threshold: float | None = None
    optional: bool = False  # masks: a missing file means the case lacks the mask


PROBLEM_COLUMNS = ["case", "file", "problem"]


def _inside(path: str, root: str) -> bool:
    """Whether ``path`` lies under ``root`` (both absolute and normalised), judged lexically: symlinks are kept."""
    return os.path.commonpath([path, root]) == root


class Cohort:
    """Patients x images x masks with a clinical table, read lazily.

    Use :func:`radlab.open_cohort` rather than constructing one directly.
    """

    def __init__(self, name: str, spec: CohortSpec, *, root: Path, ids: list[str] | None = None,
                 _shared: dict | None = None):
        self.name, self.spec, self.root = name, spec, Path(root)
        self._shared = _shared if _shared is not None else {"index": HeaderIndex(self.root)}
        self._subset = None if ids is None else list(ids)

    # ------------------------------------------------------------------ tables and ids
    @cached_property
    def _tables(self) -> dict[str, Any]:
        if "tables" in self._shared:
            return self._shared["tables"]
        spec, problems, excluded = self.spec, [], set()
        frames, sources = {}, {}
        for key in ("clinical", "features", "files"):
            table_spec = getattr(spec, key)
            if table_spec is not None:
                df = read_table(self.root, table_spec, self.name, key, self._text_columns() if key == "files" else ())
                sources[key] = self._source(key)
                frames[key] = index_by_id(df, table_spec.id, key, sources[key], problems, excluded)
        main = next((k for k in ("clinical", "features", "files") if k in frames), None)
        ids = list(frames[main].index) if main else listed_ids(spec.cases, problems, excluded)
        for key in [k for k in frames if k != main]:  # every case needs a row in each table
            rows = set(frames[key].index)
            for case in ids:
                if case not in rows and case not in excluded:
                    problems.append((case, sources[key], f"no row in the {key} table: case excluded"))
                    excluded.add(case)
            for case in sorted(rows - set(ids) - excluded):
                problems.append((case, sources[key], f"in the {key} table but not in the {main} table: case not opened"))
        self._check_columns(frames, sources)
        self._check_outcomes(frames, sources, problems)
        ids = [i for i in ids if i not in excluded]
        if spec.images or spec.masks:
            ids = self._check_files(ids, problems, frames.get("files"), known=set(ids) | excluded)
        state = {"frames": frames, "ids": ids, "problems": pd.DataFrame(problems, columns=PROBLEM_COLUMNS)}
        self._shared["tables"] = state
        for _, row in state["problems"].iterrows():
            log.warning("cohort %s: case %s: %s (%s)", self.name, row.case or "-", row.problem, row.file)
        return state

    def _text_columns(self) -> tuple[str, ...]:
        """The files table's path and ROI name columns (read as written, like ids)."""
        specs = (*self.spec.images.values(), *self.spec.masks.values())
        return tuple(c for s in specs for c in (s.column, getattr(s, "roi_column", None)) if c is not None)

    def _check_columns(self, frames: dict[str, pd.DataFrame], sources: dict[str, str]) -> None:
        key = "clinical" if "clinical" in frames else "features"
        table = frames.get(key)
        wanted = {f"outcomes.{k}": v for k, v in self.spec.outcomes.model_dump().items() if v}
        wanted |= {f"batch[{i}]": c for i, c in enumerate(self.spec.batch)}
        if self.spec.split:
            wanted["split"] = self.spec.split
        for name, col in wanted.items():
            if table is None or col not in table.columns:
                where = f" {sources[key]} (columns: {list(table.columns)[:12]})" if table is not None else " (the cohort has none)"
                raise CatalogError(f"cohort {self.name!r}, key {name!r}: column {col!r} is not in the clinical table{where}",
                                   file=sources.get(key, ""))
        for group in ("images", "masks"):
            for name, s in getattr(self.spec, group).items():
                for attr in ("column", "roi_column"):
                    col = getattr(s, attr, None)
                    if col is not None and ("files" not in frames or col not in frames["files"].columns):
                        raise CatalogError(f"cohort {self.name!r}, key '{group}.{name}.{attr}': column {col!r} is not in "
                                           f"the files table {sources.get('files', '(the cohort has none)')}",
                                           file=sources.get("files", ""))

    def _check_outcomes(self, frames: dict[str, pd.DataFrame], sources: dict[str, str], problems: list) -> None:
        """Outcome values must be valid: a wrongly coded column is an error, a bad value is listed and set missing."""
        key = "clinical" if "clinical" in frames else "features"
        if key not in frames:
            return
        table = frames[key]
        for kind, col in self.outcomes.items():
            coding = column_problem(table[col], kind, column=col)
            if coding is not None:
                raise CatalogError(f"cohort {self.name!r}, key 'outcomes.{kind}': {coding} (in {sources[key]})",
                                   file=sources[key])
            bad = outcome_problems(table[col], kind, column=col).dropna()
            if bad.empty:
                continue
            for case, text in bad.items():
                problems.append((case, sources[key], f"{text}: set to missing for this case (the case is kept)"))
            values = table[col].where(~table.index.isin(bad.index))
            try:  # what remains of a column that held text ("yes") is numbers again
                values = pd.to_numeric(values)
            except (TypeError, ValueError):
                pass
            table[col] = values

    def _check_files(self, ids, problems, files_table, *, known: set[str]):
        out = []
        for case in ids:
            try:
                files = self._files(case, files_table)
            except CaseError as exc:
                problems.append((case, exc.file, f"{exc}: case excluded"))
                continue
            missing = [f.path for f in files if not f.optional and not os.path.exists(f.path)]
            if missing:
                problems.append((case, missing[0], f"file not found ({len(missing)} of the case's files missing): case excluded"))
            else:
                out.append(case)
        first = next(iter(self.spec.images.values()), None) or next(iter(self.spec.masks.values()))
        if first.path is not None and not _outside(first.path):  # images elsewhere are not the cohort's to list
            for case in sorted(self._discover(first.path) - known):
                problems.append((case, str(self.root / first.path).replace("{case}", case), "images without a clinical row: case not opened"))
        return out

    def _discover(self, template: str) -> set[str]:
        tp = self.spec.timepoints[0] if self.spec.timepoints else ""
        concrete = template.replace("{timepoint}", tp)
        pattern = re.compile(re.escape(concrete).replace(re.escape("{case}"), "(?P<case>[^/]+)") + "$")
        found = set()
        for path in self.root.glob(concrete.replace("{case}", "*")):
            m = pattern.search(path.relative_to(self.root).as_posix())
            if m:
                found.add(m.group("case"))
        return found

    @property
    def ids(self) -> list[str]:
        """Case ids (those whose files all exist and whose ids are unique)."""
        all_ids = self._tables["ids"]
        if self._subset is None:
            return list(all_ids)
        usable = set(all_ids)
        return [i for i in self._subset if i in usable]

    @property
    def problems(self) -> pd.DataFrame:
        """What was found wrong when the cohort was opened, one row per case and file: case, file, problem.

        Cases with a bad id, a missing file or no row in a table are left out; a case with an invalid outcome
        value is kept with that outcome missing. ``case`` is "" for a row without an id."""
        return self._tables["problems"].copy()

    @property
    def clinical(self) -> pd.DataFrame:
        """Clinical table (outcomes, batch labels, ...) indexed by case id."""
        frames = self._tables["frames"]
        table = frames.get("clinical")
        if table is None and "features" in frames:
            meta = [c for c in (*self.spec.outcomes.model_dump().values(), *self.spec.batch, self.spec.split) if c]
            table = frames["features"][meta]
        if table is None:
            table = pd.DataFrame(index=pd.Index(self._tables["ids"], name="case"))
        return table.loc[self.ids].copy()

    @property
    def features(self) -> pd.DataFrame:
        """The precomputed feature table of a feature-table cohort (case x feature)."""
        frames = self._tables["frames"]
        if "features" not in frames:
            raise AttributeError(f"cohort {self.name!r} has no feature table (extract features with radlab.features.extract)")
        meta = {c for c in (*self.spec.outcomes.model_dump().values(), *self.spec.batch, self.spec.split) if c}
        table = frames["features"]
        return table.loc[self.ids, [c for c in table.columns if c not in meta]].copy()

    @property
    def outcomes(self) -> dict[str, str]:
        """Outcome roles mapped to clinical columns, e.g. ``{"label": "pcr", "time": ..., "event": ...}``."""
        return {k: v for k, v in self.spec.outcomes.model_dump().items() if v}

    @property
    def batch(self) -> list[str]:
        return list(self.spec.batch)

    @property
    def images(self) -> list[str]:
        """Names of the image variables of each case (sequence, or sequence_timepoint)."""
        return [f.var for f in self._files(self.ids[0]) if f.kind == "image"] if self.ids else []

    @property
    def masks(self) -> list[str]:
        """Names of the mask variables (an optional mask counts when any case has it)."""
        if not any(m.optional for m in self.spec.masks.values()):
            return [f.var for f in self._files(self.ids[0]) if f.kind == "mask"] if self.ids else []
        seen = {f.var: f.name for case in self.ids for f in self._files(case) if f.kind == "mask"}
        order = list(self.spec.masks)
        return sorted(seen, key=lambda v: order.index(seen[v]))  # catalog order (stable: timepoints as seen)

    @cached_property
    def ground_truth(self) -> dict:
        """What the generator of a synthetic cohort knows (which signal lives where); {} otherwise."""
        import json

        if not self.spec.ground_truth:
            return {}
        path = os.path.normpath(self.root / self.spec.ground_truth)
        try:
            return json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CatalogError(f"cohort {self.name!r}, key 'ground_truth': cannot read {path} ({exc})", file=path) from None

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        kind = (f"images={list(self.spec.images)} masks={list(self.spec.masks)}" if self.spec.images or self.spec.masks
                else "feature table")
        return f"<Cohort {self.name!r}: {len(self)} cases, {kind}>"

    # ------------------------------------------------------------------ subsetting
    def subset(self, ids=None, *, query: str | None = None, **columns) -> Cohort:
        """A cohort of fewer cases, chosen by ids, a clinical ``query`` or column values.

        ``cohort.subset(centre="A")``, ``cohort.subset(split=["train", "validation"])``,
        ``cohort.subset(query="age > 60 and t_stage >= 3")``.
        """
        clinical = self.clinical
        keep = pd.Series(True, index=clinical.index)
        if ids is not None:
            ids = [str(i) for i in ([ids] if isinstance(ids, str) else ids)]
            unknown = sorted(set(ids) - set(clinical.index))
            if unknown:
                raise KeyError(f"cohort {self.name!r} has no cases {unknown[:5]}")
            keep &= clinical.index.isin(ids)
        for col, value in columns.items():
            if col not in clinical.columns:
                raise KeyError(f"cohort {self.name!r} has no clinical column {col!r} (columns: {list(clinical.columns)})")
            values = value if isinstance(value, (list, tuple, set)) else [value]
            keep &= clinical[col].isin(values)
        if query is not None:
            keep &= clinical.index.isin(clinical.query(query).index)
        chosen = [i for i in (ids or clinical.index) if keep.get(i, False)]
        return Cohort(self.name, self.spec, root=self.root, ids=chosen, _shared=self._shared)

    # ------------------------------------------------------------------ files and headers
    def _files(self, case: str, files_table: pd.DataFrame | None = None) -> list[_File]:
        memo = self._shared.setdefault("files", {})
        if case not in memo:
            memo[case] = self._resolve_files(case, files_table)
        return memo[case]

    def _resolve_files(self, case: str, files_table: pd.DataFrame | None) -> list[_File]:
        if files_table is None and self.spec.files is not None:
            files_table = self._tables["frames"]["files"]
        out = []
        tps = self.spec.timepoints or [None]
        root = os.path.abspath(self.root)

        def resolve(group, name, spec, tp):
            if spec.column is not None:
                rel = files_table.at[case, spec.column]  # text as written ("" for a blank cell)
                where = f"column {spec.column!r} of the files table"
                if not rel.strip():
                    raise CaseError(f"cohort {self.name!r}, case {case!r}: no path in {where}", file=self._source("files"),
                                    case=case)
            else:
                where = f"key '{group}.{name}.path'"
                rel = spec.path.replace("{case}", case)
                if tp is not None:
                    rel = rel.replace("{timepoint}", tp)
            path = os.path.normpath(os.path.join(root, rel))
            if not self.spec.allow_outside_root and not _inside(path, root):
                raise CaseError(f"cohort {self.name!r}, case {case!r}: {where} gives {rel!r}, which lies outside the "
                                f"cohort root {root}; keep the data under the root, or set allow_outside_root: true for "
                                "the cohort", file=path, case=case)
            if spec.format != "auto":
                return path, spec.format
            try:
                return path, detect_format(path)
            except (ReadError, OSError):  # a missing or unreadable file: reported by the caller
                return path, "auto"

        def var(name, spec, tp):
            timed = tp is not None and (spec.column is not None or "{timepoint}" in spec.path)
            return (f"{name}_{tp}" if timed else name), (tp if timed else None)

        for tp in tps:
            for name, spec in self.spec.images.items():
                v, t = var(name, spec, tp)
                if any(f.var == v for f in out):
                    continue
                path, fmt = resolve("images", name, spec, tp)
                out.append(_File(v, name, path, fmt, "image", t))
            for name, spec in self.spec.masks.items():
                v, t = var(name, spec, tp)
                if any(f.var == v for f in out):
                    continue
                image_var = var(spec.image, self.spec.images[spec.image], tp)[0] if spec.image else None
                path, fmt = resolve("masks", name, spec, tp)
                if spec.optional and not os.path.exists(path):
                    continue  # this case lacks the mask: no variable
                roi = spec.roi
                if spec.roi_column is not None:
                    roi = files_table.at[case, spec.roi_column]  # text as written ("" for a blank cell)
                    if not roi.strip():
                        raise CaseError(f"cohort {self.name!r}, case {case!r}: no ROI name in column {spec.roi_column!r} "
                                        "of the files table", file=self._source("files"), case=case)
                out.append(_File(v, name, path, fmt, "mask", t, image=image_var, roi=roi, label=spec.label,
                                 threshold=spec.threshold, optional=spec.optional))
        return out

    def _source(self, key: str) -> str:
        """The path of one of the cohort's tables ("clinical", "features", "files")."""
        return os.path.normpath(self.root / getattr(self.spec, key).path)

    def _header(self, case: str, f: _File) -> Header:
        try:
            return self._shared["index"].get(f.path, f.format)
        except RadlabError as exc:
            raise CaseError(f"cohort {self.name!r}, case {case!r}: {exc}", file=exc.file or f.path, case=case) from None
        except Exception as exc:  # the libraries behind the readers raise many types for a damaged file
            raise CaseError(f"cohort {self.name!r}, case {case!r}: {f.path}: cannot read its header "
                            f"({type(exc).__name__}: {exc})", file=f.path, case=case) from None

    def headers(self, ids=None, *, progress: bool = True) -> dict[str, dict[str, Header]]:
        """Headers of every image (and label-map mask) per case, read once and cached on disk.

        A header that cannot be read is left out and logged (one bad file does not stop the others);
        ``acquisition().attrs["problems"]`` and :meth:`check` list them.
        """
        return self._read_headers(ids, progress)[0]

    def _read_headers(self, ids, progress: bool) -> tuple[dict[str, dict[str, Header]], list[tuple[str, str, str]]]:
        from tqdm.auto import tqdm

        out, problems = {}, []
        for case in tqdm(self.ids if ids is None else ids, desc=f"{self.name}: headers", disable=not progress):
            out[case] = {}
            for f in self._files(case):
                if f.format in ("rtstruct", "seg"):
                    continue
                try:
                    out[case][f.var] = self._header(case, f)
                except CaseError as exc:
                    problems.append((case, exc.file, str(exc)))
                    log.warning("%s", exc)
        self._shared["index"].save()
        return out, problems

    # ------------------------------------------------------------------ one case
    def case(self, case_id: str, *, resample_masks: bool | None = None) -> xr.Dataset:
        """The images and masks of one case as a lazy ``xarray.Dataset``.

        Images on the same grid share dims ``z, y, x``; an image on another grid gets its own dims
        (``z_ADC, y_ADC, x_ADC``). Masks always lie on their image's grid: a label map on a different
        grid raises :class:`GeometryError` unless ``resample_masks`` (or the catalog's
        ``resample_masks: true``) resamples it with nearest-neighbour interpolation. An error reading voxels
        (when computed) names the cohort and the case.
        """
        case_id = str(case_id)
        if not self.spec.images and not self.spec.masks:
            raise CaseError(f"cohort {self.name!r} is a feature table: it has no images (case {case_id!r})", case=case_id)
        if case_id not in set(self._tables["ids"]):
            bad = self.problems[self.problems.case == case_id]
            why = f": {bad.problem.iloc[0]} ({bad.file.iloc[0]})" if len(bad) else ""
            raise CaseError(f"cohort {self.name!r} has no usable case {case_id!r}{why}",
                            file=bad.file.iloc[0] if len(bad) else "", case=case_id)
        resample = self.spec.resample_masks if resample_masks is None else resample_masks
        files = self._files(case_id)
        headers = {f.var: self._header(case_id, f) for f in files if f.kind == "image"}
        grids: list[tuple[Header, tuple[str, str, str]]] = []
        variables = {}

        def dims_for(h: Header, var: str):
            for g, dims in grids:
                if not same_geometry(g.geometry, h.geometry, shape_a=g.shape, shape_b=h.shape):
                    return dims
            dims = ("z", "y", "x") if not grids else (f"z_{var}", f"y_{var}", f"x_{var}")
            grids.append((h, dims))
            return dims

        for f in files:
            if f.kind == "image":
                h = headers[f.var]
                data = _lazy(read_voxels, h, shape=h.shape, dtype=h.dtype, token=("img", h.path), context=(self.name, case_id))
                attrs = {"role": "image", "sequence": f.name, "timepoint": f.timepoint}
            else:
                h = headers[f.image] if f.image else self._header(case_id, f)  # mask-only: its own grid
                data = self._mask_array(case_id, f, h, resample)
                attrs = {"role": "mask", "image": f.image, "timepoint": f.timepoint, "label": f.label,
                         "threshold": f.threshold}
            attrs = {k: v for k, v in attrs.items() if v is not None}
            variables[f.var] = xr.Variable(dims_for(h, f.var), data, attrs={
                **attrs, **h.geometry, "source": f.path, "format": f.format, **({"roi": f.roi} if f.roi is not None else {})})
        coords = [_coordinates(dims, h.shape, h.spacing, h.origin) for h, dims in grids]
        coords = coords[0] if len(coords) == 1 else {k: v for c in coords for k, v in c.items()}
        return xr.Dataset(variables, coords=coords, attrs={"case": case_id, "cohort": self.name})

    def _mask_array(self, case_id, f: _File, ref: Header, resample: bool):
        where = f"cohort {self.name!r}, case {case_id!r}"
        if f.format in ("rtstruct", "seg"):
            if f.label is not None or (f.format == "rtstruct" and f.threshold is not None):
                raise CaseError(f"{where}: mask {f.path} is a DICOM {f.format}: 'label' and 'threshold' apply to label maps "
                                "(use 'roi')", file=f.path, case=case_id)
            kwargs = {"threshold": f.threshold} if f.threshold is not None else {}
            return _lazy(read_mask_voxels, f.path, f.format, ref, roi=f.roi, **kwargs, shape=ref.shape, dtype="uint8",
                         token=("mask", f.path, f.roi, f.threshold, ref.path), context=(self.name, case_id))
        h = self._header(case_id, f)
        diffs = same_geometry(ref.geometry, h.geometry, shape_a=ref.shape, shape_b=h.shape)
        if diffs and not resample:
            raise GeometryError(
                f"{where}: mask {f.path} does not lie on image {ref.path}: "
                + "; ".join(diffs) + " (open with resample_masks=True to resample the mask onto the image grid)",
                file=f.path, case=case_id)
        fn = _read_resampled_mask if diffs else read_mask_voxels
        kwargs = {"threshold": f.threshold} if f.threshold is not None else {}
        binary = f.label is not None or f.threshold is not None or diffs
        return _lazy(fn, f.path, f.format, ref, label=f.label, **kwargs, shape=ref.shape, dtype="uint8" if binary else h.dtype,
                     token=("mask", f.path, f.label, f.threshold, bool(diffs)), context=(self.name, case_id))

    # ------------------------------------------------------------------ cohort-wide tables and checks
    def acquisition(self, ids=None, *, progress: bool = False) -> pd.DataFrame:
        """Acquisition parameters per case and image: vendor, model, field strength, slice thickness,
        spacing, TR/TE, kernel (from DICOM headers or BIDS sidecars where present) and geometry.

        Never raises for a case: an image whose header cannot be read has no row and is listed in
        ``attrs["problems"]`` (records of case, file, problem; ``pd.DataFrame(acq.attrs["problems"])``).
        """
        headers, problems = self._read_headers(ids, progress)
        rows, images = [], set(self.images)  # once: self.images lists the cohort's ids
        for case, hs in headers.items():
            for var, h in hs.items():
                if var not in images:
                    continue
                row = {"case": case, "image": var, "format": h.format, "nz": h.shape[0], "ny": h.shape[1], "nx": h.shape[2],
                       "spacing_x": h.spacing[0], "spacing_y": h.spacing[1], "spacing_z": h.spacing[2], **h.meta}
                rows.append(row)
        columns = ["case", "image", "format", "vendor", "model", "field_strength", "slice_thickness", "spacing_x",
                   "spacing_y", "spacing_z", "nz", "ny", "nx", "repetition_time", "echo_time", "kernel"]
        df = pd.DataFrame(rows)
        df = df.reindex(columns=columns + [c for c in df.columns if c not in columns])
        df.attrs["problems"] = [dict(zip(PROBLEM_COLUMNS, p)) for p in problems]
        return df

    def check(self, *, voxels: bool = True, progress: bool = True) -> pd.DataFrame:
        """Check every case (headers, what the readers skipped, image/mask geometry and, with ``voxels``, readable
        data and non-empty masks) and return all problems found, one row per case and file (the file at fault),
        the problems found when opening first. Never raises for a case: an unexpected error becomes a row too."""
        from tqdm.auto import tqdm

        rows = [tuple(r) for r in self.problems.itertuples(index=False)]
        cases = self.ids if self.spec.images or self.spec.masks else []  # a feature table has no files to read
        for case in tqdm(cases, desc=f"{self.name}: check", disable=not progress):
            rows += self._check_case(case, voxels)
        self._shared["index"].save()
        return pd.DataFrame(rows, columns=PROBLEM_COLUMNS)

    def _check_case(self, case: str, voxels: bool) -> list[tuple[str, str, str]]:
        rows, unreadable = [], False
        for f in self._files(case):
            if f.format in ("rtstruct", "seg"):
                continue
            try:
                header = self._header(case, f)
            except CaseError as exc:
                rows.append((case, exc.file, str(exc)))
                unreadable = True
                continue
            rows += [(case, header.path, note) for note in getattr(header, "notes", ())]
        if unreadable:  # building the case would only fail again on the same file
            return rows
        try:
            ds = self.case(case)
        except RadlabError as exc:
            return rows + [(case, exc.file, str(exc))]
        except Exception as exc:  # a bug or a library's surprise: a row, not the end of the check
            return rows + [(case, "", f"cohort {self.name!r}, case {case!r}: unexpected {type(exc).__name__}: {exc}")]
        for var in ds.data_vars if voxels else ():
            source = ds[var].attrs["source"]
            try:
                values = ds[var].values
            except RadlabError as exc:
                rows.append((case, exc.file or source, str(exc)))
                continue
            except Exception as exc:
                rows.append((case, source, f"cohort {self.name!r}, case {case!r}: unexpected {type(exc).__name__} "
                                           f"reading {var!r}: {exc}"))
                continue
            if ds[var].attrs["role"] == "mask" and not np.any(values):
                rows.append((case, source, f"mask {var!r} is empty"))
        return rows

    def to_grid(self, *, spacing=(1.0, 1.0, 1.0), shape=(32, 64, 64), crop: str | None = "roi", margin: float = 0.0,
                images: list[str] | None = None, mask: str | None = None, include_mask: bool = False) -> xr.DataArray:
        """A dense lazy array (case, channel, z, y, x) for deep learning; see :func:`radlab.grid.to_grid`."""
        from radlab.grid import to_grid

        return to_grid(self, spacing=spacing, shape=shape, crop=crop, margin=margin, images=images, mask=mask,
                       include_mask=include_mask)


@functools.lru_cache(maxsize=4096)
def _coordinates(dims, shape, spacing, origin) -> xr.Coordinates:
    """Physical coordinates (mm) with their indexes, built once per grid: cases on the same grid share them,
    so the arrays are read-only (an in-place edit would change every case on that grid)."""
    values = list(coords_from_geometry(shape[::-1], spacing, origin).values())
    for v in values:
        v.flags.writeable = False
    return xr.Coordinates({dim: (dim, v, {"units": "mm"}) for dim, v in zip(dims, values)})


def _read_resampled_mask(path: str, fmt: str, reference: Header, *, label=None, threshold=None) -> np.ndarray:
    import SimpleITK as sitk

    from radlab.io import read_header

    kwargs = {"threshold": threshold} if threshold is not None else {}
    moving = sitk.GetImageFromArray(read_mask_voxels(path, fmt, reference, label=label, **kwargs).astype(np.uint8))
    h = read_header(path, fmt)
    moving.SetSpacing(h.spacing), moving.SetOrigin(h.origin), moving.SetDirection(h.direction)
    ref = sitk.Image([int(s) for s in reference.shape[::-1]], sitk.sitkUInt8)
    ref.SetSpacing(reference.spacing), ref.SetOrigin(reference.origin), ref.SetDirection(reference.direction)
    return sitk.GetArrayFromImage(sitk.Resample(moving, ref, sitk.Transform(), sitk.sitkNearestNeighbor, 0))


def _in_case(fn, cohort: str, case: str, *args, **kwargs):
    """``fn(*args, **kwargs)``; a radlab error it raises names the cohort and the case in front of its message."""
    try:
        return fn(*args, **kwargs)
    except RadlabError as exc:
        exc.args = (f"cohort {cohort!r}, case {case!r}: {exc}",)
        exc.case = exc.case or case
        raise


def _lazy(fn, *args, shape, dtype, token, context: tuple[str, str], **kwargs) -> da.Array:
    """One-chunk dask array whose only task calls ``fn(*args, **kwargs)``; ``context`` is the (cohort, case)
    a read error names.

    Built directly from a one-task graph: ``dask.delayed`` would walk every argument looking for
    collections, which costs more than reading the headers for a 1,000-case cohort.
    """
    name = f"{fn.__name__}-{dask.base.tokenize(*token)}"
    call = functools.partial(_in_case, fn, *context, **kwargs)
    return da.Array({(name, 0, 0, 0): (call, *args)}, name, chunks=tuple((int(s),) for s in shape), dtype=np.dtype(dtype))
