"""``radlab.notebook()``: set up a Jupyter notebook so radlab's figures render offline.

HoloViews and Panel load BokehJS, Panel's JavaScript and the component stylesheets from CDNs
(cdn.bokeh.org, cdn.holoviz.org, cdn.jsdelivr.net) unless told otherwise, so on a machine without internet
a notebook's plots stay empty. Both libraries' own switch for this is ``inline=True``: the JavaScript and CSS
are then embedded in the notebook's outputs, served by nobody, and the same outputs work in JupyterLab, in
nbconvert's HTML and in any viewer. Panel inlines its components' stylesheets only for objects it renders
itself; figures shown through HoloViews' display hook keep links to cdn.holoviz.org, so this module also
registers a Panel preprocessing hook that inlines them for every notebook output (not for served pages,
which fetch their resources from their own server), with :func:`radlab.ui._export.inline_stylesheets`, the
inlining that ``radlab export-html`` uses. Panel has no public setting for either: the hook list
(``Viewable._preprocessing_hooks``) is Panel's own, and tests/ui/test_notebook_display.py fails if Panel stops
calling it or starts inlining by itself.
"""

from __future__ import annotations

__all__ = ["notebook"]


def _inline_stylesheets(viewable, root, changed=None, old_models=None) -> None:
    """Panel preprocessing hook: CDN stylesheet links -> inline stylesheets, outside a server session."""
    import panel as pn

    from radlab.ui._export import inline_stylesheets

    document = root.document
    if not pn.config.inline or (document is not None and document.session_context is not None):
        return
    inline_stylesheets(root)


def notebook(*extensions: str) -> None:
    """Load HoloViews (bokeh backend) and Panel for this notebook with every resource inlined.

    Call it once, in the notebook's import cell, instead of ``hv.extension("bokeh")`` /
    ``pn.extension()``. ``extensions`` are extra Panel extensions (``"tabulator"``, which the dashboard
    pages use, is always loaded). radlab's figures, dashboard pages and image viewer then request nothing from
    another host, in JupyterLab or in the HTML `make notebooks` writes (Panel's LaTeX rendering would: MathJax
    is not bundled).

    Examples
    --------
    >>> import radlab  # doctest: +SKIP
    >>> radlab.notebook()  # doctest: +SKIP
    """
    import holoviews as hv
    import panel as pn
    from panel.viewable import Viewable

    hv.extension("bokeh", inline=True, logo=False)
    pn.extension("tabulator", *extensions, inline=True)
    if _inline_stylesheets not in Viewable._preprocessing_hooks:
        Viewable._preprocessing_hooks.append(_inline_stylesheets)
