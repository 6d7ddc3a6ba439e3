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
``column`` of a per-case path table (``files``). Masks are label maps (``label`` keeps one value,
``threshold`` binarises a probability map), DICOM RTSTRUCT (``roi`` names the ROI) or DICOM SEG (``roi``
names the segment). A cohort may instead be a feature table only (``features``), with outcomes in the same
table.

The file must be UTF-8; a key given twice, a value of the wrong type (``batch: centre`` for ``[centre]``,
unquoted ``cases: [001]``) and a path outside the cohort's ``root`` (absolute or climbing out with ``..``,
unless the cohort sets ``allow_outside_root: true``) are errors naming the file, cohort, key and value.
"""

from __future__ import annotations

import math
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
    # strict: no coercion that could change meaning (the string "1" is not the label 1, 1 is not a case id)
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


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
    image: str | None = Field(None, description="name of the image the mask is drawn on (none in a mask-only cohort)")
    optional: bool = Field(False, description="a missing file means the case lacks this mask (e.g. a reader who did "
                                              "not mark the lesion), not a missing case")
    roi: str | int | None = None
    roi_column: str | None = Field(None, description="column of the files table giving each case's ROI name (when "
                                                     "structure sets name the ROI differently per patient)")
    label: int | None = None
    threshold: float | None = Field(None, description="probability masks: voxels above it are the ROI")

    @model_validator(mode="after")
    def _one_rule(self):
        if self.label is not None and self.threshold is not None:
            raise ValueError("give 'label' (keep one value of a label map) or 'threshold' (binarise a probability map), not both")
        if self.format in ("rtstruct", "seg") and (self.label is not None or self.threshold is not None):
            raise ValueError(f"'label' and 'threshold' apply to label-map masks, not to {self.format} (use 'roi')")
        if self.roi is not None and self.roi_column is not None:
            raise ValueError("give 'roi' (one ROI name for every case) or 'roi_column' (a files-table column), not both")
        if self.roi_column is not None and self.format not in ("rtstruct", "seg"):
            raise ValueError(f"'roi_column' names RTSTRUCT ROIs or SEG segments; the format is {self.format!r}")
        if self.threshold is not None and not math.isfinite(self.threshold):
            raise ValueError(f"'threshold' must be a finite number; got {self.threshold}")
        return self


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
    allow_outside_root: bool = False

    @field_validator("cases", mode="before")
    @classmethod
    def _quoted_ids(cls, value):
        if isinstance(value, list):
            other = [v for v in value if not isinstance(v, str)]
            if other:
                raise ValueError(
                    f"case ids must be text; YAML read {other[:3]} as {type(other[0]).__name__} (an unquoted 001 is "
                    f"read as the number 1): quote every id, e.g. cases: ['001', '002']")
        return value

    @field_validator("images", "masks", mode="before")
    @classmethod
    def _template_shorthand(cls, value):
        # ``T2w: images/{case}.nii.gz`` is shorthand for ``T2w: {path: images/{case}.nii.gz}``
        if isinstance(value, dict):
            return {k: {"path": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _consistent(self):
        if not self.images and not self.masks and self.features is None:
            raise ValueError("a cohort needs 'images', 'masks' or a 'features' table")
        for name, mask in self.masks.items():
            if mask.image is None and self.images:
                raise ValueError(f"mask {name!r} names no 'image'; give the image it is drawn on, one of "
                                 f"{sorted(self.images)}")
            if mask.image is None and mask.format in ("rtstruct", "seg"):
                raise ValueError(f"mask {name!r} is a DICOM {mask.format}, which needs the 'image' it is drawn on; a "
                                 "mask-only cohort's masks are label maps (NIfTI, NRRD, MHA)")
            if mask.image is not None and mask.image not in self.images:
                raise ValueError(f"mask {name!r} is drawn on image {mask.image!r}, which is not one of {sorted(self.images)}")
        clash = set(self.images) & set(self.masks)
        if clash:
            raise ValueError(f"image and mask names must differ; both use {sorted(clash)}")
        specs = list(self.images.values()) + list(self.masks.values())
        if any(s.column for s in specs) and self.files is None:
            raise ValueError("images or masks given by 'column' need a 'files' table")
        if (self.images or self.masks) and self.clinical is None and self.cases is None and self.files is None:
            raise ValueError("an image cohort needs a 'clinical' table, a 'files' table or a 'cases' list for its ids")
        for tp in self.timepoints:
            if not tp or any(c in tp for c in "/\\\0") or tp in (".", "..") or tp != tp.strip():
                raise ValueError(f"timepoint {tp!r} is not a plain name (no '/', '..' or surrounding spaces)")
        if not self.allow_outside_root:
            for key, path in self._paths():
                if _outside(path):
                    raise ValueError(
                        f"{key} = {path!r} lies outside the cohort root (an absolute path or one climbing out with "
                        f"'..'); keep the data under 'root', or set allow_outside_root: true for this cohort")
        return self

    def _paths(self):
        """(catalog key, path) of every path the cohort names, templates with each timepoint filled in."""
        for group in ("images", "masks"):
            for name, spec in getattr(self, group).items():
                if spec.path is not None:
                    for tp in self.timepoints or [""]:
                        yield f"{group}.{name}.path", spec.path.replace("{timepoint}", tp)
        for key in ("files", "clinical", "features"):
            if getattr(self, key) is not None:
                yield f"{key}.path", getattr(self, key).path
        if self.ground_truth is not None:
            yield "ground_truth", self.ground_truth


def _outside(path: str) -> bool:
    """True if ``path`` (relative to a cohort root) is absolute or leads out of the root, judged lexically."""
    norm = os.path.normpath(path)
    return os.path.isabs(path) or norm == ".." or norm.startswith(".." + os.sep)


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
        raw = _load_yaml(self.path)
        if raw is None:
            raise CatalogError(f"catalog {self.path} is empty; it needs a 'cohorts' mapping (see docs/data.md)", file=self.path)
        if not isinstance(raw, dict) or not isinstance(raw.get("cohorts"), dict):
            raise CatalogError(f"catalog {self.path}: the top level must be a mapping with a 'cohorts' mapping", file=self.path)
        try:
            raw = _expand_env(raw, "")
        except CatalogError as exc:
            raise CatalogError(f"catalog {self.path}: {exc}", file=self.path) from None
        try:
            self._spec = _CatalogSpec.model_validate(raw)
        except ValidationError as exc:
            raise CatalogError(_describe(self.path, exc), file=self.path) from None
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
            root = self.root(name)
            if not root.is_dir():
                raise CatalogError(
                    f"catalog {self.path}, cohort {name!r}: root folder {root} does not exist (key 'root' is "
                    f"{self.spec(name).root!r}); build the data (radlab data) or fix 'root' / the variable it uses",
                    file=root)
            self._cohorts[name] = Cohort(name, self.spec(name), root=root)
        return self._cohorts[name]

    def __contains__(self, name: str) -> bool:
        return name in self._spec.cohorts

    def __iter__(self):
        return iter(self.names)

    def __repr__(self) -> str:
        return f"<Catalog {self.path} cohorts={self.names}>"


def _describe(path: Path, exc: ValidationError) -> str:
    # one line per key (pydantic reports each member of a union separately): rules, the value, a hint
    problems: dict[str, tuple[list[str], str, str]] = {}
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        cohort = loc[1] if len(loc) > 1 and loc[0] == "cohorts" else None
        key = ".".join(loc[2:] if cohort else loc)
        # pydantic adds the union member tried to the location; drop it from the key shown
        key = re.sub(r"\.(str|int|float|bool|function-after\[[^\]]*\])", "", key)
        where = ", ".join(w for w in (f"cohort {cohort!r}" if cohort else "", f"key {key!r}" if key else "") if w)
        value = err.get("input")
        shown = "" if err["type"] == "value_error" else f"; got {value!r}"  # a rule's own message shows the value
        hint = ""
        if err["type"] == "list_type" and isinstance(value, str):
            hint = f" (for a list of one, write [{value}])"
        elif err["type"] == "string_type" and isinstance(value, (int, float, bool)):
            hint = " (YAML reads unquoted numbers, yes/no and dates as such: quote the value)"
        rules, _, old_hint = problems.setdefault(where, ([], shown, hint))
        rules.append(err["msg"].removeprefix("Value error, "))
        problems[where] = (rules, shown, old_hint or hint)
    lines = [f"catalog {path}: {len(problems)} problem(s)"]
    lines += [f"  {where}: {' or '.join(dict.fromkeys(rules))}{shown}{hint}" for where, (rules, shown, hint) in problems.items()]
    return "\n".join(lines)


class _DuplicateKey(yaml.YAMLError):
    pass


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, but a key given twice in one mapping is an error (PyYAML keeps the last)."""

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key, line = self.construct_object(key_node, deep=True), key_node.start_mark.line + 1
            try:
                if key in seen:
                    raise _DuplicateKey(f"key {key!r} is given twice in one mapping (lines {seen[key]} and {line}); "
                                        f"YAML would silently keep the last: remove or rename one")
                seen[key] = line
            except TypeError:  # an unhashable key: the base class reports it
                continue
        return super().construct_mapping(node, deep=deep)


def _load_yaml(path: Path) -> Any:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CatalogError(f"catalog file {path} not found", file=path) from None
    except OSError as exc:
        raise CatalogError(f"catalog {path}: cannot read it ({exc.strerror})", file=path) from None
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark is fine
    except UnicodeDecodeError as exc:
        raise CatalogError(f"catalog {path} is not UTF-8 text (byte {exc.start} is {data[exc.start:exc.start + 1]!r}); "
                           f"save it as UTF-8", file=path) from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader)
    except _DuplicateKey as exc:
        raise CatalogError(f"catalog {path}: {exc}", file=path) from None
    except yaml.YAMLError as exc:
        raise CatalogError(f"catalog {path}: malformed YAML: {exc}", file=path) from None


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
