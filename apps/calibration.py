"""Calibration & decision curves page: `panel serve apps/calibration.py` (or `radlab serve`). Inputs: radlab.ui.PageInputs over the catalog."""

import panel as pn

from radlab.ui import PageInputs, build_page

if pn.state.served:
    pn.extension("tabulator")
    pn.template.BootstrapTemplate(title="radlab · calibration & decision curves", main=[build_page("calibration", PageInputs())]).servable()
