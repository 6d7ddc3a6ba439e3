"""``radlab export-html`` output opened with the network blocked: every page export loads nothing but the file
itself (no stylesheet, font or script from a CDN), logs no console error and draws its figures.

Debian's Chromium through Playwright; every request that is not ``file:`` or ``data:`` is aborted and recorded.
Inputs are small and synthetic (the cohort page reads the tiny demo cohort), so the seven exports stay fast.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ui.ui_helpers import saliency_inputs

pytestmark = pytest.mark.ui

PAGES = ("cohort", "roc", "survival", "calibration", "saliency", "harmonisation", "shap")


def synthetic_predictions(seed: int = 0) -> pd.DataFrame:
    """A binary study (probabilities and labels) and a survival study (risk scores, times, events), two models
    each, out-of-fold training rows and an external split."""
    rng = np.random.default_rng(seed)
    frames = []
    for cohort, outcome in (("binary study", "label"), ("survival study", "time")):
        for model in (f"{outcome} model a", f"{outcome} model b"):
            for split, n in (("train", 45), ("external", 24)):
                truth = rng.normal(size=n)
                score = truth + rng.normal(size=n)
                df = pd.DataFrame({"case": [f"{cohort[0]}{split[0]}{i:03d}" for i in range(n)], "cohort": cohort,
                                   "split": split, "fold": np.arange(n) % 3 if split == "train" else -1, "repeat": 0,
                                   "model": model})
                if outcome == "label":
                    df = df.assign(score=1 / (1 + np.exp(-score)), label=(truth > 0).astype(float), time=np.nan,
                                   event=np.nan)
                else:
                    df = df.assign(score=score, label=np.nan, time=rng.exponential(20 * np.exp(-truth)),
                                   event=(rng.random(n) < 0.7).astype(float))
                frames.append(df)
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def inputs(catalog):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from radlab.ui import PageInputs, Pseudonymiser

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(45, 5)), columns=[f"f{i}" for i in range(5)],
                     index=[f"c{i:02d}" for i in range(45)])
    batch = pd.Series(np.repeat(["A", "B", "C"], 15), index=X.index)
    X.loc[batch == "B", ["f0", "f1"]] += 2.0
    y = (X.f2 + rng.normal(size=45) > 0).astype(int)
    return PageInputs(catalog.path, pseudonymiser=Pseudonymiser("test-salt"), predictions=synthetic_predictions(),
                      harmonisation={"features": X, "batch": batch},
                      shap={"pipeline": make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y), "X": X},
                      saliency=saliency_inputs())


def open_offline(browser, path):
    """The file opened with every request but file: and data: aborted; returns (page, requests tried, errors)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    tried, errors = [], []

    def route(request_route):
        url = request_route.request.url
        if url.startswith(("file:", "data:")):
            request_route.continue_()
        else:
            tried.append(url)
            request_route.abort()
    context.route("**/*", route)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    page.wait_for_selector("canvas", timeout=60_000)
    page.wait_for_timeout(500)
    return page, tried, errors


@pytest.mark.parametrize("name", PAGES)
def test_exported_page_loads_nothing_from_the_network(name, inputs, browser, tmp_path):
    from radlab.ui._export import export_html, page_figures
    from radlab.ui._serve import TITLES

    figures = page_figures(name, inputs)
    path = export_html(figures, tmp_path / f"{name}.html", title=f"radlab · {TITLES[name]}")
    page, tried, errors = open_offline(browser, path)
    try:
        assert tried == []  # was: Panel's stylesheets from cdn.holoviz.org
        assert errors == []
        assert page.title() == f"radlab · {TITLES[name]}"
        plots = [k for k, v in figures.items() if not isinstance(v, pd.DataFrame | pd.Series)]
        assert plots and page.locator(".bk-Canvas, canvas").count() >= 1
        for heading in figures:  # every figure's heading is there (Playwright's text search enters shadow roots)
            assert page.get_by_role("heading", name=heading, exact=True).count() == 1
    finally:
        page.context.close()
