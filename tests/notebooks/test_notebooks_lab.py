"""The notebooks as a person sees them: a real JupyterLab on a loopback port, Debian's Chromium (Playwright)
with every request to another host aborted, Run All on the tiny test data. Per notebook: every cell with a
figure shows a rendered Bokeh canvas, progress bars are ipywidgets, nothing was requested from another host,
no console errors; then the executed notebook (JupyterLab's model of it) rendered by ``nbrun.to_html`` (what
``make notebooks`` writes) shows its figures from a file:// page, again offline. A screenshot and the HTML of
each notebook are kept under build/test-artifacts/notebooks/.

A representative subset runs here (the tour: viewer, Kaplan-Meier, a progress bar; survival: its figures and a
dashboard page in a cell); ``make notebooks`` runs all of them, and test_notebooks.py checks every notebook's
outputs for links to other hosts.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from nbrun import NOTEBOOKS, to_html
from notebook_fixtures import artifacts, notebook_env  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.notebook, pytest.mark.ui, pytest.mark.slow]

IN_BROWSER = ["01_tour", "05_survival"]
HOLOVIEWS_LOAD, HOLOVIEWS_EXEC = "application/vnd.holoviews_load.v0+json", "application/vnd.holoviews_exec.v0+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
RUN_ALL_TIMEOUT_S = 900
# JupyterLab user settings: render every cell (no windowing, so off-screen figures exist), no news/update checks
SETTINGS = {"notebook-extension/tracker": {"windowingMode": "none"},
            "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False}}

# per code cell: its outputs' MIME types (from the notebook model) and what the page shows (through shadow roots)
CELLS_JS = """() => {
  const count = (root, selector) => { let n = root.querySelectorAll(selector).length;
    for (const el of root.querySelectorAll('*')) if (el.shadowRoot) n += count(el.shadowRoot, selector);
    return n; };
  return window.jupyterapp.shell.currentWidget.content.widgets.filter(c => c.model.type === 'code').map(c => ({
    source: c.model.sharedModel.getSource(),
    executed: c.model.executionCount !== null,
    outputs: c.model.outputs.toJSON().map(o => ({type: o.output_type, mimes: Object.keys(o.data || {}),
                                                 name: o.name || '',
                                                 text: [].concat(o.text || o.ename || '').join('')})),
    canvases: count(c.node, 'canvas'),
    progress_bars: count(c.node, '.widget-hprogress'),
  }));
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A JupyterLab server on 127.0.0.1 over a copy of some notebooks, with its own config/runtime/settings."""

    def __init__(self, folder: Path, env: dict, names: list[str]):
        self.root, home = folder / "notebooks", folder / "jupyter"
        self.root.mkdir()
        for name in names:
            shutil.copy(NOTEBOOKS / f"{name}.ipynb", self.root)  # JupyterLab autosaves here, not into notebooks/
        for path, values in SETTINGS.items():
            file = home / "settings" / "@jupyterlab" / f"{path}.jupyterlab-settings"
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text(json.dumps(values))
        self.port, self.token = _free_port(), secrets.token_hex(16)
        env = dict(env, JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
                   JUPYTER_DATA_DIR=str(home / "data"), JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
                   JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"), IPYTHONDIR=str(home / "ipython"),
                   PYDEVD_DISABLE_FILE_VALIDATION="1")
        self.log = folder / "jupyterlab.log"
        command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
                   f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0", f"--ServerApp.root_dir={self.root}",
                   f"--IdentityProvider.token={self.token}", "--LabApp.expose_app_in_browser=True",
                   "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                   "--LabApp.extension_manager=readonly"]
        with self.log.open("w") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        self._wait()

    def _wait(self, timeout: float = 180) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited: {self.log.read_text()[-2000:]}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.5)
        raise TimeoutError(f"no JupyterLab on port {self.port}: {self.log.read_text()[-2000:]}")

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, name: str) -> str:
        """The notebook alone in a fresh workspace (``reset``: no tabs restored from the previous page)."""
        return f"{self.origin}/lab/workspaces/{name}/tree/{name}.ipynb?reset&token={self.token}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture(scope="module")
def lab(tmp_path_factory, notebook_env):
    """The kernels get an empty feature cache of their own: the survival notebook's extraction runs (and shows its
    progress bar) whatever the other notebook tests cached before."""
    folder = tmp_path_factory.mktemp("lab")
    server = Lab(folder, dict(notebook_env, RADLAB_CACHE=str(folder / "cache")), IN_BROWSER)
    yield server
    server.stop()


def offline_page(browser, allowed: tuple[str, ...], *, height: int = 1000):
    """A page whose requests outside ``allowed`` (URL prefixes) are aborted and recorded in ``page.blocked``;
    console errors, page errors and failed or refused (HTTP >= 400) requests go to ``page.problems``."""
    context = browser.new_context(viewport={"width": 1400, "height": height})
    page = context.new_page()
    page.blocked, page.problems = [], []

    def route(route):
        if route.request.url.startswith(allowed):
            route.continue_()
        else:
            page.blocked.append(route.request.url)
            route.abort()

    context.route("**/*", route)
    page.on("console", lambda m: page.problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: page.problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: page.problems.append(f"request failed: {r.url}"))
    page.on("response", lambda r: page.problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    return page


def saved_form(model: dict):
    """JupyterLab's notebook model as the file it would save (the model has null where the file has no key)."""
    model["cells"] = [{k: v for k, v in cell.items() if v is not None} for cell in model["cells"]]
    return nbformat.from_dict(model)


