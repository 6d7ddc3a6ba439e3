"""Bad input to ComBat's batch/covariate metadata, to the selectors' y and to the negative controls: one
InputError naming what is wrong, no output; a case whose control cannot be made is that case's error row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from radlab.errors import InputError
from radlab.harmonize import ComBat, NoBatchWarning
from radlab.select import MRMR, LassoSelector, UnivariateFilter

RNG = np.random.default_rng(0)
X = pd.DataFrame(RNG.normal(size=(12, 3)), columns=["a", "b", "c"], index=[f"c{i}" for i in range(12)])
CENTRE = np.repeat(["A", "B", "C"], 4)
AGE = pd.DataFrame({"age": RNG.normal(60, 5, 12)}, index=X.index)


def _fitted(**kw):
    return ComBat(**kw).fit(X, batch=CENTRE)


COMBAT = {
    "batch-length": (lambda: ComBat().fit(X, batch=CENTRE[:-1]), "must have one entry per case of X (12). Got 11"),
    "batch-missing-label": (lambda: ComBat().fit(X, batch=np.where(np.arange(12) == 5, None, CENTRE)),
                            "must not be missing. Got 1 missing label(s), e.g. at position 5"),
    "batch-index-misaligned": (lambda: ComBat().fit(X, batch=pd.Series(CENTRE, index=X.index[::-1])),
                               "index that differs from X's"),
    "covariate-unlisted": (lambda: ComBat().fit(X, batch=CENTRE, covariates=AGE),
                           "covariates columns ['age'] are in neither 'categorical' nor 'continuous'"),
    "covariate-not-numeric": (lambda: ComBat(continuous=["age"]).fit(X, batch=CENTRE, covariates=AGE.assign(age="old")),
                              "continuous covariate column 0 of covariates must hold finite numbers"),
    "covariate-missing-value": (lambda: ComBat(continuous=["age"]).fit(
        X, batch=CENTRE, covariates=AGE.assign(age=AGE.age.mask(AGE.index == "c3"))),
        "Got 1 missing or non-numeric values"),
    "covariates-named-not-given": (lambda: ComBat(categorical=["sex"]).fit(X, batch=CENTRE), "got no covariates"),
    "batch-column-and-labels": (lambda: ComBat(batch="a").fit(X, batch=CENTRE), "do not also pass batch="),
    "one-batch-given": (lambda: ComBat().fit(X, batch=np.repeat("A", 12)), "at least 2 batches"),
    "non-finite-feature": (lambda: ComBat().fit(X.assign(a=X.a.mask(X.index == "c0")), batch=CENTRE),
                           "finite feature values (no NaN/inf). Got 1 non-finite values"),
    "transform-without-batch": (lambda: _fitted().transform(X), "transform needs each case's batch label"),
    "transform-unseen-batch": (lambda: _fitted().transform(X, batch=np.repeat("Z", 12)), "unseen batches ['Z']"),
}


@pytest.mark.parametrize("kind", COMBAT, ids=list(COMBAT))
def test_combat_metadata(kind):
    call, words = COMBAT[kind]
    with pytest.raises(InputError) as info:
        call()
    assert words in str(info.value)


def test_combat_batch_labels_after_a_fit_without_them():
    with pytest.warns(NoBatchWarning):
        cb = ComBat().fit(X)
    with pytest.raises(InputError, match="fitted without batch labels"):
        cb.transform(X, batch=CENTRE)


Y = np.array([0, 1] * 6)
SELECTORS = {
    "y-missing": (lambda: UnivariateFilter(k=1).fit(X), "requires y to be passed, but the target y is None"),
    "y-three-classes": (lambda: MRMR(n_features=1).fit(X, np.arange(12) % 3),
                        "must be binary labels (2 classes) or a survival target. Got 3 class(es) [0, 1, 2]"),
    "y-one-class": (lambda: LassoSelector(C=1.0).fit(X, np.zeros(12)), "Got 1 class(es) [0.0]"),
    "y-length": (lambda: UnivariateFilter(k=1).fit(X, Y[:-2]), "must have one value per case (12). Got 10"),
}


@pytest.mark.parametrize("kind", SELECTORS, ids=list(SELECTORS))
def test_selector_targets(kind):
    call, words = SELECTORS[kind]
    with pytest.raises(InputError) as info:
        call()
    assert words in str(info.value)


def test_control_that_cannot_be_made_is_that_cases_error_row(messy):
    """moved_roi on a case whose ROI covers the whole image fails for that case only, naming it and its mask;
    the other cases are extracted."""
    from radlab.catalog import Catalog
    from radlab.features import extract, negative_controls

    root, ids = messy
    cohort = Catalog(root / "catalog.yaml")["m"]
    cases = [(case, cohort.case(case)) for case in ids]
    whole = cases[1][1]
    cases[1] = (ids[1], whole.assign(tumour=whole.tumour.copy(data=np.ones(whole.tumour.shape, whole.tumour.dtype))))
    params = {"setting": {"binCount": 16, "label": 1}, "imageType": {"Original": {}},
              "featureClass": {"firstorder": ["Mean"]}}
    features = extract(negative_controls(cases, "moved_roi"), params, scheduler="sync", cache=False, progress=False)
    assert list(features.index) == [c for c in ids if c != ids[1]] and features.notna().all().all()
    (error,) = features.attrs["errors"]
    assert error["case"] == ids[1] and error["file"].endswith(f"masks/{ids[1]}/tumour_pre.nii.gz")
    assert "moved_roi: no in-plane position puts the ROI on tissue" in error["message"]


def test_unknown_control_and_outcome():
    from radlab.features import negative_control, run_negative_controls

    with pytest.raises(InputError, match="Unknown negative control 'blurred_roi'"):
        negative_control(None, "blurred_roi")
    with pytest.raises(InputError, match="must be a binary column of clinical. Got 'response'"):
        run_negative_controls([], pd.DataFrame({"pcr": [0, 1]}), outcome="response")
