"""Cohort & images page: `panel serve apps/cohort.py` (or `radlab serve`)."""

import panel as pn

import radlab
from radlab.ui import CohortPage

if pn.state.served:
    pn.template.BootstrapTemplate(title="radlab · cohort & images", main=[CohortPage(radlab.open_catalog())]).servable()
