"""Saliency page: `panel serve apps/saliency.py` (or `radlab serve`). Inputs: radlab.ui.PageInputs over the catalog."""

import panel as pn

from radlab.ui import PageInputs, build_page

if pn.state.served:
    pn.extension("tabulator")
    pn.template.BootstrapTemplate(title="radlab · saliency", main=[build_page("saliency", PageInputs())]).servable()
