"""Cohorts: case ids, a clinical table and lazily read images and masks per case.

Opening a cohort reads its tables and checks that files exist; it reads no voxels. ``cohort.case(id)``
builds an ``xarray.Dataset`` of dask arrays from cached headers; voxels are read only when computed.
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

from radlab.catalog import CatalogError, CohortSpec
from radlab.errors import RadlabError
from radlab.io._geometry import coords_from_geometry, same_geometry
from radlab.io._index import HeaderIndex
from radlab.io._readers import Header, ReadError, detect_format, read_mask_voxels, read_voxels

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


def _read_table(root: Path, spec, cohort: str, key: str) -> pd.DataFrame:
    path = (root / spec.path).resolve()
    try:
        df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except FileNotFoundError:
        raise CatalogError(f"cohort {cohort!r}, key '{key}.path': file {path} not found") from None
    except Exception as exc:
        raise CatalogError(f"cohort {cohort!r}, key '{key}.path': cannot read {path}: {exc}") from None
    if spec.id not in df.columns:
        raise CatalogError(f"cohort {cohort!r}, key '{key}.id': column {spec.id!r} not in {path.name} (columns: {list(df.columns)[:12]})")
    return df


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
        spec, problems = self.spec, []
        frames = {}
        for key in ("clinical", "features", "files"):
            table_spec = getattr(spec, key)
            if table_spec is None:
                continue
            df = _read_table(self.root, table_spec, self.name, key)
            ids = df[table_spec.id]
            source = str((self.root / table_spec.path).resolve())
            for row in np.flatnonzero(ids.isna().to_numpy()):
                problems.append(("", source, f"row {row + 2} has no case id in column {table_spec.id!r}"))
            df = df[ids.notna()].copy()
            df[table_spec.id] = df[table_spec.id].astype(str)
            dup = df[table_spec.id].duplicated(keep=False)
            for case in sorted(set(df.loc[dup, table_spec.id])):
                problems.append((case, source, f"duplicate case id in {key} table: case excluded"))
            frames[key] = df[~dup].set_index(table_spec.id).rename_axis("case")
        main = frames.get("clinical", frames.get("features", frames.get("files")))
        if main is not None:
            ids = list(main.index)
        else:
            ids = [str(c) for c in spec.cases]
        excluded = {p[0] for p in problems if p[0]}
        self._check_columns(frames)
        if spec.images:
            ids, problems = self._check_files(ids, problems, frames.get("files"), known=set(ids) | excluded)
        state = {"frames": frames, "ids": [i for i in ids if i not in excluded],
                 "problems": pd.DataFrame(problems, columns=["case", "file", "problem"])}
        self._shared["tables"] = state
        for _, row in state["problems"].iterrows():
            log.warning("cohort %s: case %s: %s (%s)", self.name, row.case or "-", row.problem, row.file)
        return state

    def _check_columns(self, frames: dict[str, pd.DataFrame]) -> None:
        table = frames.get("clinical", frames.get("features"))
        wanted = {f"outcomes.{k}": v for k, v in self.spec.outcomes.model_dump().items() if v}
        wanted |= {f"batch[{i}]": c for i, c in enumerate(self.spec.batch)}
        if self.spec.split:
            wanted["split"] = self.spec.split
        for key, col in wanted.items():
            if table is None or col not in table.columns:
                raise CatalogError(f"cohort {self.name!r}, key {key!r}: column {col!r} is not in the clinical table")

    def _check_files(self, ids, problems, files_table, *, known: set[str]):
        out = []
        for case in ids:
            missing = [f.path for f in self._files(case, files_table) if not os.path.exists(f.path)]
            if missing:
                problems.append((case, missing[0], f"file not found ({len(missing)} of the case's files missing): case excluded"))
            else:
                out.append(case)
        first = next(iter(self.spec.images.values()))
        if first.path is not None:
            for case in sorted(self._discover(first.path) - known):
                problems.append((case, str(self.root / first.path).replace("{case}", case), "images without a clinical row: case not opened"))
        return out, problems

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
        return [i for i in self._subset if i in set(all_ids)]

    @property
    def problems(self) -> pd.DataFrame:
        """Cases left out when the cohort was opened: case, file and what is wrong."""
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
        return [f.var for f in self._files(self.ids[0]) if f.kind == "mask"] if self.ids else []

    @cached_property
    def ground_truth(self) -> dict:
        """What the generator of a synthetic cohort knows (which signal lives where); {} otherwise."""
        import json

        return json.loads((self.root / self.spec.ground_truth).read_text()) if self.spec.ground_truth else {}

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        kind = f"images={list(self.spec.images)} masks={list(self.spec.masks)}" if self.spec.images else "feature table"
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
        root = str(self.root.resolve())

        def resolve(spec, tp):
            if spec.column is not None:
                rel = str(files_table.at[case, spec.column])
            else:
                rel = spec.path.replace("{case}", case)
                if tp is not None:
                    rel = rel.replace("{timepoint}", tp)
            path = os.path.normpath(os.path.join(root, rel))
            if spec.format != "auto":
                return path, spec.format
            try:
                return path, detect_format(path)
            except ReadError:  # a missing file: reported by the caller
                return path, "auto"

        def var(name, spec, tp):
            timed = tp is not None and (spec.column is not None or "{timepoint}" in spec.path)
            return (f"{name}_{tp}" if timed else name), (tp if timed else None)

        for tp in tps:
            for name, spec in self.spec.images.items():
                v, t = var(name, spec, tp)
                if any(f.var == v for f in out):
                    continue
                path, fmt = resolve(spec, tp)
                out.append(_File(v, name, path, fmt, "image", t))
            for name, spec in self.spec.masks.items():
                v, t = var(name, spec, tp)
                if any(f.var == v for f in out):
                    continue
                image_var, _ = var(spec.image, self.spec.images[spec.image], tp)
                path, fmt = resolve(spec, tp)
                out.append(_File(v, name, path, fmt, "mask", t, image=image_var, roi=spec.roi, label=spec.label))
        return out

    def _header(self, case: str, f: _File) -> Header:
        try:
            return self._shared["index"].get(f.path, f.format)
        except ReadError as exc:
            raise CaseError(f"cohort {self.name!r}, case {case!r}: {exc}") from None

    def headers(self, ids=None, *, progress: bool = True) -> dict[str, dict[str, Header]]:
        """Headers of every image (and label-map mask) per case, read once and cached on disk."""
        from tqdm.auto import tqdm

        out = {}
        for case in tqdm(self.ids if ids is None else ids, desc=f"{self.name}: headers", disable=not progress):
            out[case] = {f.var: self._header(case, f) for f in self._files(case) if f.format not in ("rtstruct", "seg")}
        self._shared["index"].save()
        return out

    # ------------------------------------------------------------------ one case
    def case(self, case_id: str, *, resample_masks: bool | None = None) -> xr.Dataset:
        """The images and masks of one case as a lazy ``xarray.Dataset``.

        Images on the same grid share dims ``z, y, x``; an image on another grid gets its own dims
        (``z_ADC, y_ADC, x_ADC``). Masks always lie on their image's grid: a label map on a different
        grid raises :class:`GeometryError` unless ``resample_masks`` (or the catalog's
        ``resample_masks: true``) resamples it with nearest-neighbour interpolation.
        """
        case_id = str(case_id)
        if not self.spec.images:
            raise CaseError(f"cohort {self.name!r} is a feature table: it has no images (case {case_id!r})")
        if case_id not in set(self._tables["ids"]):
            bad = self.problems[self.problems.case == case_id]
            why = f": {bad.problem.iloc[0]} ({bad.file.iloc[0]})" if len(bad) else ""
            raise CaseError(f"cohort {self.name!r} has no usable case {case_id!r}{why}")
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
                data = _lazy(read_voxels, h, shape=h.shape, dtype=h.dtype, token=("img", h.path))
                attrs = {"role": "image", "sequence": f.name, "timepoint": f.timepoint}
            else:
                h = headers[f.image]
                data = self._mask_array(case_id, f, h, headers, resample)
                attrs = {"role": "mask", "image": f.image, "timepoint": f.timepoint}
            attrs = {k: v for k, v in attrs.items() if v is not None}
            variables[f.var] = xr.Variable(dims_for(h, f.var), data, attrs={
                **attrs, **h.geometry, "source": f.path, "format": f.format, **({"roi": f.roi} if f.roi is not None else {})})
        coords = [_coordinates(dims, h.shape, h.spacing, h.origin) for h, dims in grids]
        coords = coords[0] if len(coords) == 1 else {k: v for c in coords for k, v in c.items()}
        return xr.Dataset(variables, coords=coords, attrs={"case": case_id, "cohort": self.name})

    def _mask_array(self, case_id, f: _File, ref: Header, headers, resample: bool):
        if f.format in ("rtstruct", "seg"):
            return _lazy(read_mask_voxels, f.path, f.format, ref, roi=f.roi, shape=ref.shape, dtype="uint8",
                         token=("mask", f.path, f.roi, ref.path))
        h = self._header(case_id, f)
        diffs = same_geometry(ref.geometry, h.geometry, shape_a=ref.shape, shape_b=h.shape)
        if diffs and not resample:
            raise GeometryError(
                f"cohort {self.name!r}, case {case_id!r}: mask {f.path} does not lie on image {ref.path}: "
                + "; ".join(diffs) + " (open with resample_masks=True to resample the mask onto the image grid)")
        fn = _read_resampled_mask if diffs else read_mask_voxels
        return _lazy(fn, f.path, f.format, ref, label=f.label, shape=ref.shape, dtype="uint8" if f.label is not None or diffs else h.dtype,
                     token=("mask", f.path, f.label, bool(diffs)))

    # ------------------------------------------------------------------ cohort-wide tables and checks
    def acquisition(self, ids=None, *, progress: bool = False) -> pd.DataFrame:
        """Acquisition parameters per case and image: vendor, model, field strength, slice thickness,
        spacing, TR/TE, kernel (from DICOM headers or BIDS sidecars where present) and geometry."""
        rows = []
        for case, hs in self.headers(ids, progress=progress).items():
            for var, h in hs.items():
                if var not in self.images:
                    continue
                row = {"case": case, "image": var, "format": h.format, "nz": h.shape[0], "ny": h.shape[1], "nx": h.shape[2],
                       "spacing_x": h.spacing[0], "spacing_y": h.spacing[1], "spacing_z": h.spacing[2], **h.meta}
                rows.append(row)
        columns = ["case", "image", "format", "vendor", "model", "field_strength", "slice_thickness", "spacing_x",
                   "spacing_y", "spacing_z", "nz", "ny", "nx", "repetition_time", "echo_time", "kernel"]
        df = pd.DataFrame(rows)
        return df.reindex(columns=columns + [c for c in df.columns if c not in columns])

    def check(self, *, voxels: bool = True, progress: bool = True) -> pd.DataFrame:
        """Check every case (headers, image/mask geometry and, with ``voxels``, readable data and
        non-empty masks) and return all problems found, one row per case and file; never raises for a case."""
        from tqdm.auto import tqdm

        rows = [tuple(r) for r in self.problems.itertuples(index=False)]
        for case in tqdm(self.ids, desc=f"{self.name}: check", disable=not progress):
            try:
                ds = self.case(case)
                if voxels:
                    for var in ds.data_vars:
                        values = ds[var].values
                        if ds[var].attrs["role"] == "mask" and not np.any(values):
                            rows.append((case, ds[var].attrs["source"], f"mask {var!r} is empty"))
            except (CaseError, ReadError) as exc:
                path = getattr(exc, "filename", None) or str(exc).split(":")[0]
                rows.append((case, path, str(exc)))
        self._shared["index"].save()
        return pd.DataFrame(rows, columns=["case", "file", "problem"])

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


def _read_resampled_mask(path: str, fmt: str, reference: Header, *, label=None) -> np.ndarray:
    import SimpleITK as sitk

    from radlab.io._readers import read_header

    moving = sitk.GetImageFromArray(read_mask_voxels(path, fmt, reference, label=label).astype(np.uint8))
    h = read_header(path, fmt)
    moving.SetSpacing(h.spacing), moving.SetOrigin(h.origin), moving.SetDirection(h.direction)
    ref = sitk.Image([int(s) for s in reference.shape[::-1]], sitk.sitkUInt8)
    ref.SetSpacing(reference.spacing), ref.SetOrigin(reference.origin), ref.SetDirection(reference.direction)
    return sitk.GetArrayFromImage(sitk.Resample(moving, ref, sitk.Transform(), sitk.sitkNearestNeighbor, 0))


def _lazy(fn, *args, shape, dtype, token, **kwargs) -> da.Array:
    """One-chunk dask array whose only task calls ``fn(*args, **kwargs)``.

    Built directly from a one-task graph: ``dask.delayed`` would walk every argument looking for
    collections, which costs more than reading the headers for a 1,000-case cohort.
    """
    name = f"{fn.__name__}-{dask.base.tokenize(*token)}"
    call = functools.partial(fn, **kwargs) if kwargs else fn
    return da.Array({(name, 0, 0, 0): (call, *args)}, name, chunks=tuple((int(s),) for s in shape), dtype=np.dtype(dtype))
