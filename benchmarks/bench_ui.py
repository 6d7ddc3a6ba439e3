"""Dashboard speed (not a test): widget refresh server side, page load in Chromium, 20 concurrent sessions.

    .venv/bin/python benchmarks/bench_ui.py

Synthetic 10,000-case predictions table (2 models, train out-of-fold x 2 repeats + test). Loopback only,
bounded loops. Server-side refresh = the time from setting a store parameter to the Bokeh models being
updated (Panel's watchers run synchronously), measured on a page rendered into a Bokeh Document.
Concurrency: `radlab serve --predictions ... --num-procs 1|2` in its own process; 20 sessions over the
websocket protocol (bokeh.client, no rendering: a clinician's browser renders on their own machine) used
like people use a page (a change every ~5 s each), then all at once; one Chromium page load meanwhile.
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
    rows.append(("ROC: pick a second model, cold server (1000-resample bootstrap + DeLong)", time.perf_counter() - t))
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


def first_visits(table) -> list[tuple[str, float]]:
    """A selection no session has seen yet, on a server that has computed nothing (its bootstraps run before the
    figure refreshes), and after the serve-time warm-up (``radlab.ui._pages.warm``) has run."""
    import panel as pn
    from bokeh.document import Document

    from radlab.ui import PageInputs, _store
    from radlab.ui._calibration_page import CalibrationPage, CalibrationStore
    from radlab.ui._pages import warm
    from radlab.ui._roc_page import RocPage, RocStore
    from radlab.ui._survival_page import SurvivalPage, SurvivalStore

    inputs = PageInputs(predictions=table)
    cases = (("ROC: first visit of a model", RocStore, RocPage, "model", "clinical"),
             ("ROC: first visit of a split", RocStore, RocPage, "split", "train"),
             ("Survival: first visit of a split", SurvivalStore, SurvivalPage, "split", "train"),
             ("Calibration: first visit of a split", CalibrationStore, CalibrationPage, "split", "train"))
    rows = []
    for warmed in (False, True):
        _store._SHARED.clear()  # a server that has computed nothing yet
        if warmed:
            t = time.perf_counter()
            n = warm(inputs, ["roc", "survival", "calibration"])
            rows.append((f"warm-up at server start: {n} selections of 3 pages", time.perf_counter() - t))
        for name, store, page, param_name, value in cases:
            st = store(inputs.probabilities if store is CalibrationStore else table)
            pn.panel(page(st)).get_root(Document())
            t = time.perf_counter()
            setattr(st, param_name, value)
            rows.append((f"{name}, {'after the warm-up' if warmed else 'cold server'}", time.perf_counter() - t))
    return rows


class Server:
    """``radlab serve --predictions FILE --pages roc`` in its own process group (as a user starts it)."""

    def __init__(self, table_path, num_procs: int = 1):
        import os
        import subprocess
        import sys
        from pathlib import Path

        from tests.ui.ui_helpers import free_port, wait_for_port

        self.port = free_port()
        exe = str(Path(sys.executable).with_name("radlab"))
        self.proc = subprocess.Popen([exe, "serve", "--predictions", str(table_path), "--pages", "roc", "--port",
                                      str(self.port), "--num-procs", str(num_procs)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True, env=os.environ.copy())
        wait_for_port(self.port, timeout=120)
        self.url = f"http://127.0.0.1:{self.port}/roc"

    def stop(self):
        import os
        import signal

        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=30)


def page_loads(url, n: int = 4) -> list[float]:
    """Seconds to load the page in Chromium until its plot is drawn (the first load builds the server's inputs)."""
    from playwright.sync_api import sync_playwright

    from tests.ui.ui_helpers import CHROMIUM, CHROMIUM_ARGS

    out = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for _ in range(n):
            page = browser.new_page()
            t = time.perf_counter()
            page.goto(url)
            page.wait_for_selector("canvas", timeout=60_000)
            out.append(time.perf_counter() - t)
            page.close()
        browser.close()
    return out


def sessions(url, n_sessions: int = 20, seconds: float = 30.0, think: float = 5.0, seed: int = 0) -> dict:
    """``n_sessions`` websocket sessions (bokeh.client: the protocol the browser speaks, without rendering).

    Each opens the ROC page; then every session, like a user, waits a random think time (exponential, mean
    ``think`` s), switches its split picker and waits for its AUC text to change, for ``seconds``; finally all
    switch at the same instant (a burst). Returns open times and latencies (s).
    """
    import random

    from bokeh.client import pull_session
    from bokeh.models import Select
    from tornado.ioloop import IOLoop

    rng = random.Random(seed)
    loop = IOLoop()
    opens, opened = [], []
    for _ in range(n_sessions):
        t = time.perf_counter()
        opened.append(pull_session(url=url, io_loop=loop))
        opens.append(time.perf_counter() - t)
    state = []
    for s in opened:
        doc = s.document
        select = next(m for m in doc.models if isinstance(m, Select) and m.title == "Split")
        text = next(m for m in doc.models if "positive" in str(getattr(m, "text", "")))
        state.append({"select": select, "text": text, "sent": None, "latencies": []})

    def change(k):
        st = state[k]
        st["sent"] = time.perf_counter()
        st["select"].value = "train" if st["select"].value != "train" else "test"

    def arrived(k, phase):
        def cb(attr, old, new):
            st = state[k]
            if st["sent"] is not None:
                st["latencies"].append((phase[0], time.perf_counter() - st["sent"]))
                st["sent"] = None
                if phase[0] == "steady" and time.perf_counter() < end[0]:
                    loop.call_later(rng.expovariate(1 / think), change, k)
        return cb

    phase, end = ["steady"], [time.perf_counter() + seconds]
    for k, st in enumerate(state):
        st["text"].on_change("text", arrived(k, phase))
        loop.call_later(rng.expovariate(1 / think), change, k)

    def idle():
        return all(st["sent"] is None for st in state)

    def start_burst():  # once steady use is over and answered, every session changes at the same instant
        if phase[0] == "steady" and time.perf_counter() > end[0] and idle():
            phase[0] = "burst"
            for k in range(n_sessions):
                change(k)
        elif phase[0] == "steady":
            loop.call_later(0.05, start_burst)

    loop.call_later(seconds, start_burst)
    for s in opened:  # one reader per connection for the whole run, until the burst is answered
        s._connection._until_predicate = lambda: phase[0] == "burst" and idle()
        loop.add_callback(s._connection._next)
    loop.call_later(seconds + 120, loop.stop)
    loop.start()
    for s in opened:
        s.close()
    lat = {p: sorted(x for st in state for ph, x in st["latencies"] if ph == p) for p in ("steady", "burst")}
    return {"opens": opens, **lat}


def concurrency(table, n_sessions: int = 20, procs=(1, 2)) -> list[tuple[str, float]]:
    """Page load alone; then, for each server process count, 20 sessions in steady use and in a burst, with a
    Chromium page load in the middle of the steady use."""
    import tempfile
    import threading
    from pathlib import Path

    path = Path(tempfile.mkdtemp()) / "predictions.parquet"
    table.to_parquet(path)
    rows = []
    for num_procs in procs:
        server = Server(path, num_procs)
        try:
            loads = page_loads(server.url)
            if num_procs == 1:
                rows.append(("ROC page load in Chromium, no other session (median of 3 after the first)",
                             statistics.median(loads[1:])))
            result = {}
            worker = threading.Thread(target=lambda: result.update(sessions(server.url, n_sessions)))
            worker.start()
            time.sleep(15)  # the sessions are open and in use
            probe = page_loads(server.url, n=1)[0]
            worker.join()
        finally:
            server.stop()
        steady, burst = result["steady"], result["burst"]
        tag = f"{num_procs} server process{'es' if num_procs > 1 else ''}"
        rows += [(f"{tag}: {n_sessions} sessions open, median open time", statistics.median(result["opens"])),
                 (f"{tag}: steady use, widget change -> figure updated, median ({len(steady)} changes)",
                  statistics.median(steady)),
                 (f"{tag}: steady use, 95th percentile", steady[int(0.95 * (len(steady) - 1))]),
                 (f"{tag}: Chromium page load during steady use", probe),
                 (f"{tag}: burst (all {n_sessions} change at once), median", statistics.median(burst)),
                 (f"{tag}: burst, slowest session", burst[-1])]
    return rows


if __name__ == "__main__":
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "ui"))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    table = predictions()
    print(f"predictions: {len(table)} rows, {table.case.nunique()} cases, 2 models")
    for name, seconds in server_side(table) + first_visits(table) + concurrency(table):
        print(f"{name:<75} {1000 * seconds:9.1f} ms")
