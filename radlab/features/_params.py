"""Feature-extraction parameters: named presets, pyradiomics YAML files or dicts, validated once, and their hash."""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import logging
import re
import warnings
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from radlab.errors import InputError

__all__ = ["PRESETS", "load_params", "param_hash"]

PRESETS = ("ct", "mr", "demo", "ibsi-ct-a", "ibsi-ct-b", "ibsi-ct-c", "ibsi-ct-d", "ibsi-ct-e")
_DOCS = "https://pyradiomics.readthedocs.io/en/v3.0.1/customization.html"


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses a key given twice in one mapping (PyYAML silently keeps the last)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"key {key!r} is given twice", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_params(params: str | Path | dict | None) -> dict[str, Any]:
    """A validated pyradiomics parameter dict from a preset name, a YAML file or a dict (copied).

    Everything wrong with the parameters (a missing or malformed file, a duplicated key, a setting, feature
    class, feature or image type pyradiomics does not know, a value of the wrong type, settings that would
    silently give other numbers than asked) raises one :class:`radlab.errors.InputError` naming the file
    (or preset) and the key, before any case is extracted.

    Examples
    --------
    >>> p = load_params("demo")
    >>> p["setting"]["binCount"], sorted(p["imageType"])
    (32, ['Original'])
    >>> load_params({"setting": {"binWidht": 25}})
    Traceback (most recent call last):
    ...
    radlab.errors.InputError: the params dict: setting 'binWidht' is not a pyradiomics setting ...
    """
    if params is None:
        params = "demo"
    where, out = _read(params)
    if not isinstance(out, dict):
        raise InputError(f"{where} must be a mapping with keys such as 'setting', 'imageType' and 'featureClass'; "
                         f"it holds {'nothing' if out is None else 'a ' + type(out).__name__}.", file=_file(params))
    out = copy.deepcopy(out)
    for key in ("setting", "imageType", "featureClass"):
        out[key] = out.get(key) or ({"Original": {}} if key == "imageType" else {})
    _validate(out, where, _file(params))
    return out


def _file(params) -> str:
    return str(params) if isinstance(params, (str, Path)) and str(params) not in PRESETS else ""


