"""IBSI 1 compliance on the CT radiomics phantom: configurations A-E against the consensus reference values.

:func:`ibsi_report` extracts the features of patient ``1`` of cohort ``lung-ct`` (the IBSI CT phantom, ``PAT1``)
with preset ``ibsi-ct-<config>`` and one backend, and compares every reference value of the configuration
(:mod:`radlab.features._ibsi_reference`) with the value computed: one row per reference value.

Backends: ``mirp`` follows every configuration exactly (its settings are the preset's ``mirp`` block);
``pyradiomics`` follows it as far as pyradiomics can (no IBSI interpolation grid, nearest-neighbour mask
resampling, no intensity rounding, no combined range + sigma re-segmentation, 2-D matrices merged over slices;
about 90 IBSI features only, e.g. no GLDZM, IVH, local intensity, intensity histogram statistics beyond entropy and
uniformity). A value matches when, rounded to 3 significant digits, it lies within the tolerance of the reference
(the IBSI convention).
"""

from __future__ import annotations

import math
import re

import pandas as pd

from radlab.errors import InputError
from radlab.features._ibsi_reference import REFERENCE

__all__ = ["CONFIGS", "FAMILIES", "ibsi_report", "ibsi_tag", "match_rates"]

CONFIGS = ("A", "B", "C", "D", "E")
FAMILIES = {"morph": "morphology", "loc": "local intensity", "stat": "intensity statistics",
            "ih": "intensity histogram", "ivh": "intensity-volume histogram", "cm": "GLCM", "rlm": "GLRLM",
            "szm": "GLSZM", "dzm": "GLDZM", "ngt": "NGTDM", "ngl": "NGLDM"}
REPORT_COLUMNS = ["ibsi_code", "family", "feature", "aggregation", "config", "value", "reference", "tolerance", "match",
                  "backend"]
_AGGREGATIONS = (("_3d_v_mrg", "_3D_comb"), ("_3d_avg", "_3D_avg"), ("_2d_s_mrg", "_2D_comb"), ("_2d_avg", "_2D_avg"),
                 ("_2.5d_v_mrg", "_2_5D_comb"), ("_2.5d_d_mrg", "_2_5D_avg"), ("_2.5d", "_2_5D"), ("_3d", "_3D"),
                 ("_2d", "_2D"))
_SUFFIX = re.compile(r"_(3D_avg|3D_comb|3D|2D_avg|2D_comb|2D|2_5D_avg|2_5D_comb|2_5D)$")