def screenshot(page, path: Path) -> None:
    """The whole notebook from its first cell: side bar collapsed, the viewport grown to the cells' height
    (JupyterLab scrolls the notebook inside its own panel, so a full-page screenshot would show one screen)."""
    height = page.evaluate("""() => { window.jupyterapp.shell.collapseLeft();
        return window.jupyterapp.shell.currentWidget.content.node
          .querySelector('.jp-WindowedPanel-viewport').scrollHeight; }""")
    page.set_viewport_size({"width": 1400, "height": min(int(height) + 250, 20000)})
    page.evaluate("""() => { const notebook = window.jupyterapp.shell.currentWidget.content;
        notebook.activeCellIndex = 0;
        notebook.node.querySelectorAll('.jp-WindowedPanel-outer').forEach(el => { el.scrollTop = 0; }); }""")
    page.wait_for_timeout(1500)
    page.screenshot(path=str(path))


@pytest.mark.parametrize("name", IN_BROWSER)
def test_notebook_in_jupyterlab_offline(lab, browser, artifacts, name):
    page = offline_page(browser, (f"{lab.origin}/", "data:", "blob:"))
    try:
        start = time.perf_counter()
        page.goto(lab.url(name))
        page.wait_for_function(f"""() => {{ const widget = window.jupyterapp?.shell.currentWidget;
            return widget?.context?.path === '{name}.ipynb'
              && widget.sessionContext?.session?.kernel?.status === 'idle'; }}""", timeout=180_000, polling=500)
        ran = page.evaluate(f"""() => Promise.race([window.jupyterapp.commands.execute('notebook:run-all-cells'),
            new Promise(done => setTimeout(() => done('still running after {RUN_ALL_TIMEOUT_S} s'),
                                           {RUN_ALL_TIMEOUT_S * 1000}))])""")
        page.wait_for_timeout(2000)  # the last outputs render, widgets draw
        cells = page.evaluate(CELLS_JS)
        seconds = time.perf_counter() - start
        executed = saved_form(page.evaluate("() => window.jupyterapp.shell.currentWidget.content.model.toJSON()"))
        screenshot(page, artifacts / f"{name}.png")
    finally:
        page.context.close()

    assert ran is True, f"Run All: {ran}"
    assert all(c["executed"] for c in cells), [c["source"][:60] for c in cells if not c["executed"]]
    errors = [o["text"] for c in cells for o in c["outputs"] if o["type"] == "error"]
    assert not errors, errors[:1]
    figures = [c for c in cells if any(HOLOVIEWS_EXEC in o["mimes"] for o in c["outputs"])
               and not any(HOLOVIEWS_LOAD in o["mimes"] for o in c["outputs"])]  # the setup cell loads, not draws
    assert figures and all(c["canvases"] > 0 for c in figures), [c["source"][:60] for c in figures if not c["canvases"]]
    bars = [c for c in cells if any(WIDGET_VIEW in o["mimes"] for o in c["outputs"])]
    assert bars and all(c["progress_bars"] > 0 for c in bars), "tqdm progress bars are not ipywidgets"
    stderr = "".join(o["text"] for c in cells for o in c["outputs"] if o["name"] == "stderr")
    assert "TqdmWarning" not in stderr and "IProgress" not in stderr, stderr[:500]
    assert page.blocked == [], f"requests to other hosts: {page.blocked[:5]}"
    assert page.problems == []
    print(f"{name}: {len(figures)} figures, {len(bars)} progress bars, opened and run in {seconds:.0f} s")

    # the executed notebook as `make notebooks` renders it: one HTML file that needs nobody else either
    html = artifacts / f"{name}.html"
    to_html(executed, html)
    static = offline_page(browser, ("file://", "data:", "blob:"))
    try:
        static.goto(html.as_uri())
        static.wait_for_selector("canvas", timeout=60_000)
        static.wait_for_timeout(2000)
        drawn = static.evaluate("""() => Array.from(document.querySelectorAll('.jp-CodeCell')).filter(cell => {
            const has = (root) => root.querySelector('canvas') !== null
              || Array.from(root.querySelectorAll('*')).some(el => el.shadowRoot && has(el.shadowRoot));
            return has(cell); }).length""")
    finally:
        static.context.close()
    assert drawn == len(figures), f"the HTML draws {drawn} of {len(figures)} figures"
    assert static.blocked == [] and static.problems == [], (static.blocked[:5], static.problems[:5])
    assert not re.search(r'<(script|link)[^>]*(src|href)="https?://', html.read_text(encoding="utf-8"))
