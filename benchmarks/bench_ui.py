"""Dashboard speed (not a test): widget refresh server side, page load in Chromium, 20 concurrent sessions.

    .venv/bin/python benchmarks/bench_ui.py

Synthetic 10,000-case predictions table (2 models, train out-of-fold x 2 repeats + test). Loopback only,
bounded loops. Server-side refresh = the time from setting a store parameter to the Bokeh models being
updated (Panel's watchers run synchronously), measured on a page rendered into a Bokeh Document.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import pandas as pd


def predictions(n: int = 10_000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    case = np.array([f"c{i:05d}" for i in range(n)])
    label = rng.random(n) < 0.3
    time_ = rng.exponential(5, n)
    event = rng.random(n) < 0.7
    split = np.where(rng.random(n) < 0.7, "train", "test")
    frames = []
    for model, signal in (("radiomics", 1.5), ("clinical", 0.8)):
        latent = signal * label + rng.normal(size=n)
        for repeat in (0, 1) :
            keep = (split == "train") | (repeat == 0)
            score = 1 / (1 + np.exp(-(latent + rng.normal(0, 0.2, n))))
            frames.append(pd.DataFrame({"case": case[keep], "cohort": "synthetic", "split": split[keep],
                                        "fold": np.where(split[keep] == "train", repeat, -1),
                                        "repeat": np.where(split[keep] == "train", repeat, -1), "model": model,
                                        "score": score[keep], "label": label[keep].astype(float),
                                        "time": time_[keep], "event": event[keep].astype(float)}))
    return pd.concat(frames, ignore_index=True)


def timed(fn, repeats=7):
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def server_side(table):
    import panel as pn
    from bokeh.document import Document

    from radlab.ui._calibration_page import CalibrationPage, CalibrationStore
    from radlab.ui._roc_page import RocPage, RocStore
    from radlab.ui._survival_page import SurvivalPage, SurvivalStore

    rows = []
    roc = RocStore(table)
    pn.panel(RocPage(roc)).get_root(Document())
    values = iter(np.linspace(0.2, 0.8, 100))
    rows.append(("ROC: threshold slider (metrics + confusion matrix + marker)", timed(lambda: setattr(roc, "threshold", next(values)))))
    t = time.perf_counter()
    roc.compare = "clinical"
    rows.append(("ROC: pick a second model (first time: 1000-resample bootstrap + DeLong)", time.perf_counter() - t))
    splits = iter(["train", "test"] * 10)
    rows.append(("ROC: switch split (cached after first visit)", timed(lambda: setattr(roc, "split", next(splits)), 6)))
    surv = SurvivalStore(table, n_bootstraps=200)
    pn.panel(SurvivalPage(surv)).get_root(Document())
    pct = iter(range(40, 90, 2))
    surv.cutoff_method = "percentile"
    rows.append(("Survival: move the percentile cut-off (KM, log-rank, HR)", timed(lambda: setattr(surv, "percentile", float(next(pct))))))
    cal = CalibrationStore(table)
    pn.panel(CalibrationPage(cal)).get_root(Document())
    kinds = iter(["standardized_net_benefit", "net_benefit"] * 10)
    rows.append(("Calibration: decision-curve kind (cached curves)", timed(lambda: setattr(cal, "curve", next(kinds)))))
    return rows


def browser_side(table, n_sessions: int = 20):
    from playwright.sync_api import sync_playwright

    from radlab.ui import PageInputs, serve
    from tests.ui.ui_helpers import CHROMIUM, CHROMIUM_ARGS, free_port, wait_for_port

    port = free_port()
    srv = serve(address="127.0.0.1", port=port, threaded=True, pages=["roc"],
                inputs=PageInputs(predictions=table))
    wait_for_port(port)
    url = f"http://127.0.0.1:{port}/roc"
    out = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        loads = []
        for _ in range(4):  # first load builds the server-wide inputs; report the median of the rest
            page = browser.new_page()
            t = time.perf_counter()
            page.goto(url)
            page.wait_for_selector("canvas", timeout=60_000)
            loads.append(time.perf_counter() - t)
            page.close()
        out.append(("ROC page load in Chromium (median of 3 after the first)", statistics.median(loads[1:])))
        pages = [browser.new_page() for _ in range(n_sessions)]
        t = time.perf_counter()
        for page in pages:
            page.goto(url, wait_until="commit")
        for page in pages:
            page.wait_for_selector("canvas", timeout=120_000)
        out.append((f"{n_sessions} concurrent sessions: all pages rendered", time.perf_counter() - t))
        t = time.perf_counter()
        for page in pages:  # every session moves its split picker; all must update
            page.locator("select").nth(2).select_option("train")
        for page in pages:
            page.wait_for_function("() => true")
        probe = browser.new_page()
        t2 = time.perf_counter()
        probe.goto(url)
        probe.wait_for_selector("canvas", timeout=60_000)
        out.append((f"page load while {n_sessions} sessions are open", time.perf_counter() - t2))
        out.append((f"{n_sessions} sessions: widget change sent to all", t2 - t))
        browser.close()
    srv.stop()
    return out


if __name__ == "__main__":
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "ui"))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    table = predictions()
    print(f"predictions: {len(table)} rows, {table.case.nunique()} cases, 2 models")
    for name, seconds in server_side(table) + browser_side(table):
        print(f"{name:<75} {1000 * seconds:9.1f} ms")