# pyradiomics feature -> IBSI tag stem; texture classes get the aggregation of the configuration
_PYRADIOMICS = {
    "shape_MeshVolume": "morph_volume", "shape_VoxelVolume": "morph_vol_approx", "shape_SurfaceArea": "morph_area_mesh",
    "shape_SurfaceVolumeRatio": "morph_av", "shape_Sphericity": "morph_sphericity",
    "shape_Maximum3DDiameter": "morph_diam", "shape_MajorAxisLength": "morph_pca_maj_axis",
    "shape_MinorAxisLength": "morph_pca_min_axis", "shape_LeastAxisLength": "morph_pca_least_axis",
    "shape_Elongation": "morph_pca_elongation", "shape_Flatness": "morph_pca_flatness",
    "firstorder_Mean": "stat_mean", "firstorder_Variance": "stat_var", "firstorder_Skewness": "stat_skew",
    "firstorder_Kurtosis": "stat_kurt", "firstorder_Median": "stat_median", "firstorder_Minimum": "stat_min",
    "firstorder_10Percentile": "stat_p10", "firstorder_90Percentile": "stat_p90", "firstorder_Maximum": "stat_max",
    "firstorder_InterquartileRange": "stat_iqr", "firstorder_Range": "stat_range",
    "firstorder_MeanAbsoluteDeviation": "stat_mad", "firstorder_RobustMeanAbsoluteDeviation": "stat_rmad",
    "firstorder_Energy": "stat_energy", "firstorder_RootMeanSquared": "stat_rms", "firstorder_Entropy": "ih_entropy",
    "firstorder_Uniformity": "ih_uniformity",
    "glcm_MaximumProbability": "cm_joint_max", "glcm_JointAverage": "cm_joint_avg", "glcm_JointEntropy": "cm_joint_entr",
    "glcm_DifferenceAverage": "cm_diff_avg", "glcm_DifferenceVariance": "cm_diff_var",
    "glcm_DifferenceEntropy": "cm_diff_entr", "glcm_SumAverage": "cm_sum_avg", "glcm_SumEntropy": "cm_sum_entr",
    "glcm_JointEnergy": "cm_energy", "glcm_Contrast": "cm_contrast", "glcm_Id": "cm_inv_diff",
    "glcm_Idn": "cm_inv_diff_norm", "glcm_Idm": "cm_inv_diff_mom", "glcm_Idmn": "cm_inv_diff_mom_norm",
    "glcm_InverseVariance": "cm_inv_var", "glcm_Correlation": "cm_corr", "glcm_Autocorrelation": "cm_auto_corr",
    "glcm_ClusterTendency": "cm_clust_tend", "glcm_ClusterShade": "cm_clust_shade",
    "glcm_ClusterProminence": "cm_clust_prom", "glcm_Imc1": "cm_info_corr1", "glcm_Imc2": "cm_info_corr2",
    "glrlm_ShortRunEmphasis": "rlm_sre", "glrlm_LongRunEmphasis": "rlm_lre", "glrlm_LowGrayLevelRunEmphasis": "rlm_lgre",
    "glrlm_HighGrayLevelRunEmphasis": "rlm_hgre", "glrlm_ShortRunLowGrayLevelEmphasis": "rlm_srlge",
    "glrlm_ShortRunHighGrayLevelEmphasis": "rlm_srhge", "glrlm_LongRunLowGrayLevelEmphasis": "rlm_lrlge",
    "glrlm_LongRunHighGrayLevelEmphasis": "rlm_lrhge", "glrlm_GrayLevelNonUniformity": "rlm_glnu",
    "glrlm_GrayLevelNonUniformityNormalized": "rlm_glnu_norm", "glrlm_RunLengthNonUniformity": "rlm_rlnu",
    "glrlm_RunLengthNonUniformityNormalized": "rlm_rlnu_norm", "glrlm_RunPercentage": "rlm_r_perc",
    "glrlm_GrayLevelVariance": "rlm_gl_var", "glrlm_RunVariance": "rlm_rl_var", "glrlm_RunEntropy": "rlm_rl_entr",
    "glszm_SmallAreaEmphasis": "szm_sze", "glszm_LargeAreaEmphasis": "szm_lze",
    "glszm_LowGrayLevelZoneEmphasis": "szm_lgze", "glszm_HighGrayLevelZoneEmphasis": "szm_hgze",
    "glszm_SmallAreaLowGrayLevelEmphasis": "szm_szlge", "glszm_SmallAreaHighGrayLevelEmphasis": "szm_szhge",
    "glszm_LargeAreaLowGrayLevelEmphasis": "szm_lzlge", "glszm_LargeAreaHighGrayLevelEmphasis": "szm_lzhge",
    "glszm_GrayLevelNonUniformity": "szm_glnu", "glszm_GrayLevelNonUniformityNormalized": "szm_glnu_norm",
    "glszm_SizeZoneNonUniformity": "szm_zsnu", "glszm_SizeZoneNonUniformityNormalized": "szm_zsnu_norm",
    "glszm_ZonePercentage": "szm_z_perc", "glszm_GrayLevelVariance": "szm_gl_var", "glszm_ZoneVariance": "szm_zs_var",
    "glszm_ZoneEntropy": "szm_zs_entr",
    "ngtdm_Coarseness": "ngt_coarseness", "ngtdm_Contrast": "ngt_contrast", "ngtdm_Busyness": "ngt_busyness",
    "ngtdm_Complexity": "ngt_complexity", "ngtdm_Strength": "ngt_strength",
    "gldm_SmallDependenceEmphasis": "ngl_lde", "gldm_LargeDependenceEmphasis": "ngl_hde",
    "gldm_LowGrayLevelEmphasis": "ngl_lgce", "gldm_HighGrayLevelEmphasis": "ngl_hgce",
    "gldm_SmallDependenceLowGrayLevelEmphasis": "ngl_ldlge", "gldm_SmallDependenceHighGrayLevelEmphasis": "ngl_ldhge",
    "gldm_LargeDependenceLowGrayLevelEmphasis": "ngl_hdlge", "gldm_LargeDependenceHighGrayLevelEmphasis": "ngl_hdhge",
    "gldm_GrayLevelNonUniformity": "ngl_glnu", "gldm_DependenceNonUniformity": "ngl_dcnu",
    "gldm_DependenceNonUniformityNormalized": "ngl_dcnu_norm", "gldm_GrayLevelVariance": "ngl_gl_var",
    "gldm_DependenceVariance": "ngl_dc_var", "gldm_DependenceEntropy": "ngl_dc_entr",
}


