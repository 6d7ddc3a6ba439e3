"""`radlab serve` as a user starts it: a predictions file of their own, a subset of pages, several server
processes. Sessions are opened over the websocket protocol the browser speaks (bokeh.client)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ui_helpers import free_port, wait_for_port

RADLAB = str(Path(sys.executable).with_name("radlab"))


@pytest.fixture
def start_server(tmp_path):
    procs = []

    def start(*args):
        port = free_port()
        log = open(tmp_path / f"serve-{port}.log", "w")
        proc = subprocess.Popen([RADLAB, "serve", "--port", str(port), *args], stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        procs.append((proc, log))
        wait_for_port(port, timeout=90)
        return proc, port
    yield start
    for proc, log in procs:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()


def _text(doc) -> str:
    return " ".join(str(getattr(m, "text", "")) for m in doc.models)


@pytest.mark.slow
def test_serve_a_predictions_file_on_chosen_pages_with_two_processes(predictions, tmp_path, start_server):
    import urllib.error
    import urllib.request

    import psutil
    from bokeh.client import pull_session

    from radlab.evaluation import RocCurve
    from radlab.ui import average_predictions

    mine = predictions[predictions.cohort == "breast-cancer-wisconsin"].assign(cohort="my study")
    mine.to_csv(tmp_path / "mine.csv", index=False)
    proc, port = start_server("--predictions", str(tmp_path / "mine.csv"), "--pages", "roc", "--num-procs", "2")
    deadline = time.monotonic() + 30
    while len(psutil.Process(proc.pid).children()) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(psutil.Process(proc.pid).children()) == 2  # two forked server processes share the port
    with pytest.raises(urllib.error.HTTPError, match="404"):  # a page not chosen is not served
        urllib.request.urlopen(f"http://127.0.0.1:{port}/survival", timeout=30)
    def read_page():  # in a thread of its own: Playwright's sync API may hold this thread's event loop
        session = pull_session(url=f"http://127.0.0.1:{port}/roc")
        try:
            models = session.document.models
            return _text(session.document), " ".join(str(getattr(m, "options", "")) for m in models)
        finally:
            session.close()
    with ThreadPoolExecutor(1) as pool:
        text, options = pool.submit(read_page).result(timeout=120)
    avg = average_predictions(mine)
    rows = avg[(avg.model == "all features") & (avg.split == "external")]
    auc = RocCurve.from_predictions(rows.label, rows.score, n_bootstraps=0).auc
    assert "my study" in options
    assert f"AUC {auc:.3f}" in text


def test_serve_refuses_a_predictions_file_without_the_columns(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("case,score\na,0.3\n")
    out = subprocess.run([RADLAB, "serve", "--predictions", str(bad), "--port", str(free_port())],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert str(bad) in out.stderr and "lacks the columns" in out.stderr and "'label'" in out.stderr


def test_serve_warms_the_prediction_pages_in_the_background(predictions):
    import threading

    from radlab.ui import PageInputs, _store, serve

    table = predictions[predictions.cohort == "breast-cancer-wisconsin"].copy()
    port = free_port()
    server = serve(address="127.0.0.1", port=port, threaded=True, pages=["roc"], inputs=PageInputs(predictions=table))
    try:
        warm = next(t for t in threading.enumerate() if t.name == "radlab-warm-up")
        warm.join(timeout=120)
        cache = _store._SHARED[(id(table), "label")][-1]  # (predictions, rows, averaged, problems, results)
        computed = {(k[3], k[4]) for k in cache if k[:2] == ("RocStore", "roc")}  # (split, model)
        expected = {(s, m) for s in table.split.unique() for m in table.model.unique()}
        assert computed == expected  # every split x model of the served page, before any session asked
    finally:
        server.stop()
