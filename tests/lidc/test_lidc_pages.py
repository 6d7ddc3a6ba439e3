"""Dashboards over cohort lidc: the cohort page shows a mask-only case's reader masks (side by side or as an
agreement map, never a blank image), and the predictions pages read a case study's predictions table."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("panel")


def test_cohort_page_shows_reader_masks_of_a_mask_only_cohort(catalog):
    from radlab.ui import CohortPage, Pseudonymiser
    from radlab.ui._mask_viewer import MaskViewer

    page = CohortPage(catalog, cohort="lidc", pseudonymiser=Pseudonymiser(enabled=False))
    viewer = page.viewer
    assert isinstance(viewer, MaskViewer) and len(page._table.value) == 64
    assert {"patient_id", "n_readers", "malignant"} <= set(page._table.value.columns)
    page._table.selection = [0]
    case = page._cases[0]
    ds = catalog["lidc"].case(case).compute()
    readers = [v for v in ds.data_vars if v.startswith("reader")]
    votes = sum(ds[r].values.astype(int) for r in readers)
    assert viewer.slice == int(np.argmax(votes.reshape(len(votes), -1).sum(axis=1)))  # the slice most readers marked
    panels = list(viewer.plot())
    assert len(panels) == len(readers) + 1  # consensus and each reader
    shown = panels[1].dimension_values(2, flat=False)  # reader1 on the slice (y increasing, as the case's grid)
    assert np.array_equal(shown > 0, ds.reader1.values[viewer.slice] > 0) and shown.any()
    viewer.layout = "overlaid"
    overlay = viewer.plot().dimension_values(2, flat=False)
    assert np.array_equal(overlay, votes[viewer.slice]) and overlay.max() >= 1


def test_predictions_pages_read_the_case_study_predictions(lidc, tmp_path):
    from sklearn.linear_model import LogisticRegression

    from radlab.ui import PageInputs, build_page, read_predictions
    from radlab.validation import RepeatedStratifiedGroupKFold, cross_validate_predictions

    clinical = lidc.clinical.dropna(subset=["malignant"])
    X = clinical[["spiculation_median", "subtlety_median"]]
    cv = RepeatedStratifiedGroupKFold(n_splits=3, n_repeats=1, random_state=0)
    preds = cross_validate_predictions(LogisticRegression(), X, clinical.malignant.astype(int), cv=cv,
                                       groups=clinical.patient_id, cohort="lidc", model="ratings")
    path = tmp_path / "lidc_predictions.csv"
    preds.to_csv(path, index=False)  # what `radlab serve --predictions lidc_predictions.csv` reads
    table = read_predictions(path)
    assert len(table) == len(clinical) and set(table.case) == set(clinical.index)
    page = build_page("roc", PageInputs(predictions=table))
    assert page.store.cohort == "lidc" and page.store.model == "ratings"
