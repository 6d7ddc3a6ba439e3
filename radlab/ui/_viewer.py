"""Slice viewer for one case: sequence and timepoint choice, slice slider, window/level, mask overlay."""

from __future__ import annotations

from functools import lru_cache

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the bokeh backend that .opts() styles)
import numpy as np
import panel as pn
import param

from radlab.cohort import Cohort

__all__ = ["ImageViewer", "default_window"]


@lru_cache(maxsize=8)
def _load(cohort: Cohort, case: str):
    """Voxels of one case (a few MB), kept for the last few cases viewed."""
    return cohort.case(case).compute()


def default_window(image: np.ndarray, mask: np.ndarray | None = None) -> tuple[float, float]:
    """(window, level) spanning the 1st-99th percentile of the body (or the mask region if any).

    Examples
    --------
    >>> [round(v, 2) for v in default_window(np.arange(101.0).reshape(1, 1, 101))]  # background (the minimum) left out
    [97.02, 50.5]
    """
    values = image[mask > 0] if mask is not None and np.any(mask) else image[image > image.min()] if np.ptp(image) else image
    lo, hi = np.percentile(values if values.size else image, [1, 99])
    if mask is not None and np.any(mask):  # widen around the lesion so its context stays visible
        body = np.percentile(image, [1, 99.5])
        lo, hi = min(lo, body[0]), max(hi, body[1])
    return float(hi - lo) or 1.0, float((hi + lo) / 2)


class _OneCase:
    """The part of the Cohort interface the viewer uses, over a single case's Dataset."""

    def __init__(self, ds):
        images = [v for v in ds.data_vars if ds[v].attrs.get("role", "image") == "image"]
        self._ds = ds
        self.ids = [str(ds.attrs.get("case", "case"))]
        sequences = list(dict.fromkeys(ds[v].attrs.get("sequence", v) for v in images))
        timepoints = [t for t in dict.fromkeys(ds[v].attrs.get("timepoint") for v in images) if t is not None]
        self.spec = type("Spec", (), {"images": sequences, "timepoints": timepoints})()

    def case(self, case_id):
        return self._ds


class ImageViewer(pn.viewable.Viewer):
    """Browse the images of a cohort's cases; state is plain parameters, so tests can drive it."""

    case = param.Selector(objects=[], doc="case id")
    sequence = param.Selector(objects=[], doc="image sequence")
    timepoint = param.Selector(objects=[None], doc="timepoint (pre/post) when the cohort has them")
    slice = param.Integer(default=0, bounds=(0, 0), doc="slice index along z")
    window = param.Number(default=1.0, bounds=(1e-6, None))
    level = param.Number(default=0.0)
    show_mask = param.Boolean(default=True)
    mask_opacity = param.Number(default=0.4, bounds=(0.0, 1.0))
    caption = param.String(default="", doc="a line shown above the viewer (radlab.view says which viewer this is)")

    def __init__(self, cohort: Cohort, *, pseudonymiser=None, **params):
        """``pseudonymiser`` (a callable id -> shown name, e.g. :class:`radlab.ui.Pseudonymiser`) hides the case
        ids from the browser: the case picker shows pseudonyms, the ids stay on the server."""
        self.cohort = cohort
        sequences = list(cohort.spec.images)
        timepoints = list(cohort.spec.timepoints) or [None]
        self.labels = {c: pseudonymiser(c) if pseudonymiser else c for c in cohort.ids}
        self.param.case.objects = {label: c for c, label in self.labels.items()}
        self.param.sequence.objects = sequences
        self.param.timepoint.objects = timepoints
        params.setdefault("case", cohort.ids[0] if cohort.ids else None)
        params.setdefault("sequence", sequences[0])
        params.setdefault("timepoint", timepoints[0])
        super().__init__(**params)
        self._on_image()

    @classmethod
    def from_dataset(cls, case, **params) -> "ImageViewer":
        """A viewer of one case's Dataset (as ``cohort.case(id)`` gives, or any Dataset of z, y, x images)."""
        return cls(_OneCase(case), **params)

    # ------------------------------------------------------------------ logic (no browser needed)
    @property
    def image_var(self) -> str:
        timed = f"{self.sequence}_{self.timepoint}"
        return timed if self.timepoint is not None and timed in self.data else self.sequence

    @property
    def mask_var(self) -> str | None:
        """The mask drawn on this image, else one of the same timepoint on the same grid."""
        masks = [v for v in self.data.data_vars if self.data[v].attrs.get("role") == "mask"]
        same_tp = [v for v in masks if self.data[v].attrs.get("timepoint") == self.timepoint] or masks
        own = [v for v in same_tp if self.data[v].attrs.get("image") == self.image_var]
        on_grid = [v for v in same_tp if self.data[v].dims == self.data[self.image_var].dims]
        return (own or on_grid or [None])[0]

    @property
    def data(self):
        return _load(self.cohort, self.case)

    @param.depends("case", "sequence", "timepoint", watch=True)
    def _on_image(self):
        image = self.data[self.image_var]
        mask = self.data[self.mask_var].values if self.mask_var else None
        n = image.shape[0]
        self.param.slice.bounds = (0, n - 1)
        if mask is not None and np.any(mask):
            self.slice = int(np.argmax(mask.reshape(n, -1).sum(axis=1)))  # the slice with most tumour
        else:
            self.slice = n // 2
        self.window, self.level = default_window(image.values, mask)

    def slice_arrays(self) -> tuple[np.ndarray, np.ndarray | None]:
        image = self.data[self.image_var].values[self.slice]
        mask = self.data[self.mask_var].values[self.slice] if self.mask_var else None
        return image, mask

    # ------------------------------------------------------------------ view
    @param.depends("case", "sequence", "timepoint", "slice", "window", "level", "show_mask", "mask_opacity")
    def plot(self) -> hv.Overlay:
        image, mask = self.slice_arrays()
        da = self.data[self.image_var]
        x, y = da[da.dims[2]].values, da[da.dims[1]].values
        bounds = (x[0], y[0], x[-1], y[-1])
        lo, hi = self.level - self.window / 2, self.level + self.window / 2
        title = f"{self.labels[self.case]} · {self.image_var} · slice {self.slice}"
        img = hv.Image(image[::-1], bounds=bounds, kdims=["x (mm)", "y (mm)"], vdims=["intensity"], label=title).opts(
            cmap="gray", clim=(lo, hi), aspect="equal", frame_width=420, colorbar=True, tools=["hover"],
            title=title, invert_yaxis=False)
        overlay = img
        if self.show_mask and mask is not None:
            tumour = np.where(mask[::-1] > 0, 1.0, np.nan)
            overlay = overlay * hv.Image(tumour, bounds=bounds, kdims=["x (mm)", "y (mm)"], vdims=["mask"]).opts(
                cmap=["#ff3030"], alpha=self.mask_opacity, clipping_colors={"NaN": "transparent"})
        return overlay

    def __panel__(self):
        widgets = pn.Param(self.param, parameters=["case", "sequence", "timepoint", "slice", "window", "level",
                                                   "show_mask", "mask_opacity"],
                           widgets={"slice": pn.widgets.IntSlider, "case": pn.widgets.Select},
                           show_name=False, width=260)
        row = pn.Row(widgets, pn.pane.HoloViews(self.plot, linked_axes=False))
        return pn.Column(pn.pane.Markdown(f"**{self.caption}**", margin=(0, 10)), row) if self.caption else row
