"""radlab.results: every supported value round-trips exactly through to_dict/from_dict and save/load."""

from __future__ import annotations

import json
import math
import pathlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from radlab.errors import InputError
from radlab.results import FORMAT, Result, load


@dataclass(eq=False)
class Holder(Result):
    """A test result with one field of any value."""

    value: object = None

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"value": [repr(self.value)]})


@dataclass(frozen=True, eq=False)
class Pair(Result):
    """A frozen result with a nested result, a default and a derived (init=False) field."""

    left: Holder
    right: list
    level: float = 0.95
    derived: int = field(init=False, default=7)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"level": [self.level]})


def _frame() -> pd.DataFrame:
    f = pd.DataFrame({
        "f8": [0.1, np.nan, -np.inf, -0.0],
        "f4": np.array([1 / 3, 2.5, np.nan, 1e-30], dtype=np.float32),
        "i8": np.array([1, -2, 2**62, 0]),
        "u1": np.array([0, 1, 255, 7], dtype=np.uint8),
        "b": [True, False, True, True],
        "s": ["a", None, "é", ""],
        "mixed": [1, "x", 2.5, None],
        "cat": pd.Categorical(["lo", "hi", None, "lo"], categories=["lo", "hi"], ordered=True),
        "Int64": pd.array([1, None, 3, 4], dtype="Int64"),
        "string": pd.array(["x", None, "y", "z"], dtype="string"),
        "boolean": pd.array([True, None, False, True], dtype="boolean"),
        "when": pd.to_datetime(["2020-01-01 00:00:00", None, "2021-06-30 12:00:00", "1999-12-31 00:00:00"],
                               format="ISO8601"),
        "delta": pd.to_timedelta([1, 2, None, 4], unit="D"),
    }, index=pd.Index(["c1", "c2", "c3", "c4"], name="case"))
    f.columns.name = "column"
    return f


VALUES = {
    "none": None,
    "bool": True,
    "int": -(2**70),
    "float": 0.1 + 0.2,
    "nan": math.nan,
    "inf": math.inf,
    "-inf": -math.inf,
    "str": "naïve \"quoted\" \n text",
    "tuple": (1, (2.0, "three"), None),
    "list": [1, [2, [3]], ()],
    "dict": {"a": 1, "b": {"c": [1.5, None]}},
    "dict-odd-keys": {1: "int key", (2, 3): "tuple key", "_type": "not a class", "__float__": "nan"},
    "path": pathlib.Path("results/roc.json"),
    "np-float64": np.float64(1 / 3),
    "np-float32": np.float32(np.nan),
    "np-int16": np.int16(-7),
    "np-bool": np.bool_(False),
    "np-datetime": np.datetime64("2020-01-02T03:04:05.123456789"),
    "array-f8-2d": np.array([[0.1, np.nan], [np.inf, -0.0], [5e-324, 1.7976931348623157e308]]),
    "array-f2": np.array([0.1, 65504], dtype=np.float16),
    "array-i4-3d": np.arange(24, dtype=np.int32).reshape(2, 3, 4),
    "array-u8": np.array([2**64 - 1, 0], dtype=np.uint64),
    "array-bool": np.array([True, False]),
    "array-str": np.array(["a", "bcd"]),
    "array-object": np.array([1, "x", None, [1, 2], np.nan], dtype=object),
    "array-empty": np.zeros((0, 3)),
    "array-0d": np.array(2.5),
    "array-datetime": np.array(["2020-01-01", "NaT"], dtype="datetime64[s]"),
    "array-fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
    "frame": _frame(),
    "frame-empty": pd.DataFrame(index=pd.RangeIndex(3)),
    "frame-multiindex": pd.DataFrame(
        {("auc", "low"): [0.6, 0.7], ("auc", "high"): [0.8, np.nan]},
        index=pd.MultiIndex.from_tuples([("A", 1), ("B", 2)], names=["centre", "fold"])),
    "frame-int-columns": pd.DataFrame(np.eye(2), columns=[10, 20], index=pd.RangeIndex(5, 9, 2)),
    "frame-duplicate-columns": pd.DataFrame([[1, 2.0]], columns=["x", "x"]),
    "series": pd.Series([0.5, np.nan], index=pd.Index([0.1, 0.2], name="threshold"), name="net_benefit"),
    "series-tuple-name": pd.Series([1, 2], name=("a", 1)),
    "series-categorical-index": pd.Series([1.0, 2.0], index=pd.CategoricalIndex(["lo", "hi"])),
    "series-datetime-index": pd.Series([1, 2], index=pd.DatetimeIndex(["2020-01-01", "2020-02-01"])),
    "index": pd.Index([3, 1, 2], name="n"),
    "categorical": pd.Categorical(["a", "b", "a"]),
    "dataarray": xr.DataArray(
        np.arange(12.0).reshape(3, 4), dims=("step", "x"), name="maps", attrs={"units": "a.u.", "spacing": (1.0, 0.5)},
        coords={"step": pd.Index(["none", "fc", "stem"], name="step"), "x": np.arange(4) * 0.5,
                "label": ("step", np.array([1, 2, 3], dtype=np.int8)), "scalar": 3.5}),
    "nested-result": Holder(Holder(np.array([1.0, np.nan]))),
    "list-of-results": [Holder(1), Holder(pd.Series([1.0]))],
    "dict-of-results": {"train": Holder(0.7), "test": Holder((0.6, 0.8))},
}


