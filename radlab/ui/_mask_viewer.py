"""Slice viewer for a mask-only case (e.g. cohort lidc): each reader's mask side by side, or their agreement
overlaid (how many of the case's masks mark each voxel), on the case's own grid in mm."""

from __future__ import annotations

from functools import lru_cache

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the bokeh backend that .opts() styles)
import numpy as np
import panel as pn
import param

from radlab.cohort import Cohort

__all__ = ["MaskViewer"]

COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")


@lru_cache(maxsize=8)
def _load(cohort: Cohort, case: str):
    return cohort.case(case).compute()


class MaskViewer(pn.viewable.Viewer):
    """Browse the masks of a mask-only cohort's cases; state is plain parameters, so tests can drive it."""

    case = param.Selector(objects=[], doc="case id")
    slice = param.Integer(default=0, bounds=(0, 0), doc="slice index along z")
    layout = param.Selector(objects=["side by side", "overlaid"], default="side by side",
                            doc="each mask in its own panel, or the number of masks marking each voxel")
    caption = param.String(default="")

    def __init__(self, cohort: Cohort, *, pseudonymiser=None, **params):
        self.cohort = cohort
        self.labels = {c: pseudonymiser(c) if pseudonymiser else c for c in cohort.ids}
        self.param.case.objects = {label: c for c, label in self.labels.items()}
        params.setdefault("case", cohort.ids[0] if cohort.ids else None)
        super().__init__(**params)
        self._on_case()

    @property
    def data(self):
        return _load(self.cohort, self.case)

    @property
    def masks(self) -> list[str]:
        """The case's mask variables; a combined mask (``consensus``) is shown but not counted as a reader."""
        return [v for v in self.data.data_vars if self.data[v].attrs.get("role") == "mask"]

    @property
    def readers(self) -> list[str]:
        return [m for m in self.masks if m != "consensus"] or self.masks

    @param.depends("case", watch=True)
    def _on_case(self):
        if not self.masks:  # a case lacking every (optional) mask opens with no variable: nothing to slice
            self.param.slice.bounds = (0, 0)
            self.slice = 0
            return
        ds = self.data
        n = ds.sizes["z"]
        self.param.slice.bounds = (0, n - 1)
        votes = self.votes()
        self.slice = int(np.argmax(votes.reshape(n, -1).sum(axis=1)))  # the slice most readers marked

    def votes(self) -> np.ndarray:
        """(z, y, x) count of the case's readers marking each voxel."""
        return sum((self.data[m].values > 0).astype(np.int16) for m in self.readers)

    def _image(self, values: np.ndarray, title: str, **opts) -> hv.Image:
        ds = self.data
        x, y = ds["x"].values, ds["y"].values
        return hv.Image(values[::-1], bounds=(x[0], y[0], x[-1], y[-1]), kdims=["x (mm)", "y (mm)"],
                        vdims=["value"]).opts(aspect="equal", title=title, tools=["hover"], **opts)

    @param.depends("case", "slice", "layout")
    def plot(self):
        if not self.masks:
            return hv.Text(0, 0, "none of the cohort's masks").opts(
                title=f"{self.labels[self.case]}: this case has none of the cohort's masks", xaxis=None, yaxis=None,
                frame_width=420, frame_height=200)
        label = f"{self.labels[self.case]} · slice {self.slice}"
        if self.layout == "overlaid":
            n = len(self.readers)
            return self._image(self.votes()[self.slice].astype(float), f"{label} · readers marking each voxel (of {n})",
                               cmap="viridis", clim=(0, n), colorbar=True, frame_width=420)
        panels = [self._image((self.data[m].values[self.slice] > 0).astype(float), f"{m}",
                              cmap=["#ffffff", COLOURS[i % len(COLOURS)]], clim=(0, 1), frame_width=180)
                  for i, m in enumerate(self.masks)]
        return hv.Layout(panels).opts(title=label).cols(5)

    def __panel__(self):
        widgets = pn.Param(self.param, parameters=["case", "slice", "layout"],
                           widgets={"slice": pn.widgets.IntSlider, "case": pn.widgets.Select,
                                    "layout": pn.widgets.RadioButtonGroup}, show_name=False, width=260)
        row = pn.Row(widgets, pn.pane.HoloViews(self.plot, linked_axes=False))
        return pn.Column(pn.pane.Markdown(f"**{self.caption}**", margin=(0, 10)), row) if self.caption else row
