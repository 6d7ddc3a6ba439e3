"""Exports without a server: a page's figures as one standalone HTML file; a figure as PNG or SVG."""

from __future__ import annotations

import base64
import mimetypes
import os
import re
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the bokeh backend)
import pandas as pd
import panel as pn

if TYPE_CHECKING:
    from bokeh.model import Model

__all__ = ["export_figure", "export_html", "inline_stylesheets", "page_figures"]

CHROMIUM = os.environ.get("RADLAB_CHROMIUM", "/usr/bin/chromium")


def page_figures(name: str, inputs) -> dict:
    """The current figures and tables of page ``name`` (its store's ``figures()``) over ``inputs``."""
    from radlab.ui._serve import build_page

    page = build_page(name, inputs)
    if name == "cohort":
        from radlab.ui._cohort_page import acquisition_by_batch

        return {"Acquisition by centre": acquisition_by_batch(page.catalog[page.cohort]),
                "Image": page.viewer.plot()}
    return page.store.figures()


def export_html(figures: dict, path: str | Path, *, title: str = "radlab") -> Path:
    """One self-contained HTML file of the figures: opening it requests nothing from the network (Bokeh and
    Panel JS inlined, Panel's stylesheets inlined from the installed Panel, CDN favicon links removed)."""
    from bokeh.document import Document
    from panel.io.save import save

    items = [pn.pane.Markdown(f"# {title}")]
    for name, obj in figures.items():
        items.append(pn.pane.Markdown(f"## {name}"))
        if isinstance(obj, pd.DataFrame | pd.Series):
            items.append(pn.pane.DataFrame(obj.round(4) if hasattr(obj, "round") else obj, sizing_mode="stretch_width"))
        else:
            items.append(pn.pane.HoloViews(obj, linked_axes=False))
    doc = Document()
    root = pn.Column(*items).get_root(doc)
    doc.add_root(root)
    inline_stylesheets(root)
    path = Path(path)
    save(doc, path, resources="inline", title=title, embed=False)
    # Panel's template links its favicons from a CDN: drop them so opening the file requests nothing
    html = re.sub(r'<link rel="(?:apple-touch-)?icon"[^>]*href="https?://[^"]*"[^>]*>\n?', "", path.read_text("utf-8"))
    path.write_text(html, encoding="utf-8")
    return path


def inline_stylesheets(root: Model) -> None:
    """Replace the stylesheets Panel links from its CDN (even in an inline save) by their text from the installed
    Panel, in every model under ``root``, so the page looks the same offline (the standalone HTML of
    :func:`export_html` and, through :func:`radlab.notebook`, every notebook output)."""
    from bokeh.models import ImportedStyleSheet, InlineStyleSheet, UIElement

    inlined: dict[str, InlineStyleSheet] = {}

    def local(sheet):
        url = sheet.url if isinstance(sheet, ImportedStyleSheet) else sheet
        if not isinstance(url, str) or (css := _panel_css(url)) is None:
            return sheet
        return inlined.setdefault(url, InlineStyleSheet(css=css))

    for model in root.select({"type": UIElement}):
        sheets = [local(sheet) for sheet in model.stylesheets]
        if sheets != model.stylesheets:
            model.stylesheets = sheets


def _panel_css(url: str) -> str | None:
    """The text of a stylesheet on Panel's CDN from the installed Panel, its relative ``url(...)`` assets as data
    URIs; None for another URL (or CSS text)."""
    from panel.io.resources import CDN_DIST, DIST_DIR

    if not url.startswith(CDN_DIST):
        return None
    path = Path(DIST_DIR, url.removeprefix(CDN_DIST).split("?")[0])
    if not path.is_file():
        return None

    def data_uri(match: re.Match) -> str:
        ref = match.group(2)
        asset = None if ref.startswith(("data:", "http:", "https:", "/", "#")) else (path.parent / ref).resolve()
        if asset is None or not asset.is_file():
            return match.group(0)
        mime = mimetypes.guess_type(asset.name)[0] or "application/octet-stream"
        return f"url('data:{mime};base64,{base64.b64encode(asset.read_bytes()).decode()}')"

    return re.sub(r"""url\((['"]?)([^'")]+)\1\)""", data_uri, path.read_text(encoding="utf-8"))


def _wait_script():
    from bokeh.io.export import _WAIT_SCRIPT

    return _WAIT_SCRIPT


def export_figure(element, path: str | Path, *, fmt: str | None = None, width: int | None = None,
                  height: int | None = None) -> Path:
    """Write a HoloViews element (or Bokeh model) as PNG or SVG, rendered by headless Chromium.

    Uses Playwright with the system Chromium (``RADLAB_CHROMIUM``, default /usr/bin/chromium) instead of
    Bokeh's selenium + chromedriver route; the SVG is Bokeh's own SVG serialisation of the plot.
    """
    from bokeh.io.export import get_layout_html
    from bokeh.resources import INLINE
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt not in ("png", "svg"):
        raise ValueError(f"The 'fmt' parameter of export_figure must be 'png' or 'svg'. Got {fmt!r} instead.")
    model = hv.render(element, backend="bokeh") if isinstance(element, hv.core.Dimensioned) else element
    if fmt == "svg":
        for plot in [model, *getattr(model, "children", [])]:
            if hasattr(plot, "output_backend"):
                plot.output_backend = "svg"
    html = get_layout_html(model, resources=INLINE, width=width, height=height)
    # a thread of its own: Playwright's sync API refuses to start inside a running asyncio loop (Jupyter, a
    # Panel server, another Playwright session)
    with ThreadPoolExecutor(1) as pool:
        pool.submit(_render, html, path, fmt).result()
    return path


def _render(html: str, path: Path, fmt: str) -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        page_file = Path(tmp) / "figure.html"
        page_file.write_text(html, encoding="utf-8")
        browser = p.chromium.launch(executable_path=CHROMIUM if Path(CHROMIUM).exists() else None,
                                    args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            page.goto(page_file.as_uri())
            page.evaluate(f"() => {{ {_wait_script()} }}")
            page.wait_for_function("window._bokeh_render_complete === true", timeout=10_000)
            if fmt == "png":
                page.locator(".bk-Figure, .bk-GridPlot, .bk-Column, .bk-Row").first.screenshot(path=str(path))
            else:
                svgs = page.evaluate("""() => {
                    const out = [];
                    for (const view of Bokeh.index) { const {ctx} = view.export("svg"); out.push(ctx.get_serialized_svg(true)); }
                    return out; }""")
                path.write_text(svgs[0], encoding="utf-8")
        finally:
            browser.close()
