"""The IBSI 1 digital phantom and the reference values of its features.

Phantom: 5 x 4 x 4 voxels (x, y, z) of 2.0 mm, grey levels {1, 3, 4, 6} inside the ROI; 74 ROI voxels
(IBSI reference manual, "Digital phantom", arXiv:1612.07003; voxel values as in theibsi/data_sets
ibsi_1_digital_phantom). Reference values and tolerances: IBSI 1 consensus table for the digital phantom
(as distributed with MIRP, test/data/ibsi_1_reference_values/ibsi_1_dig_phantom.csv). A tolerance of 0
means the value is given to 3 significant digits: a feature matches when it rounds to it.
"""

import numpy as np

from radlab.features._ibsi import _PYRADIOMICS, ibsi_tag

# rows are y (4), columns x (5), one block per slice z (4)
PHANTOM = np.array([
    [[4, 4, 6, 4, 1], [4, 4, 6, 1, 1], [1, 1, 6, 1, 1], [1, 1, 6, 1, 1]],
    [[4, 1, 6, 4, 1], [1, 1, 3, 1, 1], [1, 1, 9, 1, 1], [1, 1, 1, 1, 1]],
    [[1, 4, 6, 1, 1], [1, 1, 6, 1, 1], [1, 1, 1, 1, 1], [1, 1, 1, 1, 1]],
    [[1, 4, 4, 1, 1], [1, 4, 4, 1, 1], [1, 4, 4, 1, 1], [1, 4, 4, 1, 1]],
], dtype=np.float32)
MASK = np.ones_like(PHANTOM, dtype=np.uint8)
MASK[1, 1, 0] = 0
MASK[1, 2, 2] = 0
MASK[3, 2:4, 3:5] = 0
SPACING = 2.0

