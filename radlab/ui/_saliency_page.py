"""Saliency page: case and method pickers with the method's parameters, the map over image and mask per
slice, and the sanity checks (mask share, brightness bias, on demand randomisation and deletion/insertion)."""

from __future__ import annotations

import warnings

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the bokeh backend that .opts() styles)
import numpy as np
import panel as pn
import param
import xarray as xr

from radlab.explain import SALIENCY_METHODS as METHODS
from radlab.explain import saliency
from radlab.explain import BrightnessBias, DeletionInsertion, MaskShare, RandomizationCheck
from radlab.ui._inputs import Pseudonymiser

__all__ = ["SaliencyPage", "SaliencyStore"]


class SaliencyStore(param.Parameterized):
    """A CNN, its input grid (case, channel, [z,] y, x) and masks (case, [z,] y, x); the case, method and
    method parameters chosen. Maps are cached per case, method and parameters."""

    case = param.Selector(objects={}, doc="case (pseudonymised)")
    method = param.Selector(objects=list(METHODS), default="gradcam")
    n_samples = param.Integer(default=16, bounds=(2, 64), doc="SmoothGrad samples")
    noise = param.Number(default=0.15, bounds=(0.0, 1.0), doc="SmoothGrad noise (fraction of the range)")
    n_steps = param.Integer(default=32, bounds=(4, 128), doc="Integrated Gradients steps")
    layer = param.Selector(objects=[], doc="Grad-CAM layer")
    window = param.Integer(default=4, bounds=(1, 64), doc="occlusion window (voxels per axis)")
    channel = param.Selector(objects=[], doc="image channel shown under the map")
    slice = param.Integer(default=0, bounds=(0, 0), doc="z slice")
    opacity = param.Number(default=0.5, bounds=(0.0, 1.0), doc="map opacity")
    run_checks = param.Event(doc="run the randomisation and deletion/insertion checks")

    def __init__(self, model, images: xr.DataArray, masks: xr.DataArray | None = None, *,
                 pseudonymiser: Pseudonymiser | None = None, **params):
        from torch import nn

        self.model, self.images, self.masks = model, images, masks
        if "case" not in images.dims:
            raise ValueError(f"The 'images' parameter of {type(self).__name__} must have a 'case' dim. "
                             f"Got dims {images.dims} instead.")
        name = pseudonymiser or Pseudonymiser()
        cases = [str(c) for c in images["case"].values]
        self.labels = {c: name(c) for c in cases}  # real id -> shown pseudonym (kept on the server)
        self.param.case.objects = {label: c for c, label in self.labels.items()}
        self.param.layer.objects = [n for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Conv3d))
                                    ] or [None]
        self.param.channel.objects = ([str(c) for c in images["channel"].values] if "channel" in images.coords
                                      else list(range(images.sizes.get("channel", 1))))
        from radlab.explain._saliency import default_layer

        params.setdefault("case", cases[0])
        params.setdefault("layer", default_layer(model) if default_layer(model) in dict(model.named_modules())
                          else self.param.layer.objects[-1])
        params.setdefault("channel", self.param.channel.objects[0])
        self._maps: dict = {}
        super().__init__(**params)
        self._on_case()

    @property
    def image(self) -> xr.DataArray:
        return self.images.sel(case=self.case)

    @property
    def mask(self) -> xr.DataArray | None:
        return None if self.masks is None else self.masks.sel(case=self.case)

    @param.depends("case", watch=True)
    def _on_case(self):
        nz = self.image.sizes.get("z", 1)
        self.param.slice.bounds = (0, nz - 1)
        if self.mask is not None and "z" in self.mask.dims and np.any(self.mask.values):
            self.slice = int(np.argmax((self.mask.values > 0).reshape(nz, -1).sum(1)))
        else:
            self.slice = nz // 2

    def options(self) -> dict:
        """The keyword arguments of :func:`saliency` that the chosen method uses."""
        m = self.method
        if m == "smoothgrad":
            return {"n_samples": self.n_samples, "noise": self.noise}
        if m == "integrated_gradients":
            return {"n_steps": self.n_steps}
        if m in ("gradcam", "guided_gradcam"):
            return {"layer": self.layer}
        if m == "occlusion":
            spatial = [d for d in ("z", "y", "x") if d in self.image.dims]
            w = tuple(min(self.window, self.image.sizes[d]) for d in spatial)
            return {"window": w, "stride": tuple(max(1, k // 2) for k in w)}
        return {}

    def saliency_map(self) -> xr.DataArray:
        key = (self.case, self.method, tuple(sorted(self.options().items())))
        if key not in self._maps:
            self._maps[key] = saliency(self.model, self.image, method=self.method, **self.options())
        return self._maps[key]

    def mask_share(self) -> MaskShare | None:
        return None if self.mask is None else MaskShare.from_saliency(self.saliency_map(), self.mask)

    def brightness_bias(self) -> BrightnessBias:
        """Correlation of |map| with intensity (NaN for a constant map, e.g. Grad-CAM all zero)."""
        from scipy.stats import ConstantInputWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConstantInputWarning)
            return BrightnessBias.from_saliency(self.saliency_map(), self.image, mask=self.mask)

    def randomisation(self) -> RandomizationCheck:
        opts = {k: v for k, v in self.options().items()}
        return RandomizationCheck.from_model(self.model, self.image, method=self.method, **opts)

    def deletion_insertion(self) -> DeletionInsertion:
        return DeletionInsertion.from_saliency(self.model, self.image, self.saliency_map(), n_steps=10)

    # ------------------------------------------------------------------ figures
    def _slice2d(self, da: xr.DataArray) -> np.ndarray:
        if "channel" in da.dims:
            da = da.sel(channel=self.channel) if "channel" in da.coords else da.isel(channel=self.channel)
        return da.isel(z=self.slice).values if "z" in da.dims else da.values

    def overlay(self):
        """Image slice (grey), saliency magnitude (heat, transparent where zero) and the mask outline."""
        smap = self.saliency_map()
        mag = np.abs(smap).max("channel") if "channel" in smap.dims else np.abs(smap)
        img, sal = self._slice2d(self.image), self._slice2d(mag)
        ny, nx = img.shape
        bounds = (0, 0, nx, ny)
        title = f"{self.labels[self.case]} · {self.method} · slice {self.slice}"
        layers = hv.Image(img[::-1], bounds=bounds).opts(cmap="gray", frame_width=380, aspect="equal", title=title)
        peak = float(sal.max())
        if peak > 0:  # an all-zero map (e.g. Grad-CAM of a dead layer) shows the image alone
            layers = layers * hv.Image(np.where(sal > 0.05 * peak, sal, np.nan)[::-1], bounds=bounds,
                                       vdims=["saliency"]).opts(cmap="inferno", alpha=self.opacity, colorbar=True,
                                                                clim=(0.05 * peak, peak),
                                                                clipping_colors={"NaN": "transparent"})
        if self.mask is not None:
            m = self._slice2d(self.mask) > 0
            if m.any():
                layers = layers * hv.Contours(hv.Image(m[::-1].astype(float), bounds=bounds)
                                              .opts(cmap="gray")).opts(color="#00e0ff")
        return layers

    def figures(self) -> dict:
        out = {"Saliency": self.overlay(), "Brightness bias": self.brightness_bias().plot()}
        if self.mask is not None:
            out["Mask share"] = self.mask_share().to_frame()
        return out


class SaliencyPage(pn.viewable.Viewer):
    """Saliency maps and their sanity checks over a :class:`SaliencyStore`."""

    def __init__(self, store: SaliencyStore, **params):
        self.store = store
        self._checks = pn.Column(pn.pane.Markdown("Randomisation and deletion/insertion checks: press the button."))
        super().__init__(**params)
        store.param.watch(self._run_checks, "run_checks")

    def _run_checks(self, *_):
        s = self.store
        rnd, di = s.randomisation(), s.deletion_insertion()
        self._checks[:] = [pn.pane.HoloViews(rnd.plot(width=360, height=260), linked_axes=False),
                           pn.pane.HoloViews(di.plot(width=360, height=260), linked_axes=False)]

    @param.depends("store.case", "store.method", "store.n_samples", "store.noise", "store.n_steps", "store.layer",
                   "store.window", "store.channel", "store.slice", "store.opacity")
    def _map(self):
        return pn.pane.HoloViews(self.store.overlay(), linked_axes=False)

    @param.depends("store.case", "store.method", "store.n_samples", "store.noise", "store.n_steps", "store.layer",
                   "store.window")
    def _quick_checks(self):
        s = self.store
        parts = [pn.pane.HoloViews(s.brightness_bias().plot(width=300, height=220), linked_axes=False)]
        if s.mask is not None:
            share = s.mask_share().to_frame().iloc[0]
            parts.insert(0, pn.pane.Markdown(
                f"Share of |saliency| in the mask **{share['share']:.2f}** (uniform map: {share['expected']:.2f}, "
                f"enrichment {share['enrichment']:.1f}x); peak in mask: {'yes' if share['hit'] else 'no'}"))
        return pn.Column(*parts)

    def __panel__(self):
        s = self.store
        widgets = pn.Param(s.param, parameters=["case", "method", "n_samples", "noise", "n_steps", "layer", "window",
                                                "channel", "slice", "opacity", "run_checks"],
                           widgets={"slice": pn.widgets.IntSlider, "run_checks": {"type": pn.widgets.Button,
                                                                                   "name": "Run sanity checks"}},
                           show_name=False, width=260)
        return pn.Column(
            pn.pane.Markdown("## Saliency\nMaps of the CNN's output on the case's input grid; sanity checks after "
                             "Adebayo et al. 2018 (a map that survives weight randomisation does not explain the model).",
                             sizing_mode="stretch_width"),
            pn.Row(widgets, self._map, pn.Column(self._quick_checks, self._checks)), sizing_mode="stretch_width")
