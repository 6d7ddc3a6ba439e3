"""Typed result objects that are computed once, stored, and re-plotted without recomputation.

A radlab result is a dataclass deriving from :class:`Result`. The base gives it

- ``to_dict()`` -- a plain JSON-ready dict (str, int, float, bool, None, list, dict only), with a ``"_type"`` key
  naming the class; ``Result.from_dict(d)`` (or ``ThatClass.from_dict(d)``) rebuilds an equal object;
- ``save(path)`` / ``load(path)`` -- the same dict in one UTF-8 JSON file;
- ``==`` -- exact equality of the stored form (every field, every dtype, index and NaN position);
- ``to_frame()`` -- a contract each class implements: a tidy DataFrame of its main values, columns documented
  in the class docstring.

Declaring a result::

    @dataclass(frozen=True, eq=False)      # eq=False: keep Result's exact ==
    class MyCurve(Result):
        \"\"\"... Fields: ``x`` (array), ``table`` (DataFrame), ``level`` (float).\"\"\"
        x: np.ndarray
        table: pd.DataFrame
        level: float = 0.95

        def to_frame(self) -> pd.DataFrame: ...

On-disk format (why JSON): one human-readable file a dashboard, a reviewer or another language can open, with no
extra dependency, and exact: Python writes a float with ``repr``, the shortest text that reads back to the same
64-bit value. Values that JSON cannot hold are written as one-key objects whose key starts with ``__``:

======================  ===============================================================================
value                   stored as
======================  ===============================================================================
NaN, inf, -inf          ``{"__float__": "nan"}`` (inside float arrays: the strings "nan", "inf", "-inf")
tuple                   ``{"__tuple__": [...]}``
dict with a non-str     ``{"__items__": [[key, value], ...]}`` (also for str keys starting with "_")
key
pathlib path            ``{"__path__": "..."}``
numpy array             ``{"__ndarray__": {"dtype": "<f8", "shape": [...], "data": [...flat, C order]}}``
                        (datetime64/timedelta64 as int64 ticks; object arrays element by element)
numpy scalar            ``{"__npscalar__": <a 0-d array as above>}``
pandas Categorical      ``{"__categorical__": {"categories": <Index>, "codes": <array>, "ordered": bool}}``
pandas extension array  ``{"__extension__": {"dtype": "Int64", "data": [... None for NA]}}``
                        (nullable Int/UInt/Float, boolean, string)
pandas Index            ``{"__index__": {"name", "values"}}``; RangeIndex keeps start/stop/step,
                        MultiIndex its levels, codes and names
pandas Series           ``{"__series__": {"name", "index", "values"}}``
pandas DataFrame        ``{"__frame__": {"index", "columns", "data": [values of each column, by position]}}``
xarray DataArray        ``{"__dataarray__": {"name", "dims", "data", "coords": [[name, dims, values, attrs]],
                        "attrs"}}`` (values computed if lazy)
nested result           its own ``to_dict()``: an object with a ``"_type"`` key
======================  ===============================================================================

Security: ``"_type"`` is looked up among the registered :class:`Result` subclasses only (a class registers
itself when it is defined). For a name in a ``radlab.`` module not yet imported, that module is imported first;
no other module is ever imported and no other name is ever resolved from a file.

Examples
--------
>>> from dataclasses import dataclass
>>> @dataclass(eq=False)
... class Example(Result):
...     values: np.ndarray
...     label: str = "demo"
...     def to_frame(self) -> pd.DataFrame:
...         return pd.DataFrame({"value": self.values})
>>> r = Example(np.array([0.1, np.nan, 3.0], dtype=np.float32))
>>> d = r.to_dict()
>>> d["values"]
{'__ndarray__': {'dtype': '<f4', 'shape': [3], 'data': [0.10000000149011612, 'nan', 3.0]}}
>>> Result.from_dict(d) == r
True
>>> Result.from_dict({**d, "_type": "os.system"})  # doctest: +ELLIPSIS
Traceback (most recent call last):
radlab.errors.InputError: A stored result names its class 'os.system', which is not a radlab result class: ...
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
import os
import pathlib
import re
import sys
import tempfile
from typing import Any, ClassVar, TypeVar

import numpy as np
import pandas as pd

from radlab.errors import InputError

__all__ = ["FORMAT", "Result", "load"]

FORMAT = "radlab.result/1"
"""Value of the ``"_format"`` key of every file :meth:`Result.save` writes."""

_REGISTRY: dict[str, type[Result]] = {}
_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
_MODULE = re.compile(r"radlab(\.[A-Za-z_][A-Za-z0-9_]*)+")
R = TypeVar("R", bound="Result")


class Result:
    """Base of radlab's result dataclasses: exact ``to_dict``/``from_dict``, ``save``/``load``, ``==``.

    Subclasses are ``@dataclass(eq=False)`` (frozen or not) whose init fields hold supported values (see the
    module docstring) and implement :meth:`to_frame`. Fields declared with ``init=False`` are derived, not stored.
    """

    _type_name: ClassVar[str]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._type_name = f"{cls.__module__}.{cls.__qualname__}"
        _REGISTRY[cls._type_name] = cls

    def to_frame(self) -> pd.DataFrame:
        """Tidy DataFrame of the result's main values (each class documents its columns)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement to_frame().")

    def to_dict(self) -> dict[str, Any]:
        """The result as a JSON-ready dict: ``"_type"`` then every init field, encoded exactly."""
        out: dict[str, Any] = {"_type": self._type_name}
        for f in _stored_fields(type(self)):
            try:
                out[f.name] = _encode(getattr(self, f.name))
            except TypeError as e:
                raise TypeError(f"{type(self).__name__}.{f.name}: {e}") from None
        return out

    @classmethod
    def from_dict(cls: type[R], data: dict[str, Any]) -> R:
        """Rebuild a result from :meth:`to_dict`'s output (``Result.from_dict`` accepts any registered class)."""
        if not isinstance(data, dict) or "_type" not in data:
            raise InputError("A stored result must be a JSON object with a '_type' key naming its class. "
                             "Recompute the result and save it again.")
        found = _lookup(data["_type"])
        if not issubclass(found, cls):
            raise InputError(f"The stored result is a {found.__name__}, not a {cls.__name__}: load it with "
                             f"{found.__name__}.load or radlab.results.load.")
        names = {f.name for f in _stored_fields(found)}
        given = set(data) - {"_type", "_format"}
        if given != names:
            missing, extra = sorted(names - given), sorted(given - names)
            raise InputError(f"The stored {found.__name__} does not match the class's fields (missing: {missing}, "
                             f"unknown: {extra}): it was written by another radlab version or altered. Recompute "
                             f"the result and save it again.")
        try:
            values = {n: _decode(data[n]) for n in names}
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise InputError(f"The stored {found.__name__} holds a malformed value ({type(e).__name__}: {e}): it "
                             f"was altered or truncated. Recompute the result and save it again.") from None
        return found(**values)

    def save(self, path: str | os.PathLike) -> pathlib.Path:
        """Write the result to ``path`` as one JSON file (atomically) and return the path."""
        path = pathlib.Path(path)
        text = _dumps({"_format": FORMAT, **self.to_dict()})
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
        return path

    @classmethod
    def load(cls: type[R], path: str | os.PathLike) -> R:
        """Read a result that :meth:`save` wrote; on a subclass, the file must hold that class."""
        path = pathlib.Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"{path}: no such result file. Check the path, or compute and save the result first.",
                             file=str(path)) from None
        except (OSError, UnicodeDecodeError, ValueError) as e:
            raise InputError(f"{path}: not a readable radlab result file ({e}). Recompute the result and save "
                             f"it again.", file=str(path)) from None
        if not isinstance(data, dict) or data.get("_format") != FORMAT:
            raise InputError(f"{path}: not a radlab result file (its '_format' is not {FORMAT!r}). Recompute the "
                             f"result and save it again.", file=str(path))
        try:
            return cls.from_dict(data)
        except InputError as e:
            raise InputError(f"{path}: {e}", file=str(path)) from None

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return _dumps(self.to_dict()) == _dumps(other.to_dict())  # text: 1, 1.0 and True differ

    __hash__ = None  # type: ignore[assignment]  # mutable values (arrays, frames) inside


