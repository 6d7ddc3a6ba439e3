"""ROC page: `panel serve apps/roc.py` (or `radlab serve`). Inputs: radlab.ui.PageInputs over the catalog."""

import panel as pn

from radlab.ui import PageInputs, build_page

if pn.state.served:
    pn.extension("tabulator")
    pn.template.BootstrapTemplate(title="radlab · roc", main=[build_page("roc", PageInputs())]).servable()
