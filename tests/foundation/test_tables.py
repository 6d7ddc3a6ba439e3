"""Feature-table cohorts from installed packages: real data nobody here made."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_breast_cancer
from sksurv.datasets import load_gbsg2


def test_breast_cancer_wisconsin_matches_scikit_learn(catalog):
    cohort = catalog["breast-cancer-wisconsin"]
    ref = load_breast_cancer()
    assert len(cohort) == 569 and cohort.features.shape == (569, 30)
    assert cohort.outcomes == {"label": "malignant"}
    assert int(cohort.clinical["malignant"].sum()) == int((ref.target == 0).sum()) == 212
    np.testing.assert_allclose(cohort.features.to_numpy(), ref.data, rtol=1e-12)


def test_gbsg2_matches_scikit_survival(catalog):
    cohort = catalog["gbsg2"]
    x, y = load_gbsg2()
    assert len(cohort) == 686
    assert cohort.outcomes == {"time": "time_days", "event": "event"}
    assert int(cohort.clinical["event"].sum()) == int(y["cens"].sum()) == 299
    np.testing.assert_allclose(cohort.clinical["time_days"], y["time"])
    assert list(cohort.features.columns) == ["age", "estrec", "horTh", "menostat", "pnodes", "progrec", "tgrade", "tsize"]
    assert set(cohort.features.tgrade) == {1, 2, 3}
