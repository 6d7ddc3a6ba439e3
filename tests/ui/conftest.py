"""UI fixtures: page inputs built in the tests (predictions from sklearn/sksurv models on the catalog's
reference cohorts, synthetic batch features, a pipeline for SHAP, a tiny CNN), a radlab server on loopback
(the browser is tests/conftest.py's)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import ui_helpers
from ui_helpers import SALT, free_port, wait_for_port


@pytest.fixture(scope="session")
def predictions(catalog):
    """Tidy predictions: logistic regressions on breast-cancer-wisconsin, Cox models on gbsg2 (out-of-fold
    training rows from 3-fold x 2 repeats, test rows from the refit model)."""
    from radlab.ui import example_predictions

    table = example_predictions(str(catalog.path), n_splits=3, n_repeats=2)
    rng = np.random.default_rng(0)
    return table.assign(centre=rng.choice(["A", "B", "C"], len(table)))  # an extra batch column


@pytest.fixture(scope="session")
def batch_features():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(60, 6)), columns=[f"f{i}" for i in range(6)],
                     index=[f"c{i:02d}" for i in range(60)])
    batch = pd.Series(np.repeat(["A", "B", "C"], 20), index=X.index)
    X.loc[batch == "B", ["f0", "f1", "f2"]] += 2.0  # an injected centre shift in 3 of 6 features
    return X, batch


@pytest.fixture(scope="session")
def shap_inputs(catalog):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    cohort = catalog["breast-cancer-wisconsin"]
    X = cohort.features.iloc[:150, :6]
    y = cohort.clinical[cohort.outcomes["label"]].iloc[:150]
    return {"pipeline": make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y), "X": X}


@pytest.fixture(scope="session")
def saliency_inputs():
    """A tiny 3D CNN and a synthetic grid whose signal lives in a known box (the 'tumour' mask)."""
    return ui_helpers.saliency_inputs()


@pytest.fixture(scope="session")
def page_inputs(catalog, predictions, batch_features, shap_inputs, saliency_inputs):
    from radlab.ui import PageInputs, Pseudonymiser

    X, batch = batch_features
    return PageInputs(catalog.path, pseudonymiser=Pseudonymiser(SALT), predictions=predictions,
                      harmonisation={"features": X, "batch": batch}, shap=dict(shap_inputs),
                      saliency=saliency_inputs)


@pytest.fixture(scope="module")
def server(catalog, page_inputs):
    """radlab's dashboards served on 127.0.0.1 in a thread; yields the base URL."""
    from radlab.ui import serve

    port = free_port()
    srv = serve(catalog=catalog.path, address="127.0.0.1", port=port, threaded=True, inputs=page_inputs)
    wait_for_port(port)
    yield f"http://127.0.0.1:{port}"
    srv.stop()
