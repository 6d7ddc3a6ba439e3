# The README's commands. Everything installs into .venv from PyPI (and Debian's chromium for UI tests).
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
STAMP := $(VENV)/.installed
export RADLAB_DATA ?= $(CURDIR)/data
export RADLAB_CACHE ?= $(CURDIR)/.cache/radlab
export RADLAB_CATALOG ?= $(CURDIR)/data_catalog.yaml

.PHONY: demo test setup data serve bench notebooks lab clean browser

demo: setup data  ## set up, build the demo data, serve the dashboards on it
	$(VENV)/bin/radlab demo --data $(RADLAB_DATA)

test: setup data browser  ## set up and run the whole test suite
	$(VENV)/bin/pytest -p no:cacheprovider

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -U pip 2>&1 | { grep -v "^WARNING: Location" || true; }
	$(PIP) install numpy setuptools wheel versioneer 2>&1 | { grep -v "^WARNING: Location" || true; }
	$(PIP) install --no-build-isolation pyradiomics==3.0.1 2>&1 | { grep -v "^WARNING: Location" || true; }
	$(PIP) install -e ".[dev,dl,mirp]" 2>&1 | { grep -v "^WARNING: Location" || true; }
	$(PY) -c "import radiomics, torch, radlab"
	touch $(STAMP)

data: setup  ## demo cohort, pyradiomics samples, reference tables (only what is missing)
	$(VENV)/bin/radlab data --data $(RADLAB_DATA)

browser:  ## Debian's chromium for the Playwright UI tests
	@test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

serve: setup data
	$(VENV)/bin/radlab serve

bench: setup data
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

notebooks: setup data  ## run every notebook on the full demo cohort and render HTML into build/notebooks/
	$(PY) tests/notebooks/nbrun.py --full --html build/notebooks

lab: setup data  ## JupyterLab on notebooks/index.ipynb over the demo data (figures render offline, docs/notebooks.md)
	$(VENV)/bin/jupyter lab notebooks/index.ipynb

clean:
	rm -rf $(VENV) .cache