def load(path: str | os.PathLike) -> Result:
    """Read any radlab result file that :meth:`Result.save` wrote."""
    return Result.load(path)


def _dumps(data: dict) -> str:
    return json.dumps(data, allow_nan=False, ensure_ascii=False)


def _stored_fields(cls: type) -> list[dataclasses.Field]:
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls.__name__} derives from Result but is not a dataclass.")
    return [f for f in dataclasses.fields(cls) if f.init]


def _lookup(name: object) -> type[Result]:
    if not isinstance(name, str):
        name = repr(name)
    module = name.rpartition(".")[0]
    if name not in _REGISTRY and _MODULE.fullmatch(module):  # a radlab module not imported yet
        try:
            importlib.import_module(module)
        except ImportError:
            pass
    if name in _REGISTRY:
        return _REGISTRY[name]
    raise InputError(f"A stored result names its class {name!r}, which is not a radlab result class: the file was "
                     f"written by another program or altered. Recompute the result and save it again.")


# -- encoding -----------------------------------------------------------------------------------------------------

def _encode(v: Any) -> Any:
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, Result):
        return v.to_dict()
    if isinstance(v, np.generic):
        return {"__npscalar__": _array(np.asarray(v))}
    if isinstance(v, int):
        return int(v)
    if isinstance(v, float):
        return float(v) if math.isfinite(v) else {"__float__": repr(float(v))}
    if isinstance(v, np.ndarray):
        return _array(v)
    if isinstance(v, pd.DataFrame):
        return {"__frame__": {"index": _index(v.index), "columns": _index(v.columns),
                              "data": [_values(v.iloc[:, i].array) for i in range(v.shape[1])]}}
    if isinstance(v, pd.Series):
        return {"__series__": {"name": _encode(v.name), "index": _index(v.index), "values": _values(v.array)}}
    if isinstance(v, pd.Index):
        return _index(v)
    if isinstance(v, pd.Categorical):
        return _values(v)
    if isinstance(v, tuple):
        return {"__tuple__": [_encode(x) for x in v]}
    if isinstance(v, list):
        return [_encode(x) for x in v]
    if isinstance(v, dict):
        if all(isinstance(k, str) and not k.startswith("_") for k in v):
            return {k: _encode(x) for k, x in v.items()}
        return {"__items__": [[_encode(k), _encode(x)] for k, x in v.items()]}
    if isinstance(v, pathlib.PurePath):
        return {"__path__": str(v)}
    if "xarray" in sys.modules and isinstance(v, sys.modules["xarray"].DataArray):
        return {"__dataarray__": {"name": _encode(v.name), "dims": list(v.dims), "data": _array(np.asarray(v.values)),
                                  "coords": [[n, list(c.dims), _array(np.asarray(c.values)), _encode(c.attrs)]
                                             for n, c in v.coords.items()], "attrs": _encode(v.attrs)}}
    raise TypeError(f"cannot store a value of type {type(v).__name__}; a result holds None, bool, int, float, str, "
                    f"tuples/lists/dicts of these, numpy arrays and scalars, pandas objects, xarray DataArrays, "
                    f"paths and results.")


