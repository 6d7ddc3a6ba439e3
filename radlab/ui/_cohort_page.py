"""The cohort page: the case table (clinical + acquisition) beside the image viewer."""

from __future__ import annotations

import pandas as pd
import panel as pn
import param

from radlab.catalog import Catalog
from radlab.ui._viewer import ImageViewer

__all__ = ["CohortPage", "case_table"]


def case_table(cohort) -> pd.DataFrame:
    """One row per case: clinical columns plus the first image's acquisition parameters."""
    clinical = cohort.clinical
    acq = cohort.acquisition(progress=False)
    first = acq[acq.image == acq.image.iloc[0]].set_index("case") if len(acq) else pd.DataFrame(index=clinical.index)
    keep = [c for c in ("vendor", "model", "field_strength", "slice_thickness", "spacing_x", "spacing_z",
                        "repetition_time", "echo_time") if c in first and first[c].notna().any() and c not in clinical]
    return clinical.join(first[keep], how="left").reset_index()


class CohortPage(pn.viewable.Viewer):
    """Pick an image cohort from the catalog, browse its cases in a table and view their images."""

    cohort = param.Selector(objects=[])

    def __init__(self, catalog: Catalog, **params):
        self.catalog = catalog
        names = [n for n in catalog.names if catalog.spec(n).images]
        self.param.cohort.objects = names
        params.setdefault("cohort", names[0])
        super().__init__(**params)
        self._table = pn.widgets.Tabulator(pagination="remote", page_size=12, disabled=True, selectable=1,
                                           show_index=False, sizing_mode="stretch_width", height=420)
        self._table.param.watch(self._on_select, "selection")
        self._viewer_area = pn.Column()
        self._on_cohort()

    @param.depends("cohort", watch=True)
    def _on_cohort(self):
        cohort = self.catalog[self.cohort]
        self.viewer = ImageViewer(cohort)
        self._table.value = case_table(cohort)
        self._viewer_area[:] = [self.viewer]

    def _on_select(self, event):
        if event.new:
            self.viewer.case = str(self._table.value.iloc[event.new[0]]["case"])

    def __panel__(self):
        return pn.Column(
            pn.pane.Markdown("## Cohort & images"),
            pn.widgets.Select.from_param(self.param.cohort, width=260),
            self._table,
            self._viewer_area,
            sizing_mode="stretch_width",
        )
