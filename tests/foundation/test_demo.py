"""The demo cohort: deterministic, and its ground truth is really in the images and outcomes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from scipy import stats

from radlab.datasets import CENTRES, make_demo_cohort


def test_deterministic_by_seed(tmp_path):
    a = make_demo_cohort(tmp_path / "a", n_cases=3, n_external=1, n_dicom=0, seed=7, progress=False)
    b = make_demo_cohort(tmp_path / "b", n_cases=3, n_external=1, n_dicom=0, seed=7, progress=False)
    c = make_demo_cohort(tmp_path / "c", n_cases=3, n_external=1, n_dicom=0, seed=8, progress=False)
    pd.testing.assert_frame_equal(pd.read_csv(a / "clinical.csv"), pd.read_csv(b / "clinical.csv"))
    case = pd.read_csv(a / "clinical.csv").case_id[0]
    img = lambda root: sitk.GetArrayFromImage(sitk.ReadImage(str(root / "images" / case / "ADC_post.nii.gz")))  # noqa: E731
    np.testing.assert_array_equal(img(a), img(b))
    assert not pd.read_csv(a / "clinical.csv").equals(pd.read_csv(c / "clinical.csv"))


def _tumour_stats(cohort):
    centres = {c.name: c for c in CENTRES}
    rows = []
    for case in cohort.ids:
        ds = cohort.case(case).compute()
        centre = centres[cohort.clinical.at[case, "centre"]]
        mask = ds["tumour_pre"].values > 0
        adc = (ds["ADC_pre"].values[mask] - centre.offset) / centre.scale  # undo the centre's intensity scale
        rows.append({"case": case, "volume": mask.sum() * np.prod(ds["tumour_pre"].attrs["spacing"]),
                     "adc": adc.mean(), "t2w_mean": ds["T2w_pre"].values[ds["T2w_pre"].values > 0].mean(),
                     "post_volume": (ds["tumour_post"].values > 0).sum() * np.prod(ds["tumour_post"].attrs["spacing"]),
                     "z": cohort.ground_truth["cases"][case]["z"],
                     "response": cohort.ground_truth["cases"][case]["response"]})
    return pd.DataFrame(rows).set_index("case").join(cohort.clinical)


@pytest.fixture(scope="module")
def tumours(catalog):
    return _tumour_stats(catalog["demo"])


def test_latent_biology_drives_the_images(tumours):
    # ADC falls with aggressiveness; volume grows with it (30 cases: strong effects only)
    assert stats.spearmanr(tumours.adc, tumours.z)[0] < -0.8
    assert stats.spearmanr(tumours.volume, tumours.z)[0] > 0.5
    # treatment shrinks tumours, responders most
    shrink = tumours.post_volume / tumours.volume
    assert (shrink <= 1.0 + 1e-9).all()
    assert stats.spearmanr(shrink, tumours.response)[0] < -0.8


def test_centres_differ_in_intensity(tumours):
    groups = [g.t2w_mean.to_numpy() for _, g in tumours.groupby("centre")]
    assert stats.kruskal(*groups).pvalue < 0.05  # the injected batch effect is visible


def test_clinical_table_is_plausible(catalog):
    clinical = catalog["demo"].clinical
    assert set(clinical.centre) <= {"A", "B", "C", "D"} and set(clinical.t_stage) <= {2, 3, 4}
    assert clinical.os_months.between(0, 60).all() and set(clinical.os_event) <= {0, 1}
    assert set(clinical.pcr) == {0, 1}