# IBSI tag: (reference value, tolerance)
REFERENCE = {
    "morph_volume": (556, 4), "morph_vol_approx": (592, 4), "morph_area_mesh": (388, 3), "morph_av": (0.698, 0.004),
    "morph_comp_1": (0.0411, 0.0003), "morph_comp_2": (0.599, 0.004), "morph_sph_dispr": (1.19, 0.01),
    "morph_sphericity": (0.843, 0.005), "morph_diam": (13.1, 0.1), "morph_pca_maj_axis": (11.4, 0.1),
    "morph_pca_min_axis": (9.31, 0.06), "morph_pca_least_axis": (8.54, 0.05), "morph_pca_elongation": (0.816, 0.005),
    "morph_pca_flatness": (0.749, 0.005),
    "stat_mean": (2.15, 0), "stat_var": (3.05, 0), "stat_skew": (1.08, 0), "stat_kurt": (-0.355, 0),
    "stat_median": (1, 0), "stat_min": (1, 0), "stat_p10": (1, 0), "stat_p90": (4, 0), "stat_max": (6, 0),
    "stat_iqr": (3, 0), "stat_range": (5, 0), "stat_mad": (1.55, 0), "stat_rmad": (1.11, 0), "stat_energy": (567, 0),
    "stat_rms": (2.77, 0), "ih_entropy": (1.27, 0), "ih_uniformity": (0.512, 0),
    "cm_joint_max_3D_avg": (0.503, 0), "cm_joint_avg_3D_avg": (2.14, 0), "cm_joint_entr_3D_avg": (2.4, 0),
    "cm_diff_avg_3D_avg": (1.43, 0), "cm_diff_var_3D_avg": (3.06, 0), "cm_diff_entr_3D_avg": (1.56, 0),
    "cm_sum_avg_3D_avg": (4.29, 0), "cm_sum_entr_3D_avg": (1.92, 0), "cm_energy_3D_avg": (0.303, 0),
    "cm_contrast_3D_avg": (5.32, 0), "cm_inv_diff_3D_avg": (0.677, 0), "cm_inv_diff_norm_3D_avg": (0.851, 0),
    "cm_inv_diff_mom_3D_avg": (0.618, 0), "cm_inv_diff_mom_norm_3D_avg": (0.898, 0), "cm_inv_var_3D_avg": (0.0604, 0),
    "cm_corr_3D_avg": (0.157, 0), "cm_auto_corr_3D_avg": (5.06, 0), "cm_clust_tend_3D_avg": (7.07, 0),
    "cm_clust_shade_3D_avg": (16.6, 0), "cm_clust_prom_3D_avg": (145, 0), "cm_info_corr1_3D_avg": (-0.157, 0),
    "cm_info_corr2_3D_avg": (0.52, 0),
    "rlm_sre_3D_avg": (0.705, 0), "rlm_lre_3D_avg": (3.06, 0), "rlm_lgre_3D_avg": (0.603, 0), "rlm_hgre_3D_avg": (9.7, 0),
    "rlm_srlge_3D_avg": (0.352, 0), "rlm_srhge_3D_avg": (8.54, 0), "rlm_lrlge_3D_avg": (2.39, 0),
    "rlm_lrhge_3D_avg": (17.6, 0), "rlm_glnu_3D_avg": (21.8, 0), "rlm_glnu_norm_3D_avg": (0.43, 0),
    "rlm_rlnu_3D_avg": (26.9, 0), "rlm_rlnu_norm_3D_avg": (0.513, 0), "rlm_r_perc_3D_avg": (0.68, 0),
    "rlm_gl_var_3D_avg": (3.46, 0), "rlm_rl_var_3D_avg": (0.574, 0), "rlm_rl_entr_3D_avg": (2.43, 0),
    "szm_sze_3D": (0.255, 0), "szm_lze_3D": (550, 0), "szm_lgze_3D": (0.253, 0), "szm_hgze_3D": (15.6, 0),
    "szm_szlge_3D": (0.0256, 0), "szm_szhge_3D": (2.76, 0), "szm_lzlge_3D": (503, 0), "szm_lzhge_3D": (1490, 0),
    "szm_glnu_3D": (1.4, 0), "szm_glnu_norm_3D": (0.28, 0), "szm_zsnu_3D": (1, 0), "szm_zsnu_norm_3D": (0.2, 0),
    "szm_z_perc_3D": (0.0676, 0), "szm_gl_var_3D": (2.64, 0), "szm_zs_var_3D": (331, 0), "szm_zs_entr_3D": (2.32, 0),
    "ngt_coarseness_3D": (0.0296, 0), "ngt_contrast_3D": (0.584, 0), "ngt_busyness_3D": (6.54, 0),
    "ngt_complexity_3D": (13.5, 0), "ngt_strength_3D": (0.763, 0),
    "ngl_lde_3D": (0.045, 0), "ngl_hde_3D": (109, 0), "ngl_lgce_3D": (0.693, 0), "ngl_hgce_3D": (7.66, 0),
    "ngl_ldlge_3D": (0.00963, 0), "ngl_ldhge_3D": (0.736, 0), "ngl_hdlge_3D": (102, 0), "ngl_hdhge_3D": (235, 0),
    "ngl_glnu_3D": (37.9, 0), "ngl_glnu_norm_3D": (0.512, 0), "ngl_dcnu_3D": (4.86, 0), "ngl_dcnu_norm_3D": (0.0657, 0),
    "ngl_gl_var_3D": (3.05, 0), "ngl_dc_var_3D": (22.1, 0), "ngl_dc_entr_3D": (4.4, 0),
}

# pyradiomics feature (<class>_<name>) -> IBSI tag with the 3-D aggregations of this phantom's settings
# (radlab.features._ibsi's mapping: "3D_avg" for GLCM/GLRLM, "3D" for the other texture classes)
PYRADIOMICS_TO_IBSI = {name: ibsi_tag(f"original_{name}", config="C") for name in _PYRADIOMICS}

# settings reproducing IBSI configuration "A" analogue on the phantom: no resampling, bin width 1
# (keeps the grey levels 1..6), no shift for energy, all 3-D classes
IBSI_PARAMS = {
    "setting": {"binWidth": 1, "label": 1, "voxelArrayShift": 0, "distances": [1], "gldm_a": 0,
                "minimumROIDimensions": 1, "padDistance": 1},
    "imageType": {"Original": {}},
    "featureClass": {k: None for k in ("shape", "firstorder", "glcm", "glrlm", "glszm", "gldm", "ngtdm")},
}


def matches(value: float, reference: float, tolerance: float) -> bool:
    """IBSI agreement: within the tolerance, or (tolerance 0) equal to 3 significant digits."""
    if tolerance > 0:
        return abs(value - reference) <= tolerance
    if reference == 0:
        return abs(value) < 5e-4
    return float(f"{value:.3g}") == float(f"{reference:.3g}")


def phantom_dataset():
    import xarray as xr

    geo = {"spacing": (SPACING,) * 3, "origin": (0.0, 0.0, 0.0), "direction": (1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0)}
    return xr.Dataset({
        "image": (("z", "y", "x"), PHANTOM, {"role": "image", **geo}),
        "mask": (("z", "y", "x"), MASK, {"role": "mask", "image": "image", **geo}),
    })
