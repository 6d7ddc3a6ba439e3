"""Every curated notebook runs headless top to bottom on the tiny test cohort, within its time budget,
follows the notebook conventions (style.md section 5), and renders offline: its outputs load nothing from
another host and no TqdmWarning is printed (test_notebooks_lab.py checks a subset in a real browser)."""

from __future__ import annotations

import re

import nbformat
import pytest

from nbrun import budget, execute, external_resources, notebook_paths
from notebook_fixtures import notebook_env  # noqa: F401  (fixture)

NOTEBOOKS = notebook_paths()
IDS = [p.stem for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_committed_without_outputs_and_in_shape(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), f"{path.name} has outputs"
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# "), "H1 title first"
    if path.stem != "index":
        for heading in ("Overview", "Prerequisites", "Summary", "What's next"):
            assert re.search(rf"^##+ {re.escape(heading)}", markdown, re.M), f"{path.name}: no '{heading}'"
        imports = [c for c in code if re.search(r"^(import|from) \w", c.source, re.M)]
        assert len(imports) == 1, f"{path.name}: {len(imports)} cells import; style.md asks for one"
        assert imports[0].source.rstrip().endswith("radlab.notebook()"), f"{path.name}: no radlab.notebook()"
        setup = re.compile(r"\b(hv|holoviews|pn|panel)\.(extension|notebook_extension)\(")
        assert not any(setup.search(c.source) for c in code), f"{path.name}: radlab.notebook() loads the extensions"
    notebook_data = re.compile(r"(read_csv|open\(|\.nii|\.nrrd|/data/)")
    assert not any(notebook_data.search(c.source) for c in code), f"{path.name}: data only via the catalog"


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_runs(path, notebook_env):
    limit = budget(path)
    nb, seconds = execute(path, env=notebook_env, timeout=limit)
    assert seconds <= limit, f"{path.name} took {seconds:.0f} s; its budget is {limit:.0f} s"
    # errors a display hook printed instead of raising (e.g. a plot that failed to render)
    printed = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
               if "Traceback (most recent call last)" in str(o.get("text", o.get("data", "")))]
    assert not printed, f"{path.name}: a cell printed a traceback: {str(printed[0])[:500]}"
    stderr = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
                     if o.get("name") == "stderr")
    assert "TqdmWarning" not in stderr and "IProgress not found" not in stderr, stderr[:500]
    urls = external_resources(nb)
    assert not urls, f"{path.name}: its outputs load {len(urls)} resources from other hosts: {urls[:5]}"
