"""SHAP page: `panel serve apps/shap.py` (or `radlab serve`). Inputs: radlab.ui.PageInputs over the catalog."""

import panel as pn

from radlab.ui import PageInputs, build_page

if pn.state.served:
    pn.extension("tabulator")
    pn.template.BootstrapTemplate(title="radlab · shap", main=[build_page("shap", PageInputs())]).servable()
