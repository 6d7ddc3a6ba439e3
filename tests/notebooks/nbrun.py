"""Execute the curated notebooks headless (used by the notebook tests and by ``make notebooks``).

A notebook's cell tagged ``parameters`` holds the sizes used on the tiny test cohort; the notebook's
metadata ``radlab.full`` holds the values for the full demo cohort, injected after that cell (as papermill
does) with ``--full``. ``radlab.budget_s`` is the time budget on the tiny test cohort.

    python tests/notebooks/nbrun.py [--full] [--html DIR] notebooks/*.ipynb
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
DEFAULT_BUDGET_S = 60


def notebook_paths() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def budget(path: Path) -> float:
    return float(nbformat.read(path, as_version=4).metadata.get("radlab", {}).get("budget_s", DEFAULT_BUDGET_S))


def inject_parameters(nb, parameters: dict) -> None:
    """Insert a cell assigning ``parameters`` right after the cell tagged ``parameters``."""
    if not parameters:
        return
    index = next((i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])), None)
    if index is None:
        raise ValueError("notebook has parameters to inject but no cell tagged 'parameters'")
    source = "\n".join(f"{k} = {v!r}" for k, v in parameters.items())
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    nb.cells.insert(index + 1, cell)


def execute(path: Path, *, full: bool = False, env: dict | None = None, timeout: float = 600):
    """Run ``path`` top to bottom in a fresh kernel (cwd: the notebook's folder); return (notebook, seconds).

    Raises ``nbclient.exceptions.CellExecutionError`` naming the cell on the first error.
    """
    nb = nbformat.read(path, as_version=4)
    if full:
        inject_parameters(nb, nb.metadata.get("radlab", {}).get("full", {}))
    env = dict(os.environ if env is None else env)
    env.setdefault("RADLAB_CATALOG", str(REPO / "data_catalog.yaml"))
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    client = NotebookClient(nb, timeout=int(timeout), kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute(env=env)
    return nb, time.perf_counter() - start


# what an output would fetch from another host: the BokehJS/Panel loader's URL lists, Bokeh stylesheet links
# (Panel's component CSS), and script/link/img tags in HTML
_LOADER = re.compile(r"const (?:js_urls|css_urls|js_modules) = \[([^\]]*)\]")
_STYLESHEET = re.compile(r'ImportedStyleSheet"[^}]*?"url":"(https?://[^"]+)"')
_TAG = re.compile(r'<(?:script|link|img)\b[^>]*\b(?:src|href)="(https?://[^"]+)"')


def external_resources(nb) -> list[str]:
    """The URLs on other hosts that the executed notebook's outputs would load (none when rendered offline)."""
    found = set()
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            for value in output.get("data", {}).values():
                if isinstance(value, str):
                    for loader in _LOADER.finditer(value):
                        found.update(re.findall(r'"(https?://[^"]+)"', loader.group(1)))
                    found.update(_STYLESHEET.findall(value), _TAG.findall(value))
    return sorted(found)


def to_html(nb, out: Path) -> None:
    """Render an executed notebook as one self-contained HTML file: nothing in it loads from another host.

    The template (``offline.html.j2``) leaves out nbconvert's CDN scripts; the figures' JavaScript is in the
    outputs (``radlab.notebook()`` inlines it). Widget state is dropped, so progress bars show as their text.
    """
    from nbconvert import HTMLExporter

    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:  # Panel's empty display handles have nothing to render
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if o.get("data", True)]
    exporter = HTMLExporter(template_file=str(Path(__file__).with_name("offline.html.j2")))
    body, _ = exporter.from_notebook_node(nb)
    out.write_text(body, encoding="utf-8")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebooks", nargs="*", type=Path)
    ap.add_argument("--full", action="store_true", help="inject the full-demo parameters")
    ap.add_argument("--html", type=Path, help="render executed notebooks as HTML into this folder")
    args = ap.parse_args(argv)
    if args.html:
        args.html.mkdir(parents=True, exist_ok=True)
    failed = []
    for path in args.notebooks or notebook_paths():
        try:
            nb, seconds = execute(path, full=args.full, timeout=3600)  # full-size CNN cells take minutes
        except Exception as exc:  # report every notebook, fail at the end
            lines = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).splitlines()
            print(f"FAILED {path.name}:", *lines[:25], "...", *lines[-3:], sep="\n", flush=True)
            failed.append(path.name)
            continue
        print(f"{path.name}: {seconds:.1f} s", flush=True)
        if args.html:
            to_html(nb, args.html / f"{path.stem}.html")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