def _assert_same(a, b):
    """Exact equality, type by type (pandas' own checks for frames, series and indexes)."""
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True, check_index_type=True, check_column_type=True,
                                      check_freq=False)
        assert a.columns.names == b.columns.names
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, check_exact=True, check_index_type=True, check_freq=False)
    elif isinstance(a, pd.Index):
        pd.testing.assert_index_equal(a, b, exact=True)
    elif isinstance(a, xr.DataArray):
        xr.testing.assert_identical(a, b)
        assert all(a[c].dtype == b[c].dtype for c in a.coords) and a.dtype == b.dtype
    elif isinstance(a, pd.Categorical):
        pd.testing.assert_extension_array_equal(a, b)
    elif isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype and a.shape == b.shape
        if a.dtype.kind == "O":
            for x, y in zip(np.ravel(a), np.ravel(b)):
                _assert_same(x, y)
        else:
            np.testing.assert_array_equal(a, b, strict=True)
            if a.dtype.kind == "f":
                assert np.array_equal(np.signbit(a), np.signbit(b))
    elif isinstance(a, float):
        assert (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _assert_same(x, y)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _assert_same(a[k], b[k])
    elif isinstance(a, Holder):
        _assert_same(a.value, b.value)
    else:
        assert a == b


@pytest.mark.parametrize("value", VALUES.values(), ids=VALUES.keys())
def test_round_trip_is_exact(value, tmp_path):
    r = Holder(value)
    d = r.to_dict()
    json.dumps(d, allow_nan=False)  # to_dict is plain JSON
    again = Result.from_dict(json.loads(json.dumps(d)))
    _assert_same(r.value, again.value)
    assert again == r
    loaded = Holder.load(r.save(tmp_path / "sub" / "r.json"))
    _assert_same(r.value, loaded.value)
    assert loaded == r and loaded.to_dict() == d


def test_frozen_nested_result_and_derived_field(tmp_path):
    p = Pair(Holder(np.arange(3)), [Holder("x"), None], level=0.9)
    d = p.to_dict()
    assert list(d) == ["_type", "left", "right", "level"]  # the init=False field is derived, not stored
    q = load(p.save(tmp_path / "p.json"))
    assert type(q) is Pair and q == p and q.derived == 7 and q.level == 0.9
    assert json.loads((tmp_path / "p.json").read_text())["_format"] == FORMAT


def test_equality_is_exact():
    assert Holder(np.array([1.0, np.nan])) == Holder(np.array([1.0, np.nan]))
    assert Holder(np.array([1.0])) != Holder(np.array([1.0], dtype=np.float32))
    assert Holder(1) != Holder(1.0) and Holder(1) != Holder(True)
    assert Holder(pd.Series([1.0], index=["a"])) != Holder(pd.Series([1.0], index=["b"]))
    assert Holder(0.1 + 0.2) != Holder(0.3)


def test_frame_json_is_readable():
    d = Holder(pd.DataFrame({"auc": [0.75]})).to_dict()
    body = d["value"]["__frame__"]
    assert body["data"] == [{"__ndarray__": {"dtype": "<f8", "shape": [1], "data": [0.75]}}]
    assert body["columns"]["__index__"]["values"]["__ndarray__"]["data"] == ["auc"]


@pytest.mark.parametrize("value", [{1, 2}, b"bytes", np.array([1j]), pd.Series(pd.period_range("2020", periods=2)),
                                   object()], ids=["set", "bytes", "complex", "period", "object"])
def test_unsupported_value_is_refused_when_saving(value):
    with pytest.raises(TypeError, match=r"Holder\.value: cannot store"):
        Holder(value).to_dict()


BAD_FILES = {
    "tampered-type-os": ({"_type": "os.system", "value": 1}, "'os.system', which is not a radlab result class"),
    "tampered-type-radlab-non-result": ({"_type": "radlab.errors.InputError", "value": 1},
                                        "not a radlab result class"),
    "tampered-type-unknown-radlab": ({"_type": "radlab.nosuchmodule.X", "value": 1}, "not a radlab result class"),
    "type-not-a-string": ({"_type": ["os", "system"], "value": 1}, "not a radlab result class"),
    "no-type": ({"value": 1}, "with a '_type' key"),
    "nested-tampered-type": ({"_type": Holder._type_name, "value": {"_type": "subprocess.Popen", "args": "ls"}},
                             "'subprocess.Popen', which is not a radlab result class"),
    "missing-field": ({"_type": Pair._type_name, "left": None, "right": []}, "missing: ['level']"),
    "unknown-field": ({"_type": Holder._type_name, "value": 1, "extra": 2}, "unknown: ['extra']"),
    "unknown-tag": ({"_type": Holder._type_name, "value": {"__pickle__": "..."}}, "unknown value tag '__pickle__'"),
    "malformed-array": ({"_type": Holder._type_name, "value": {"__ndarray__": {"dtype": "<f8", "shape": [3],
                                                                               "data": [1.0]}}},
                        "malformed value"),
}


@pytest.mark.parametrize("data, words", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_bad_stored_result_is_refused(data, words, tmp_path):
    with pytest.raises(InputError, match="Recompute the result") as e:
        Result.from_dict(data)
    assert words in str(e.value)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"_format": FORMAT, **data}))
    with pytest.raises(InputError) as e:
        load(path)
    assert str(path) in str(e.value) and words in str(e.value) and e.value.exit_code == 2


def test_load_refuses_missing_foreign_and_wrong_class_files(tmp_path):
    with pytest.raises(InputError, match="no such result file"):
        load(tmp_path / "none.json")
    (tmp_path / "junk.json").write_text("{not json")
    with pytest.raises(InputError, match="junk.json: not a readable radlab result file"):
        load(tmp_path / "junk.json")
    (tmp_path / "other.json").write_text(json.dumps({"_type": Holder._type_name, "value": 1}))
    with pytest.raises(InputError, match="'_format' is not 'radlab.result/1'"):
        load(tmp_path / "other.json")
    Holder(1).save(tmp_path / "h.json")
    with pytest.raises(InputError, match="is a Holder, not a Pair: load it with Holder.load"):
        Pair.load(tmp_path / "h.json")