def _array(a: np.ndarray) -> dict:
    kind = a.dtype.kind
    if kind in "mM":
        data = a.view(np.int64).ravel().tolist()
    elif kind == "f":
        data = [x if math.isfinite(x) else repr(x) for x in a.ravel().tolist()]
    elif kind in "biuU":
        data = a.ravel().tolist()
    elif kind == "O":
        data = [_encode(x) for x in a.ravel()]
    else:
        raise TypeError(f"cannot store a numpy array of dtype {a.dtype}.")
    return {"__ndarray__": {"dtype": a.dtype.str, "shape": list(a.shape), "data": data}}


def _values(arr) -> dict:
    """A Series' or column's values: numpy arrays, Categoricals and nullable extension arrays."""
    if isinstance(arr, pd.Categorical):
        return {"__categorical__": {"categories": _index(arr.categories), "codes": _array(arr.codes),
                                    "ordered": bool(arr.ordered)}}
    if isinstance(arr.dtype, pd.api.extensions.ExtensionDtype) and type(arr) is not pd.arrays.NumpyExtensionArray:
        if not isinstance(arr.dtype, (pd.BooleanDtype, pd.StringDtype)) and arr.dtype.kind not in "iuf":
            raise TypeError(f"cannot store a pandas column of dtype {arr.dtype}.")
        return {"__extension__": {"dtype": str(arr.dtype),
                                  "data": [None if m else _encode(x) for x, m in zip(arr.tolist(), arr.isna())]}}
    return _array(np.asarray(arr))