def ibsi_tag(name: str, *, config: str = "C") -> str | None:
    """The IBSI tag of a MIRP feature (``cm_joint_max_d1_3d_avg_fbn_n32`` -> ``cm_joint_max_3D_avg``) or of a
    pyradiomics feature (``original_glcm_JointAverage`` -> ``cm_joint_avg_3D_avg`` in a 3-D configuration,
    ``..._2_5D_avg`` in A and B, where pyradiomics merges the slices' matrices per direction); None if unknown.

    Examples
    --------
    >>> ibsi_tag("ngl_lde_d1_a0.0_2.5d_fbs_w25"), ibsi_tag("original_gldm_SmallDependenceEmphasis", config="A")
    ('ngl_lde_2_5D', 'ngl_lde_2_5D')
    """
    if name.startswith("original_"):
        stem = _PYRADIOMICS.get(name.removeprefix("original_"))
        if stem is None or not stem.startswith(("cm_", "rlm_", "szm_", "ngt_", "ngl_")):
            return stem
        dim = "2_5D" if config in ("A", "B") else "3D"
        return f"{stem}_{dim}_avg" if stem.startswith(("cm_", "rlm_")) else f"{stem}_{dim}"
    tag = re.sub(r"_(d1|d1\.0|a0\.0|fb[sn]_[nw][0-9.]+)(?=_|$)", "", name)
    for mirp, ibsi in _AGGREGATIONS:
        if tag.endswith(mirp):
            return tag[: -len(mirp)] + ibsi
    return tag


def _sig3(x: float) -> float:
    return x if x == 0 or not math.isfinite(x) else round(x, 2 - int(math.floor(math.log10(abs(x)))))


def ibsi_report(config: str = "A", *, backend: str = "mirp", cohort=None, case: str = "1", catalog=None,
                scheduler: str | None = "sync", cache=None) -> pd.DataFrame:
    """One row per IBSI reference value of configuration ``config`` (A-E) of the CT phantom.

    Columns: ``ibsi_code`` (the IBSI feature tag), ``family``, ``feature``, ``aggregation``, ``config``, ``value``
    (NaN when the backend does not compute the feature), ``reference``, ``tolerance``, ``match``, ``backend``.
    ``cohort`` defaults to ``lung-ct`` of the catalog (``case`` ``1`` is the phantom).
    """
    from radlab.catalog import open_cohort
    from radlab.features._extract import errors, extract

    config = str(config).upper()
    if config not in CONFIGS:
        raise InputError(f"The 'config' parameter of ibsi_report must be one of {CONFIGS}. Got {config!r} instead.")
    cohort = open_cohort("lung-ct", catalog) if cohort is None else cohort
    if case not in cohort.ids:
        raise InputError(f"cohort {cohort.name!r} has no case {case!r} (the IBSI CT phantom); cases: {cohort.ids[:8]}",
                         case=case)
    df = extract(cohort.subset([case]), f"ibsi-ct-{config.lower()}", backend=backend, scheduler=scheduler, cache=cache,
                 progress=False)
    failed = errors(df)
    if len(failed):
        raise InputError(f"IBSI configuration {config}: case {case!r} failed: {failed.message.iloc[0]}", case=case)
    values = {}
    for column, value in df.loc[case].items():
        tag = ibsi_tag(str(column).split("__")[-1], config=config)
        if tag is not None:
            values.setdefault(tag, float(value))
    rows = []
    for tag, (reference, tolerance) in REFERENCE[config].items():
        value = values.get(tag, math.nan)
        aggregation = _SUFFIX.search(tag)
        feature = tag[len(tag.split("_")[0]) + 1: aggregation.start() if aggregation else None]
        rows.append((tag, FAMILIES[tag.split("_")[0]], feature, aggregation.group(1) if aggregation else "", config,
                     value, reference, tolerance, bool(math.isfinite(value) and abs(_sig3(value) - reference)
                                                        <= tolerance), backend))
    return pd.DataFrame(rows, columns=REPORT_COLUMNS)


def match_rates(report: pd.DataFrame) -> pd.DataFrame:
    """Matched / reference values per family and config of one or more reports (``pd.concat``-ed)."""
    out = report.groupby(["config", "family"], sort=False).match.agg(["sum", "count"])
    out["rate"] = out["sum"] / out["count"]
    return out.rename(columns={"sum": "matched", "count": "values"})
