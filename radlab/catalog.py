"""The data catalog: cohorts a user opens by name, declared in ``data_catalog.yaml``.

A catalog file looks like::

    cohorts:
      demo:
        description: Synthetic multicentre rectal-cancer-style MRI cohort
        root: ${RADLAB_DATA}/demo          # optional; relative paths resolve against the catalog file
        images:
          T2w: images/{case}/T2w_{timepoint}.nii.gz
          ADC: {path: images/{case}/ADC_{timepoint}.nii.gz}
        timepoints: [pre, post]
        masks:
          tumour: {path: masks/{case}/tumour_{timepoint}.nii.gz, image: T2w}
        clinical: {path: clinical.csv, id: case_id}
        outcomes: {label: pcr, time: os_months, event: os_event}
        batch: [centre, scanner]
        split: split

Images are a path template with ``{case}`` (and ``{timepoint}`` when the cohort has timepoints) or a
``column`` of a per-case path table (``files``). Masks are label maps (``label`` keeps one value), DICOM
RTSTRUCT (``roi`` names the ROI) or DICOM SEG (``roi`` names the segment). A cohort may instead be a
feature table only (``features``), with outcomes in the same table.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from radlab.errors import RadlabError

__all__ = ["Catalog", "CatalogError", "CohortSpec", "open_catalog", "open_cohort"]

_ENV = re.compile(r"\$\{([^}:]+)(?::-([^}]*))?\}")


class CatalogError(RadlabError, ValueError):
    """The catalog file is malformed; the message names the file, cohort, key, rule and value."""


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TableSpec(_Spec):
    path: str
    id: str = "case_id"


class ImageSpec(_Spec):
    path: str | None = None
    column: str | None = None
    format: Literal["auto", "nifti", "nrrd", "mha", "dicom"] = "auto"

    @model_validator(mode="after")
    def _one_source(self):
        if (self.path is None) == (self.column is None):
            raise ValueError("give exactly one of 'path' (a template with {case}) or 'column' (of the files table)")
        if self.path is not None and "{case}" not in self.path:
            raise ValueError(f"the path template must contain '{{case}}'; got {self.path!r}")
        return self


class MaskSpec(ImageSpec):
    format: Literal["auto", "nifti", "nrrd", "mha", "dicom", "rtstruct", "seg"] = "auto"
    image: str = Field(description="name of the image the mask is drawn on")
    roi: str | int | None = None
    label: int | None = None


class OutcomeSpec(_Spec):
    label: str | None = None
    time: str | None = None
    event: str | None = None

    @model_validator(mode="after")
    def _pairs(self):
        if (self.time is None) != (self.event is None):
            raise ValueError("survival outcomes need both 'time' and 'event'")
        return self


class CohortSpec(_Spec):
    description: str = ""
    root: str = "."
    images: dict[str, ImageSpec] = {}
    masks: dict[str, MaskSpec] = {}
    timepoints: list[str] = []
    files: TableSpec | None = None
    clinical: TableSpec | None = None
    features: TableSpec | None = None
    cases: list[str] | None = None
    outcomes: OutcomeSpec = OutcomeSpec()
    batch: list[str] = []
    split: str | None = None
    ground_truth: str | None = None
    resample_masks: bool = False

    @field_validator("images", "masks", mode="before")
    @classmethod
    def _template_shorthand(cls, value):
        # ``T2w: images/{case}.nii.gz`` is shorthand for ``T2w: {path: images/{case}.nii.gz}``
        if isinstance(value, dict):
            return {k: {"path": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _consistent(self):
        if not self.images and self.features is None:
            raise ValueError("a cohort needs 'images' or a 'features' table")
        for name, mask in self.masks.items():
            if mask.image not in self.images:
                raise ValueError(f"mask {name!r} is drawn on image {mask.image!r}, which is not one of {sorted(self.images)}")
        clash = set(self.images) & set(self.masks)
        if clash:
            raise ValueError(f"image and mask names must differ; both use {sorted(clash)}")
        specs = list(self.images.values()) + list(self.masks.values())
        if any(s.column for s in specs) and self.files is None:
            raise ValueError("images or masks given by 'column' need a 'files' table")
        if self.images and self.clinical is None and self.cases is None and self.files is None:
            raise ValueError("an image cohort needs a 'clinical' table, a 'files' table or a 'cases' list for its ids")
        return self


class _CatalogSpec(_Spec):
    version: int = 1
    cohorts: dict[str, CohortSpec]


def _expand_env(value: Any, where: str) -> Any:
    if isinstance(value, dict):
        return {k: _expand_env(v, f"{where}.{k}" if where else k) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_env(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, str):
        def sub(m):
            name, default = m.group(1), m.group(2)
            if name in os.environ:
                return os.environ[name]
            if default is not None:
                return default
            raise CatalogError(f"key {where!r}: environment variable ${{{name}}} is not set (use ${{{name}:-default}} for a default)")
        return _ENV.sub(sub, value)
    return value


class Catalog:
    """The cohorts declared in one catalog file.

    Examples
    --------
    >>> import radlab, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "catalog.yaml"
    >>> _ = path.write_text("cohorts:\\n  wbc:\\n    features: {path: wbc.csv}\\n    outcomes: {label: malignant}\\n")
    >>> catalog = radlab.open_catalog(path)
    >>> catalog.names
    ['wbc']
    >>> catalog.spec("wbc").outcomes.label
    'malignant'
    """

    def __init__(self, path: str | Path):
        self.path = Path(path).resolve()
        try:
            raw = yaml.safe_load(self.path.read_text())
        except FileNotFoundError:
            raise CatalogError(f"catalog file {self.path} not found") from None
        except yaml.YAMLError as exc:
            raise CatalogError(f"catalog {self.path}: malformed YAML: {exc}") from None
        if not isinstance(raw, dict) or not isinstance(raw.get("cohorts"), dict):
            raise CatalogError(f"catalog {self.path}: the top level must be a mapping with a 'cohorts' mapping")
        try:
            raw = _expand_env(raw, "")
        except CatalogError as exc:
            raise CatalogError(f"catalog {self.path}: {exc}") from None
        try:
            self._spec = _CatalogSpec.model_validate(raw)
        except ValidationError as exc:
            raise CatalogError(_describe(self.path, exc)) from None
        self._cohorts: dict[str, Any] = {}

    @property
    def names(self) -> list[str]:
        return list(self._spec.cohorts)

    def spec(self, name: str) -> CohortSpec:
        if name not in self._spec.cohorts:
            raise KeyError(f"no cohort {name!r} in catalog {self.path}; cohorts: {self.names}")
        return self._spec.cohorts[name]

    def root(self, name: str) -> Path:
        return (self.path.parent / self.spec(name).root).resolve()

    def __getitem__(self, name: str):
        from radlab.cohort import Cohort

        if name not in self._cohorts:
            self._cohorts[name] = Cohort(name, self.spec(name), root=self.root(name))
        return self._cohorts[name]

    def __contains__(self, name: str) -> bool:
        return name in self._spec.cohorts

    def __iter__(self):
        return iter(self.names)

    def __repr__(self) -> str:
        return f"<Catalog {self.path} cohorts={self.names}>"


def _describe(path: Path, exc: ValidationError) -> str:
    lines = [f"catalog {path}: {exc.error_count()} problem(s)"]
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        cohort = loc[1] if len(loc) > 1 and loc[0] == "cohorts" else None
        key = ".".join(loc[2:] if cohort else loc) or "(cohort)"
        # pydantic adds the union member tried to the location; drop it from the key shown
        key = re.sub(r"\.(str|int|function-after\[[^\]]*\])", "", key)
        rule = err["msg"].removeprefix("Value error, ")
        value = err.get("input")
        shown = value if not isinstance(value, dict) else {k: value[k] for k in list(value)[:4]}
        where = f"cohort {cohort!r}, key {key!r}" if cohort else f"key {key!r}"
        lines.append(f"  {where}: {rule}; got {shown!r}")
    return "\n".join(lines)


def _default_path() -> Path:
    return Path(os.environ.get("RADLAB_CATALOG", "data_catalog.yaml"))


_OPEN: dict[Path, tuple[float, Catalog]] = {}


def open_catalog(path: str | Path | None = None) -> Catalog:
    """Open (and validate) a catalog: ``path``, else ``$RADLAB_CATALOG``, else ``./data_catalog.yaml``.

    Catalogs are cached per file and reopened when the file changes.
    """
    resolved = Path(path or _default_path()).resolve()
    mtime = resolved.stat().st_mtime if resolved.exists() else -1.0
    cached = _OPEN.get(resolved)
    if cached is None or cached[0] != mtime:
        _OPEN[resolved] = (mtime, Catalog(resolved))
    return _OPEN[resolved][1]


def open_cohort(name: str, catalog: str | Path | Catalog | None = None):
    """Open a cohort by name from a catalog (see :func:`open_catalog`)."""
    cat = catalog if isinstance(catalog, Catalog) else open_catalog(catalog)
    return cat[name]
