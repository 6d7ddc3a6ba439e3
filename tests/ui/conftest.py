"""UI fixtures: page inputs built in the tests (predictions from sklearn/sksurv models on the catalog's
reference cohorts, synthetic batch features, a pipeline for SHAP, a tiny CNN), Debian's chromium driven by
Playwright, a radlab server on loopback."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ui_helpers import CHROMIUM, CHROMIUM_ARGS, SALT, free_port, wait_for_port


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
    import torch
    import xarray as xr

    from radlab.dl import ResNet

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 1, 6, 16, 16)).astype("float32")
    mask = np.zeros((4, 6, 16, 16), np.uint8)
    mask[:, 2:4, 5:10, 6:11] = 1
    y = np.array([0, 1, 0, 1], np.float32)
    x[y == 1, 0] += 2.0 * mask[y == 1]
    net = ResNet(1, dim=3, widths=(4, 8))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(15):
        opt.zero_grad()
        torch.nn.functional.binary_cross_entropy_with_logits(net(torch.as_tensor(x))[:, 0], torch.as_tensor(y)).backward()
        opt.step()
    cases = ["S001", "S002", "S003", "S004"]
    images = xr.DataArray(x, dims=("case", "channel", "z", "y", "x"), coords={"case": cases, "channel": ["T2w"]})
    masks = xr.DataArray(mask, dims=("case", "z", "y", "x"), coords={"case": cases})
    return {"model": net.eval(), "images": images, "masks": masks}


@pytest.fixture(scope="session")
def page_inputs(catalog, predictions, batch_features, shap_inputs, saliency_inputs):
    from radlab.ui import PageInputs, Pseudonymiser

    X, batch = batch_features
    return PageInputs(catalog.path, pseudonymiser=Pseudonymiser(SALT), predictions=predictions,
                      harmonisation={"features": X, "batch": batch}, shap=dict(shap_inputs),
                      saliency=saliency_inputs)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def server(catalog, page_inputs):
    """radlab's dashboards served on 127.0.0.1 in a thread; yields the base URL."""
    from radlab.ui import serve

    port = free_port()
    srv = serve(catalog=catalog.path, address="127.0.0.1", port=port, threaded=True, inputs=page_inputs)
    wait_for_port(port)
    yield f"http://127.0.0.1:{port}"
    srv.stop()
