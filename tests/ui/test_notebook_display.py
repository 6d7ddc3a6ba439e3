"""What radlab shows in a notebook, without a browser: every dashboard page renders with its stylesheets inlined
after ``radlab.notebook()`` (nothing to fetch from cdn.holoviz.org), and ``radlab.view`` picks itkwidgets only
where it can work offline, saying which viewer it shows and why (test_notebooks_lab.py drives the real thing)."""

from __future__ import annotations

import importlib.metadata
import sys
import types

import numpy as np
import pytest

import radlab
from radlab.ui import PAGES, ImageViewer, build_page


@pytest.fixture
def in_notebook():
    """radlab.notebook() as a notebook's import cell calls it; Panel's settings and hooks restored after."""
    import panel as pn
    from panel.viewable import Viewable

    from radlab.ui._notebook import _inline_stylesheets

    with pn.config.set(inline=False):
        radlab.notebook()
        assert pn.config.inline
        yield
    Viewable._preprocessing_hooks.remove(_inline_stylesheets)


def stylesheet_urls(viewable) -> list[str]:
    import panel as pn
    from bokeh.models import ImportedStyleSheet

    root = pn.panel(viewable).get_root()
    return [s.url for s in root.select({"type": ImportedStyleSheet})]


@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_renders_offline_in_a_notebook(name, page_inputs, in_notebook):
    urls = stylesheet_urls(build_page(name, page_inputs))
    assert [u for u in urls if u.startswith(("http://", "https://"))] == []


def test_without_the_setup_pages_link_to_the_cdn(page_inputs):
    """The control: Panel's default links its component CSS to cdn.holoviz.org, which an offline browser
    cannot load; radlab.notebook() is what removes the links."""
    assert any(u.startswith("https://cdn.holoviz.org/") for u in stylesheet_urls(build_page("roc", page_inputs)))


def holoviews_output(obj) -> str:
    """What HoloViews' notebook display hook writes for ``obj`` (its MIME bundle, as text)."""
    import json

    from holoviews.ipython.display_hooks import render

    data, _ = render(obj)
    return json.dumps(data)


def test_holoviews_figures_render_offline_in_a_notebook(in_notebook):
    import holoviews as hv

    assert "cdn.holoviz.org" not in holoviews_output(hv.Curve([1, 2, 3]))


def test_holoviews_display_hook_links_to_the_cdn_even_inline():
    """The control: with everything inlined but without radlab.notebook()'s hook, HoloViews' display hook still
    links Panel's CSS to cdn.holoviz.org (when Panel stops doing so, the hook can go)."""
    import holoviews as hv
    import panel as pn

    with pn.config.set(inline=True):
        assert "cdn.holoviz.org" in holoviews_output(hv.Curve([1, 2, 3]))


@pytest.fixture
def fake_itkwidgets(monkeypatch):
    """Install a stand-in itkwidgets of a given version and viewer address; returns the calls to its view()."""
    import ipywidgets

    calls = []
    real_version = importlib.metadata.version

    def install(version: str, viewer_src: str | None = None):
        package = types.ModuleType("itkwidgets")
        package.view = lambda **kw: calls.append(kw) or ipywidgets.Label("itk viewer")
        monkeypatch.setitem(sys.modules, "itkwidgets", package)
        if viewer_src is not None:
            config = types.ModuleType("itkwidgets.viewer_config")
            config.ITK_VIEWER_SRC = viewer_src
            monkeypatch.setitem(sys.modules, "itkwidgets.viewer_config", config)
        monkeypatch.setattr(importlib.metadata, "version",
                            lambda name: version if name == "itkwidgets" else real_version(name))
        return calls
    return install


@pytest.mark.parametrize("version, src, reason", [
    (None, None, "itkwidgets is not installed"),
    ("0.32.6", None, "itkwidgets 0.32.6 is an ipywidgets-7 widget for the classic Notebook, not JupyterLab 4"),
    ("1.0a55", "https://bafy.on.fleek.co/", "itkwidgets 1.0a55 loads its viewer from bafy.on.fleek.co, which needs "
                                           "internet access"),
], ids=["not-installed", "ipywidgets-7-version", "viewer-on-the-web"])
def test_view_falls_back_to_the_builtin_viewer_and_says_why(catalog, fake_itkwidgets, version, src, reason):
    from radlab.ui.viewer import itkwidgets_problem

    calls = fake_itkwidgets(version, src) if version else []
    cohort = catalog["demo"]
    shown = radlab.view(cohort.case(cohort.ids[0]))
    assert itkwidgets_problem() == reason
    assert isinstance(shown, ImageViewer) and shown.caption == f"radlab built-in viewer (itkwidgets not used: {reason})"
    assert calls == []
    with pytest.raises(ImportError, match=reason):
        radlab.view(cohort.case(cohort.ids[0]), backend="itkwidgets")
    assert radlab.view(cohort.case(cohort.ids[0]), backend="builtin").caption == "radlab built-in viewer"


def test_view_uses_itkwidgets_when_its_viewer_is_served_locally(catalog, fake_itkwidgets):
    calls = fake_itkwidgets("1.0a55", "http://127.0.0.1:8000/itk-viewer/")
    case = catalog["demo"].case(catalog["demo"].ids[0])
    shown = radlab.view(case)
    assert shown.children[0].value == "<b>itkwidgets viewer · T2w_pre</b>" and shown.children[1].value == "itk viewer"
    np.testing.assert_array_equal(calls[0]["image"], case["T2w_pre"].values)
    np.testing.assert_array_equal(calls[0]["label_image"], case["tumour_pre"].values)


def test_builtin_viewer_shows_its_caption_above_the_image(catalog):
    import panel as pn

    viewer = radlab.view(catalog["demo"].case(catalog["demo"].ids[0]))
    layout = viewer.__panel__()
    assert isinstance(layout, pn.Column) and layout[0].object == f"**{viewer.caption}**"
    assert isinstance(ImageViewer(catalog["demo"]).__panel__(), pn.Row)  # the cohort page's viewer: no caption
