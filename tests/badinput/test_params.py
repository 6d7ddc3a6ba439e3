"""Bad feature-extraction parameters: one InputError naming the parameter file (or preset) and the key, raised
once before any case is dispatched; never a raw parser error, never a message per case, no number computed."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import radlab.features._extract as ex
from radlab.errors import EXIT_BAD_INPUT, InputError
from radlab.features import extract, load_params

GEO = {"spacing": (1.0, 1.0, 1.0), "origin": (0.0, 0.0, 0.0), "direction": (1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0)}
GOOD = "setting: {binCount: 16}\nfeatureClass: {firstorder: [Mean]}\n"

# id -> (YAML text, words the message must contain besides the file)
BAD_FILES = {
    "malformed-yaml": ("setting: {binCount: 16\nfeatureClass: x\n", ["not valid YAML", "line 2"]),
    "tab-indentation": ("setting:\n\tbinCount: 16\n", ["not valid YAML", "line 2"]),
    "not-a-mapping": ("- binCount\n- 16\n", ["must be a mapping", "list"]),
    "empty-file": ("", ["must be a mapping", "holds nothing"]),
    "duplicate-top-key": ("setting: {binCount: 16}\nsetting: {binWidth: 25}\n", ["'setting' is given twice", "line 2"]),
    "duplicate-setting": ("setting:\n  binWidth: 25\n  binWidth: 10\n", ["'binWidth' is given twice", "line 3"]),
    "unknown-setting": ("setting: {binWidht: 25}\n", ["setting 'binWidht' is not a pyradiomics setting"]),
    "unknown-top-key": ("settings: {binWidth: 25}\n", ["key 'settings' is not a pyradiomics parameter key"]),
    "wrong-type": ("setting: {binCount: many}\n", ["setting/binCount", "'many' is not of type 'int'"]),
    "float-label": ("setting: {label: 1.5}\n", ["setting/label", "'1.5' is not of type 'int'"]),
    "out-of-range": ("setting: {binWidth: -5}\n", ["setting/binWidth", "value -5"]),
    "unknown-feature-class": ("featureClass: {glcmm: }\n", ["Feature Class glcmm is not recognized"]),
    "unknown-feature": ("featureClass: {glcm: [Contrastt]}\n", ["glcm", "unrecognized features", "Contrastt"]),
    "feature-list-as-string": ("featureClass: {glcm: Contrast}\n", ["feature class glcm", "list"]),
    "unknown-image-type": ("imageType: {Orginal: {}}\n", ["Image Type Orginal is not recognized"]),
    "unknown-image-type-setting": ("imageType: {LoG: {sigmaa: [2.0]}}\n", ["imageType/LoG 'sigmaa'"]),
    "sigma-not-a-list": ("imageType: {LoG: {sigma: 2.0}}\n", ["imageType/LoG/sigma", "is not a list"]),
    "bad-interpolator": ("setting: {interpolator: bspline}\n", ["Interpolator value \"bspline\" not valid"]),
    # accepted by pyradiomics' schema, but the numbers would not be what the file says
    "quoted-number": ("setting: {binWidth: '25'}\n", ["setting 'binWidth' is '25'", "not a number"]),
    "bin-width-and-count": ("setting: {binWidth: 25, binCount: 16}\n", ["both 'binWidth' and 'binCount'",
                                                                       "ignores binWidth"]),
    "bin-count-per-image-type": ("setting: {binCount: 16}\nimageType: {Original: {binWidth: 5}}\n",
                                 ["imageType Original", "both 'binWidth' and 'binCount'"]),
    "log-without-sigma": ("imageType: {LoG: {}}\n", ["imageType LoG has no 'sigma'", "no LoG features"]),
    "spacing-of-two-values": ("setting: {resampledPixelSpacing: [1, 1]}\n", ["'resampledPixelSpacing'", "3 values"]),
    "mirp-not-a-mapping": ("mirp: fixed_bin_size\n", ["'mirp' must be a mapping"]),
}


def _case(seed: int) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    mask = np.zeros((6, 8, 8), np.uint8)
    mask[1:5, 2:6, 2:6] = 1
    image = rng.normal(100, 10, mask.shape).astype(np.float32)
    return xr.Dataset({"T2w": (("z", "y", "x"), image, {"role": "image", **GEO}),
                       "tumour": (("z", "y", "x"), mask, {"role": "mask", "image": "T2w", **GEO})})


@pytest.fixture
def dispatched(monkeypatch):
    """The case ids compute_case was called for (it must never be, for bad parameters)."""
    calls = []
    real = ex.compute_case

    def spy(case, *args, **kwargs):
        calls.append(case)
        return real(case, *args, **kwargs)

    monkeypatch.setattr(ex, "compute_case", spy)
    return calls


def _fails_before_dispatch(params, cache, dispatched) -> InputError:
    with pytest.raises(InputError) as info:
        extract([(f"c{i}", _case(i)) for i in range(3)], params, scheduler="sync", cache=cache, progress=False)
    assert dispatched == [] and not list(cache.rglob("*.json"))  # nothing computed, nothing cached
    assert info.value.exit_code == EXIT_BAD_INPUT
    return info.value


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_bad_parameter_file(kind, tmp_path, dispatched):
    text, words = BAD_FILES[kind]
    path = tmp_path / "params.yaml"
    path.write_text(text)
    err = _fails_before_dispatch(path, tmp_path / "cache", dispatched)
    message = str(err)
    assert str(path) in message and err.file == str(path)
    for word in words:
        assert word in message
    assert "Traceback" not in message and "SchemaError" not in message and "<" not in message.split(":")[0]


@pytest.mark.parametrize("kind", ["unknown-setting", "bin-width-and-count", "unknown-feature"])
def test_bad_parameter_dict_is_named_as_the_dict(kind, tmp_path, dispatched):
    import yaml

    text, words = BAD_FILES[kind]
    err = _fails_before_dispatch(yaml.safe_load(text), tmp_path / "cache", dispatched)
    assert str(err).startswith("the params dict: ") and err.file == ""
    assert all(word in str(err) for word in words)


def test_several_problems_are_one_error_listing_each(tmp_path, dispatched):
    path = tmp_path / "p.yaml"
    path.write_text("settings: {}\nsetting: {binCount: x, binWidht: 3}\n")
    message = str(_fails_before_dispatch(path, tmp_path / "cache", dispatched))
    assert message.count(str(path)) == 1
    for word in ("key 'settings'", "setting/binCount", "setting 'binWidht'"):
        assert word in message


@pytest.mark.parametrize("params, words", [
    ("lung", ["must be a preset name", "'lung' is neither"]),
    ("MR", ["must be a preset name", "'MR' is neither"]),
], ids=["unknown-preset", "preset-in-capitals"])
def test_unknown_preset(params, words, tmp_path, dispatched):
    err = _fails_before_dispatch(params, tmp_path / "cache", dispatched)
    assert all(word in str(err) for word in words) and "'ct', 'mr', 'demo'" in str(err)


def _latin1(folder):
    path = folder / "latin1.yaml"
    path.write_bytes("# Param\xe8tres\nsetting: {binCount: 16}\n".encode("latin-1"))
    return path


@pytest.mark.parametrize("make, words", [
    (lambda d: d / "missing.yaml", ["does not exist"]),
    (lambda d: d, ["is not a file"]),
    (_latin1, ["is not UTF-8 text", "save it as UTF-8"]),
], ids=["missing-file", "folder-instead-of-file", "not-utf8"])
def test_unreadable_parameter_file(make, words, tmp_path, dispatched):
    folder = tmp_path / "in"
    folder.mkdir()
    path = make(folder)
    err = _fails_before_dispatch(path, tmp_path / "cache", dispatched)
    assert str(path) in str(err) and err.file == str(path)
    assert all(word in str(err) for word in words)


def test_a_good_file_and_the_presets_load(tmp_path):
    path = tmp_path / "good.yaml"
    path.write_text(GOOD)
    assert load_params(path)["setting"] == {"binCount": 16}
    assert load_params({"setting": {"minimumROISize": None}})["setting"] == {"minimumROISize": None}  # "not set"
    for preset in ("ct", "mr", "demo"):
        assert load_params(preset)["imageType"]
    df = extract([("c0", _case(0))], path, scheduler="sync", cache=False, progress=False)
    assert df.loc["c0", "T2w__tumour__original_firstorder_Mean"] == pytest.approx(
        _case(0)["T2w"].values[_case(0)["tumour"].values == 1].mean(), rel=1e-6)


def _not_installed(name):
    from importlib.metadata import PackageNotFoundError

    raise PackageNotFoundError(name)


@pytest.mark.parametrize("backend, words", [
    ("pyradiomic", ["The 'backend' parameter of extract must be one of", "'pyradiomic'"]),
    ("mirp", ["'mirp', but mirp is not installed", "pip install radlab[mirp]"]),
], ids=["unknown-backend", "backend-not-installed"])
def test_bad_backend(backend, words, tmp_path, dispatched, monkeypatch):
    import importlib.metadata

    monkeypatch.setattr(importlib.metadata, "version", _not_installed)
    with pytest.raises(InputError) as info:
        extract([("c0", _case(0))], "demo", backend=backend, scheduler="sync", cache=tmp_path, progress=False)
    assert all(word in str(info.value) for word in words)
    assert dispatched == [] and not list(tmp_path.rglob("*.json"))