def _index(ix: pd.Index) -> dict:
    if isinstance(ix, pd.RangeIndex):
        return {"__index__": {"range": [ix.start, ix.stop, ix.step], "name": _encode(ix.name)}}
    if isinstance(ix, pd.MultiIndex):
        return {"__index__": {"levels": [_index(lv) for lv in ix.levels], "codes": [_array(c) for c in ix.codes],
                              "names": [_encode(n) for n in ix.names]}}
    return {"__index__": {"values": _values(ix.array), "name": _encode(ix.name)}}


# -- decoding -----------------------------------------------------------------------------------------------------

def _decode(v: Any) -> Any:
    if isinstance(v, list):
        return [_decode(x) for x in v]
    if not isinstance(v, dict):
        return v
    if "_type" in v:
        return Result.from_dict(v)
    if len(v) == 1 and next(iter(v)).startswith("__"):
        (key, body), = v.items()
        if key not in _DECODERS:
            raise InputError(f"A stored result holds an unknown value tag {key!r}: it was written by another radlab "
                             f"version or altered. Recompute the result and save it again.")
        return _DECODERS[key](body)
    return {k: _decode(x) for k, x in v.items()}


def _unarray(body: dict) -> np.ndarray:
    dtype = np.dtype(body["dtype"])
    if dtype.kind in "mM":
        flat = np.array(body["data"], dtype=np.int64).view(dtype)
    elif dtype.kind == "O":
        flat = np.empty(len(body["data"]), dtype=object)
        for i, x in enumerate(body["data"]):  # one by one: numpy would unpack list elements
            flat[i] = _decode(x)
    else:
        flat = np.array(body["data"], dtype=dtype)
    return flat.reshape(body["shape"])


def _unvalues(v: dict):
    (key, body), = v.items()
    if key == "__categorical__":
        return pd.Categorical.from_codes(_unarray(body["codes"]["__ndarray__"]), dtype=pd.CategoricalDtype(
            _unindex(body["categories"]["__index__"]), ordered=body["ordered"]))
    if key == "__extension__":
        return pd.array([pd.NA if x is None else _decode(x) for x in body["data"]], dtype=body["dtype"])
    return _unarray(body)


def _unindex(body: dict) -> pd.Index:
    if "range" in body:
        return pd.RangeIndex(*body["range"], name=_decode(body["name"]))
    if "levels" in body:
        return pd.MultiIndex(levels=[_unindex(lv["__index__"]) for lv in body["levels"]],
                             codes=[_unarray(c["__ndarray__"]) for c in body["codes"]],
                             names=[_decode(n) for n in body["names"]])
    values = _unvalues(body["values"])
    return pd.Index(values, dtype=values.dtype, name=_decode(body["name"]), tupleize_cols=False)


def _unframe(body: dict) -> pd.DataFrame:
    columns = _unindex(body["columns"]["__index__"])
    index = _unindex(body["index"]["__index__"])
    frame = pd.DataFrame({i: _unvalues(col) for i, col in enumerate(body["data"])}, index=index)
    frame.columns = columns
    return frame


def _unseries(body: dict) -> pd.Series:
    return pd.Series(_unvalues(body["values"]), index=_unindex(body["index"]["__index__"]), name=_decode(body["name"]))


def _undataarray(body: dict):
    import xarray as xr

    coords = {n: xr.Variable(dims, _unarray(values["__ndarray__"]), attrs=_decode(attrs))
              for n, dims, values, attrs in body["coords"]}
    return xr.DataArray(_unarray(body["data"]["__ndarray__"]), coords=coords, dims=body["dims"],
                        name=_decode(body["name"]), attrs=_decode(body["attrs"]))


_DECODERS = {
    "__float__": lambda s: _NONFINITE[s],
    "__tuple__": lambda xs: tuple(_decode(x) for x in xs),
    "__items__": lambda kv: {_decode(k): _decode(x) for k, x in kv},
    "__path__": pathlib.Path,
    "__ndarray__": _unarray,
    "__npscalar__": lambda a: _unarray(a["__ndarray__"])[()],
    "__categorical__": lambda b: _unvalues({"__categorical__": b}),
    "__extension__": lambda b: _unvalues({"__extension__": b}),
    "__index__": _unindex,
    "__series__": _unseries,
    "__frame__": _unframe,
    "__dataarray__": _undataarray,
}
