"""IBSI 1 on the CT phantom (lung-ct case 1): presets A-E, the reference table, the report and ``radlab ibsi``.

The MIRP match rates of docs/features.md come from ``radlab ibsi --config A B C D E --backend mirp`` (about
1.5 minutes per configuration here); the test run checks the pyradiomics path on configuration C, whose
extraction takes seconds, value by value against the numbers documented.
"""

from __future__ import annotations

import math

import pytest

from radlab.cli import main
from radlab.features import PRESETS, ibsi_report, load_params, match_rates
from radlab.features._ibsi import CONFIGS, REPORT_COLUMNS, ibsi_tag
from radlab.features._ibsi_reference import REFERENCE


def test_reference_tables_cover_every_family_of_each_configuration():
    assert {c: len(REFERENCE[c]) for c in CONFIGS} == {"A": 346, "B": 346, "C": 210, "D": 210, "E": 210}
    assert REFERENCE["A"]["morph_volume"] == (358000.0, 5000.0) and REFERENCE["C"]["morph_volume"] == (367000.0, 6000.0)
    assert REFERENCE["B"]["cm_joint_max_2_5D_comb"] == (0.126, 0.002)
    assert REFERENCE["E"]["ivh_i10"] == (770.0, 5.0)  # IVH of 1000 bins: bin numbers, not HU
    for config in CONFIGS:
        families = {tag.split("_")[0] for tag in REFERENCE[config]}
        assert families == {"morph", "loc", "stat", "ih", "ivh", "cm", "rlm", "szm", "dzm", "ngt", "ngl"}


@pytest.mark.parametrize("config, expected", [
    ("a", {"new_spacing": None, "by_slice": True, "resegmentation_intensity_range": [-500.0, 400.0],
           "base_discretisation_bin_width": 25.0}),
    ("b", {"new_spacing": 2.0, "spline_order": 1, "by_slice": True, "base_discretisation_n_bins": 32}),
    ("c", {"new_spacing": 2.0, "spline_order": 1, "resegmentation_intensity_range": [-1000.0, 400.0],
           "ivh_discretisation_bin_width": 2.5}),
    ("d", {"spline_order": 1, "resegmentation_sigma": 3.0, "base_discretisation_n_bins": 32,
           "ivh_discretisation_method": "none"}),
    ("e", {"spline_order": 3, "resegmentation_sigma": 3.0, "resegmentation_intensity_range": [-1000.0, 400.0],
           "ivh_discretisation_n_bins": 1000}),
], ids=list("ABCDE"))
def test_presets_follow_the_ibsi_configurations(config, expected):
    assert f"ibsi-ct-{config}" in PRESETS
    params = load_params(f"ibsi-ct-{config}")
    mirp = params["mirp"]
    assert {k: mirp[k] for k in expected} == expected
    assert mirp["roi_interpolation_mask_inclusion_threshold"] == 0.5 and mirp["ngldm_difference_level"] == 0.0
    assert params["setting"]["distances"] == [1] and list(params["imageType"]) == ["Original"]


def test_feature_names_map_to_ibsi_tags():
    assert ibsi_tag("cm_joint_max_d1_3d_v_mrg_fbn_n32") == "cm_joint_max_3D_comb"
    assert ibsi_tag("rlm_sre_2.5d_d_mrg_fbs_w25") == "rlm_sre_2_5D_avg"
    assert ibsi_tag("ih_mean_fbs_w25") == "ih_mean" and ibsi_tag("morph_volume") == "morph_volume"
    assert ibsi_tag("original_glcm_Contrast", config="D") == "cm_contrast_3D_avg"
    assert ibsi_tag("original_glszm_ZoneEntropy", config="B") == "szm_zs_entr_2_5D"
    assert ibsi_tag("original_firstorder_Entropy") == "ih_entropy" and ibsi_tag("original_shape_Flatness") == \
        "morph_pca_flatness"


@pytest.fixture(scope="module")
def report_c(catalog, tmp_path_factory):
    return ibsi_report("C", backend="pyradiomics", cache=tmp_path_factory.mktemp("ibsi-cache"))


def test_pyradiomics_report_on_configuration_c(report_c):
    report = report_c
    assert list(report.columns) == REPORT_COLUMNS and len(report) == 210 and set(report.config) == {"C"}
    computed = report.dropna(subset=["value"])
    assert len(computed) == PYRADIOMICS_C["computed"]
    assert int(computed.match.sum()) == PYRADIOMICS_C["matched"]
    row = report.set_index("ibsi_code").loc["morph_vol_approx"]
    assert (row.family, row.feature, row.aggregation) == ("morphology", "vol_approx", "")
    rates = match_rates(computed).loc["C"]
    assert rates.loc["morphology", "values"] == 11 and rates.loc["GLCM", "values"] == 22
    # a value matches when, rounded to 3 significant digits, it lies within the tolerance
    for _, r in computed.iterrows():
        rounded = float(f"{r.value:.3g}")
        assert r.match == (abs(rounded - r.reference) <= r.tolerance), r.ibsi_code
    assert not any(math.isnan(v) for v in computed.value)


def test_cli_ibsi_prints_the_mismatches_and_rates(report_c, catalog, tmp_path, capsys):
    code = main(["--catalog", str(catalog.path), "ibsi", "--config", "C", "--backend", "pyradiomics",
                 "--out", str(tmp_path / "c.csv")])
    out = capsys.readouterr().out
    assert code == 1  # some reference values are not matched (or not computed) by pyradiomics
    assert f"{PYRADIOMICS_C['matched']} of 210 reference values matched" in out and "GLCM" in out
    assert (tmp_path / "c.csv").read_text().startswith(",".join(REPORT_COLUMNS))


def test_bad_configuration_is_refused(catalog, capsys):
    with pytest.raises(ValueError, match="must be one of"):
        ibsi_report("F")
    assert main(["ibsi", "--config", "F"]) == 2


PYRADIOMICS_C = {"computed": 101, "matched": 14}  # measured: see docs/features.md