def _read(params) -> tuple[str, Any]:
    """(what to call the parameters in a message, the parsed YAML or dict)."""
    if isinstance(params, dict):
        return "the params dict", params
    if isinstance(params, str) and params in PRESETS:
        text = resources.files("radlab.features").joinpath("presets", f"{params}.yaml").read_text()
        return f"preset {params!r}", yaml.load(text, _UniqueKeyLoader)
    if not isinstance(params, (str, Path)):
        raise InputError(f"The 'params' parameter of extract must be a preset name {PRESETS}, a pyradiomics YAML "
                         f"file or a dict. Got {type(params).__name__} {params!r} instead.")
    path = Path(params)
    where = f"parameter file {path}"
    if not path.exists():
        if isinstance(params, str) and not path.suffix and "/" not in params and "\\" not in params:
            raise InputError(f"The 'params' parameter of extract must be a preset name {PRESETS} or an existing "
                             f"pyradiomics YAML file: {params!r} is neither (no preset of that name, no such file).")
        raise InputError(f"{where} does not exist; give an existing pyradiomics YAML file or a preset {PRESETS}.",
                         file=str(path))
    if not path.is_file():
        raise InputError(f"{where} is not a file (a folder?); give a pyradiomics YAML file.", file=str(path))
    try:
        return where, yaml.load(path.read_text(encoding="utf-8"), _UniqueKeyLoader)
    except UnicodeDecodeError as exc:
        raise InputError(f"{where} is not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8.",
                         file=str(path)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(f"{where} is not valid YAML{at}: {problem}.", file=str(path)) from None


def _validate(params: dict[str, Any], where: str, file: str) -> None:
    """Raise one InputError for everything pyradiomics' own schema refuses, then for what it accepts but
    computes other numbers from than the parameters say."""
    problems = _schema_problems({k: v for k, v in params.items() if k != "mirp"})
    if "mirp" in params and not isinstance(params["mirp"], dict):
        problems.append(f"'mirp' must be a mapping of MIRP settings, not {type(params['mirp']).__name__}")
    if not problems:
        problems = _silent_problems(params)
    if problems:
        raise InputError(f"{where}: " + "; ".join(problems) + f" (pyradiomics parameters: {_DOCS}).", file=file)


_UNKNOWN_KEY = re.compile(r"Key '(?P<key>.*)' was not defined\. Path: '(?P<path>[^']*)'")
_AT_PATH = re.compile(r"\.? ?(?:Value )?[Pp]ath: '(?P<path>[^']*)'\.?$")
_SIZE = re.compile(r"^Type '\w+' has size of '(?P<value>[^']*)', ")


def _schema_problems(params: dict[str, Any]) -> list[str]:
    """pyradiomics' validation of the parameters (pykwalify with pyradiomics' schema, as building an extractor
    does), its messages translated; [] if valid."""
    import pykwalify.errors

    from radlab.features._case import preload_backend

    preload_backend()
    from radiomics.featureextractor import RadiomicsFeatureExtractor

    loggers = [logging.getLogger(name) for name in ("pykwalify", "radiomics")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:  # pykwalify logs every problem again; pyradiomics gives advice on binning
        lg.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():  # pykwalify loads pyradiomics' schema functions with load_module
            warnings.filterwarnings("ignore", "the load_module", DeprecationWarning)
            RadiomicsFeatureExtractor(copy.deepcopy(params))
    except pykwalify.errors.SchemaError as exc:
        lines = [ln.strip()[2:] for ln in str(exc.msg).splitlines() if ln.strip().startswith("- ")]
        return [_translate(ln) for ln in lines] or [str(exc.msg)]
    except (TypeError, ValueError) as exc:  # pyradiomics' own checks of feature classes, image types, ...
        return [str(exc)]
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)
    return []


def _translate(line: str) -> str:
    """One pykwalify message in radlab's words, starting with the key it is about.

    >>> _translate("Key 'binWidht' was not defined. Path: '/setting'")
    "setting 'binWidht' is not a pyradiomics setting"
    >>> _translate("Value 'many' is not of type 'int'. Path: '/setting/binCount'")
    "setting/binCount: value 'many' is not of type 'int'"
    """
    m = _UNKNOWN_KEY.search(line)
    if m and not m["path"].strip("/"):
        return f"key {m['key']!r} is not a pyradiomics parameter key (setting, imageType, featureClass, voxelSetting)"
    if m:
        return f"{m['path'].strip('/')} {m['key']!r} is not a pyradiomics setting"
    m = _AT_PATH.search(line)
    if not m:
        return line
    text = _SIZE.sub(lambda v: f"value {v['value']} is ", line[:m.start()])
    return f"{m['path'].strip('/')}: {text[0].lower()}{text[1:]}"


@functools.cache
def _number_settings() -> frozenset[str]:
    """The settings pyradiomics' schema types as numbers (int or float, or a list of them)."""
    from radiomics import getParameterValidationFiles

    schema = yaml.safe_load(Path(getParameterValidationFiles()[0]).read_text())
    rules = schema["mapping"]["setting"]["mapping"]
    return frozenset(name for name, rule in rules.items()
                     if (rule.get("type") or (rule.get("seq") or [{}])[0].get("type")) in ("int", "float"))


def _is_number(value: Any) -> bool:
    """A number, a list of numbers, or None (pyradiomics' "not set")."""
    values = value if isinstance(value, list) else [value]
    return value is None or all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _silent_problems(params: dict[str, Any]) -> list[str]:
    """Settings pyradiomics accepts but that give other numbers than the parameters say (or none at all)."""
    base = params["setting"]
    scopes = [("setting", base, base)] + [(f"imageType {name}", own or {}, {**base, **(own or {})})
                                          for name, own in params["imageType"].items()]
    problems = []
    for where, own, effective in scopes:
        for name, value in own.items():
            if name in _number_settings() and not _is_number(value):
                problems.append(f"{where} {name!r} is {value!r}, which is not a number (pyradiomics does not convert "
                                f"it, so every case would fail or be binned wrongly): write it without quotes")
        if {"binWidth", "binCount"} <= effective.keys() and {"binWidth", "binCount"} & own.keys():
            problems.append(f"{where}: both 'binWidth' and 'binCount' apply; pyradiomics then uses binCount and "
                            f"silently ignores binWidth: keep only the one you mean")
        spacing = own.get("resampledPixelSpacing")
        if isinstance(spacing, list) and len(spacing) != 3:
            problems.append(f"{where} 'resampledPixelSpacing' is {spacing!r}; it needs 3 values (x, y, z in mm; "
                            f"0 keeps that direction's spacing)")
        if where == "imageType LoG" and not effective.get("sigma"):
            problems.append("imageType LoG has no 'sigma' (a list of mm); pyradiomics then silently computes no LoG "
                            "features")
    return problems


def param_hash(params: dict[str, Any], *, backend: str = "pyradiomics", version: str = "") -> str:
    """A short stable hash of the parameters, the backend and its version (the cache key).

    Examples
    --------
    >>> param_hash({"setting": {"binWidth": 25}}) == param_hash({"setting": {"binWidth": 25}})
    True
    >>> param_hash({"setting": {"binWidth": 25}}) == param_hash({"setting": {"binWidth": 10}})
    False
    """
    blob = json.dumps({"params": params, "backend": backend, "version": version}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
