"""Viewer and cohort page logic, without a browser: set parameters, check state and figures."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pytest

from radlab.ui import CohortPage, ImageViewer, Pseudonymiser, acquisition_by_batch, case_table, default_window


@pytest.fixture
def viewer(catalog):
    return ImageViewer(catalog["demo"])


def test_viewer_opens_on_the_slice_with_most_tumour(viewer):
    mask = viewer.data["tumour_pre"].values
    assert viewer.slice == int(np.argmax(mask.sum(axis=(1, 2))))
    assert viewer.param.slice.bounds == (0, mask.shape[0] - 1)
    assert viewer.image_var == "T2w_pre" and viewer.mask_var == "tumour_pre"


def test_changing_case_sequence_and_timepoint(viewer, catalog):
    other = catalog["demo"].ids[3]
    viewer.case = other
    assert viewer.data.attrs["case"] == other
    viewer.sequence, viewer.timepoint = "ADC", "post"
    assert viewer.image_var == "ADC_post" and viewer.mask_var == "tumour_post"
    image, mask = viewer.slice_arrays()
    np.testing.assert_array_equal(image, viewer.data["ADC_post"].values[viewer.slice])
    np.testing.assert_array_equal(mask, viewer.data["tumour_post"].values[viewer.slice])


def test_plot_reflects_window_level_and_mask_toggle(viewer):
    viewer.window, viewer.level = 200.0, 500.0
    overlay = viewer.plot()
    assert isinstance(overlay, hv.Overlay)
    image = overlay.get(0)
    assert image.opts.get("plot").kwargs["clim"] == (400.0, 600.0)
    assert f"slice {viewer.slice}" in image.label
    viewer.show_mask = False
    assert isinstance(viewer.plot(), hv.Image)


def test_default_window_spans_the_lesion_and_body():
    image = np.zeros((1, 10, 10))
    image[0, 2:8, 2:8] = 100.0
    image[0, 4:6, 4:6] = 300.0
    mask = (image == 300.0).astype(np.uint8)
    window, level = default_window(image, mask)
    assert level - window / 2 <= 100.0 and level + window / 2 >= 300.0


def test_cohort_page_table_and_selection(catalog):
    page = CohortPage(catalog)
    assert page.param.cohort.objects == ["demo", "demo-dicom", "pyradiomics-samples", "lung-ct", "lidc"]
    table = page._table.value
    assert len(table) == 30 and {"case", "centre", "pcr", "vendor", "field_strength"} <= set(table.columns)
    assert table.case.iloc[4] == Pseudonymiser(page.pseudonymiser.salt)(page._cases[4]) != page._cases[4]
    page._table.selection = [4]
    assert page.viewer.case == page._cases[4] == catalog["demo"].ids[4]
    assert page.viewer.labels[page.viewer.case] == table.case.iloc[4]
    page.cohort = "pyradiomics-samples"
    assert page.viewer.case == "brain1" and page.viewer.mask_var == "label"
    assert list(case_table(catalog["pyradiomics-samples"]).case) == ["brain1", "brain2", "breast1", "lung1", "lung2"]


def test_acquisition_by_centre_summarises_each_centre(catalog):
    cohort = catalog["demo"]
    table = acquisition_by_batch(cohort)
    acq = cohort.acquisition(progress=False).assign(centre=lambda d: d.case.map(cohort.clinical.centre))
    for (centre, image), row in table.iterrows():
        sel = acq[(acq.centre == centre) & (acq.image == image)]
        assert row.cases == sel.case.nunique()
        assert row.vendor == ", ".join(f"{k} ({v})" for k, v in sel.vendor.value_counts().items())


def test_cohort_table_one_compares_training_and_external_centres(catalog):
    from scipy import stats

    from radlab.ui import cohort_table_one

    cohort = catalog["demo"]
    table = cohort_table_one(cohort).set_index(["variable", "level"])
    clinical = cohort.clinical
    assert table.loc[("n", ""), "train"] == str((clinical.split == "train").sum())
    train, external = clinical.age[clinical.split == "train"], clinical.age[clinical.split == "external"]
    skewed = abs(clinical.age.skew()) > 1  # the page's rule: skewed variables get rank tests
    assert table.loc[("age", ""), "test"] == ("Mann-Whitney U" if skewed else "Welch t-test")
    ref = (stats.mannwhitneyu(train, external) if skewed else stats.ttest_ind(train, external, equal_var=False)).pvalue
    assert table.loc[("age", ""), "p_value"] == pytest.approx(ref)
    assert table.loc[("sex", "F"), "test"] in ("chi-square", "Fisher exact")


@pytest.mark.parametrize("empty_position", [0, 1], ids=["first-case", "chosen-case"])
def test_mask_only_case_lacking_every_mask_is_shown_as_such(tmp_path, data_root, empty_position):
    """A mask-only cohort whose masks are all optional: a case lacking every one opens with no variable; the
    cohort page still opens (also when that case is the first) and says so for that case."""
    import pandas as pd
    import panel as pn

    from radlab.catalog import Catalog

    src = data_root / "lidc"
    clinical = pd.read_csv(src / "clinical.csv").head(3)
    for i, case in enumerate(clinical.case_id):
        (tmp_path / "masks" / case).mkdir(parents=True)
        for name in ("reader1", "reader2") if i != empty_position else ():
            if (src / "masks" / case / f"{name}.nii.gz").exists():
                (tmp_path / "masks" / case / f"{name}.nii.gz").write_bytes((src / "masks" / case / f"{name}.nii.gz").read_bytes())
    clinical.to_csv(tmp_path / "clinical.csv", index=False)
    (tmp_path / "catalog.yaml").write_text(
        "cohorts:\n  m:\n    masks:\n      reader1: {path: 'masks/{case}/reader1.nii.gz', optional: true}\n"
        "      reader2: {path: 'masks/{case}/reader2.nii.gz', optional: true}\n"
        "    clinical: {path: clinical.csv, id: case_id}\n")
    empty = clinical.case_id.iloc[empty_position]
    page = CohortPage(Catalog(tmp_path / "catalog.yaml"), pseudonymiser=Pseudonymiser(enabled=False))
    page._table.selection = [empty_position]
    viewer = page.viewer
    assert viewer.case == empty and viewer.masks == [] and viewer.slice == 0
    assert viewer.plot().opts.get().kwargs["title"] == f"{empty}: this case has none of the cohort's masks"
    assert pn.panel(viewer).get_root() is not None
    page._table.selection = [2]  # a case with masks after it: the slice most readers marked
    assert viewer.masks and viewer.slice == int(np.argmax(viewer.votes().sum(axis=(1, 2))))
