"""radlab reproduces pyradiomics' own baseline values on its sample cases with the baseline settings.

Reference: pyradiomics 3.0.1 ``data/baseline/baseline_<class>.csv`` (one column per test case and settings
variant; the settings are stored in the ``diagnostics_Configuration_*`` rows). Tolerance: pyradiomics'
own test (``tests/testUtils.py``): relative difference ``|1 - value / baseline| < 3 %`` (a zero baseline
must be matched exactly).
"""

from __future__ import annotations

import ast

import pandas as pd
import pytest

from radlab.features import errors, extract

CLASSES = ("firstorder", "glcm", "gldm", "glrlm", "glszm", "ngtdm", "shape", "shape2D")


def _baseline(root) -> dict[str, pd.DataFrame]:
    return {c: pd.read_csv(root / "baseline" / f"baseline_{c}.csv", index_col=0) for c in CLASSES}


def _check(df, case_row, baseline, column, classes) -> int:
    checked = 0
    for cls in classes:
        table = baseline[cls]
        for feature in (f for f in table.index if f.startswith("original_")):
            expected, value = float(table.loc[feature, column]), float(df.loc[case_row, f"image__label__{feature}"])
            diff = (0.0 if value == 0 else 1.0) if expected == 0 else abs(1.0 - value / expected)
            assert diff < 0.03, f"{column} {feature}: baseline {expected}, radlab {value}"
            checked += 1
    return checked


def _params(baseline, column, classes) -> dict:
    first = baseline[classes[0]]
    return {"setting": ast.literal_eval(first.loc["diagnostics_Configuration_Settings", column]),
            "imageType": ast.literal_eval(first.loc["diagnostics_Configuration_EnabledImageTypes", column]),
            "featureClass": {c: None for c in classes}}


@pytest.mark.slow
def test_all_cases_default_settings(pyradiomics_samples, sample_case):
    baseline = _baseline(pyradiomics_samples)
    cases = ["brain1", "brain2", "breast1", "lung1", "lung2"]
    classes = [c for c in CLASSES if c != "shape2D"]
    settings = {baseline[c].loc["diagnostics_Configuration_Settings", case] for c in classes for case in cases}
    assert len(settings) == 1  # one extraction covers every plain column
    df = extract([(c, sample_case(c)) for c in cases], _params(baseline, "brain1", classes),
                 scheduler="sync", cache=False, progress=False)
    assert errors(df).empty
    checked = sum(_check(df, case, baseline, case, classes) for case in cases)
    assert checked == 5 * 107


@pytest.mark.parametrize("case", ["brain2", "breast1"])
@pytest.mark.parametrize("variant", ["resampling", "normalization", "resegmentation", "FBN", "combined", "2d",
                                     "flatRegion"])
def test_settings_variants(pyradiomics_samples, sample_case, case, variant):
    baseline = _baseline(pyradiomics_samples)
    column = f"{case}_{variant}"
    classes = [c for c in CLASSES if column in baseline[c].columns]
    groups: dict[str, list[str]] = {}
    for c in classes:
        groups.setdefault(baseline[c].loc["diagnostics_Configuration_Settings", column], []).append(c)
    ds = sample_case(case)
    checked = 0
    for group in groups.values():
        df = extract([(case, ds)], _params(baseline, column, group), scheduler="sync", cache=False, progress=False)
        assert errors(df).empty, errors(df).message.tolist()
        checked += _check(df, case, baseline, column, group)
    assert checked >= 5
