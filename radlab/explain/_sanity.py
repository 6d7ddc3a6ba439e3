"""Sanity checks for saliency maps, as result objects (compute once, ``.to_frame()``, ``.plot()``).

- :class:`RandomizationCheck`: cascading model-parameter randomisation (Adebayo et al. 2018): maps must change.
- :class:`DeletionInsertion`: output as the most salient voxels are removed / inserted, with areas (Petsiuk 2018).
- :class:`BrightnessBias`: rank correlation of the map with image intensity.
- :class:`MaskShare`: share of saliency inside the tumour mask, and whether the peak falls inside it.
- :func:`localization_report`: each method's share / enrichment / pointing-game hits over many cases.

Each result saves and reloads exactly with ``save``/``load`` (:mod:`radlab.results`). torch is imported inside
the functions and holoviews inside ``.plot()``.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

from radlab.explain._saliency import METHODS, SPATIAL, _to_tensor, saliency
from radlab.results import Result

__all__ = ["RandomizationCheck", "DeletionInsertion", "BrightnessBias", "MaskShare", "localization_report"]


def _magnitude(smap: xr.DataArray) -> xr.DataArray:
    """|map| summed over channels: one non-negative value per voxel."""
    a = abs(smap)
    return a.sum("channel") if "channel" in a.dims else a


def _spatial_mask(mask: xr.DataArray) -> xr.DataArray:
    m = mask > 0
    return m.any("channel") if "channel" in m.dims else m


def _ssim(a: np.ndarray, b: np.ndarray) -> float:
    from skimage.metrics import structural_similarity

    a, b = a / (a.max() or 1.0), b / (b.max() or 1.0)
    win = min(7, *[s if s % 2 else s - 1 for s in a.shape])
    return float(structural_similarity(a, b, data_range=1.0, win_size=max(win, 3)))


def _randomise(module, generator) -> None:
    """Re-draw every parameter of ``module`` uniformly (variance 1/fan-in for weights, SD 0.1 for vectors) and
    reset batch-norm running statistics."""
    import torch

    with torch.no_grad():
        for p in module.parameters(recurse=True):
            bound = 1.0 / np.sqrt(p[0].numel()) if p.ndim > 1 else 0.1
            p.copy_((torch.rand(p.shape, generator=generator) * 2 - 1).to(p) * bound * np.sqrt(3))
        for name, b in module.named_buffers():
            if name.endswith("running_mean"):
                b.zero_()
            elif name.endswith("running_var"):
                b.fill_(1.0)


def _holoviews():
    import holoviews as hv
    import holoviews.plotting.bokeh  # noqa: F401  registers the bokeh backend that .opts() styles

    return hv


def _top_down_layers(model) -> list[str]:
    return [name for name, m in reversed(list(model.named_children())) if any(True for _ in m.parameters())]


@dataclass(eq=False)
class RandomizationCheck(Result):
    """Cascading model-parameter randomisation: similarity of each map to the trained model's map as layers
    are re-initialised from the output down. A method whose maps stay similar is not explaining the model.

    Build with :meth:`from_model`. ``similarity`` holds one row per step: ``step``, ``layer`` (last layer
    randomised), ``spearman`` (rank correlation of |map|) and ``ssim`` (structural similarity of |map| scaled
    to [0, 1]). ``maps`` stacks the maps along ``step``; ``method`` names the saliency method.
    """

    method: str
    similarity: pd.DataFrame
    maps: xr.DataArray = field(repr=False)

    @classmethod
    def from_model(cls, model, image: xr.DataArray, *, method: str = "gradcam", layers: list[str] | None = None,
                   random_state: int = 0, **saliency_kwargs) -> RandomizationCheck:
        """Compute the cascade for one image (dims ``[channel,] [z,] y, x``).

        Parameters
        ----------
        layers : top-level module names, output side first (default: the model's children with parameters,
            in reverse order, e.g. ``fc, layer3, layer2, layer1, stem``)
        random_state : seed of the re-initialisation
        saliency_kwargs : passed to :func:`saliency` (``target``, ``layer``, ...)
        """
        import torch

        layers = list(layers) if layers is not None else _top_down_layers(model)
        modules = dict(model.named_modules())
        unknown = [l for l in layers if l not in modules]
        if unknown:
            raise ValueError(f"The 'layers' parameter of RandomizationCheck.from_model must name modules of the "
                             f"model. Got {unknown!r} instead.")
        original = saliency(model, image, method=method, **saliency_kwargs)
        maps, rows = [original], []
        ref = _magnitude(original).values
        net = copy.deepcopy(model)
        generator = torch.Generator().manual_seed(random_state)
        for step, name in enumerate(["none"] + layers):
            if name != "none":
                _randomise(dict(net.named_modules())[name], generator)
                maps.append(saliency(net, image, method=method, **saliency_kwargs))
            cur = _magnitude(maps[-1]).values
            rho = stats.spearmanr(ref.ravel(), cur.ravel()).statistic if cur.std() > 0 and ref.std() > 0 else 0.0
            rows.append({"step": step, "layer": name, "spearman": float(rho), "ssim": _ssim(ref, cur)})
        return cls(method, pd.DataFrame(rows), xr.concat(maps, dim=pd.Index(["none"] + layers, name="step")))

    def to_frame(self) -> pd.DataFrame:
        """One row per randomisation step: step, layer, spearman, ssim, method."""
        return self.similarity.assign(method=self.method)

    def plot(self, **opts):
        """HoloViews overlay of Spearman and SSIM against the randomised layer."""
        hv = _holoviews()

        df = self.similarity
        ticks = list(zip(df["step"], df["layer"]))
        curves = [(hv.Curve((df["step"], df[col]), "layers randomised", "similarity", label=col)
                   * hv.Scatter((df["step"], df[col]), "layers randomised", "similarity", label=col))
                  for col in ("spearman", "ssim")]
        return hv.Overlay([c for pair in curves for c in pair]).opts(
            title=f"Randomisation check: {self.method}", xticks=ticks, ylim=(-0.1, 1.05), **opts)


@dataclass(eq=False)
class DeletionInsertion(Result):
    """Model output as voxels are deleted (set to ``baseline``) or inserted into a baseline image, most salient
    first. A faithful map makes the deletion curve fall fast (small ``deletion_auc``) and the insertion curve
    rise fast (large ``insertion_auc``); ``random_*`` are the same curves for a random voxel order.
    ``curves`` has one row per fraction of voxels: fraction, deletion, insertion, random_deletion,
    random_insertion.
    """

    curves: pd.DataFrame
    deletion_auc: float
    insertion_auc: float
    random_deletion_auc: float
    random_insertion_auc: float

    @classmethod
    def from_saliency(cls, model, image: xr.DataArray, saliency_map: xr.DataArray, *, target: int = 0,
                      baseline: float = 0.0, n_steps: int = 20, random_state: int = 0) -> DeletionInsertion:
        """Curves for one image (dims ``[channel,] [z,] y, x``); voxels ranked by |map| over channels."""
        import torch

        x, _ = _to_tensor(image)
        order = np.argsort(-_magnitude(saliency_map).values.ravel(), kind="stable")
        rand = np.random.default_rng(random_state).permutation(order.size)
        fractions = np.linspace(0, 1, n_steps + 1)
        device = next(model.parameters()).device
        was_training = model.training
        model.eval()

        def curve(ranking, insert):
            batch = []
            for f in fractions:
                keep = np.zeros(order.size, bool)
                keep[ranking[: int(round(f * order.size))]] = True
                sel = torch.as_tensor(keep.reshape(x.shape[2:]))
                sel = ~sel if insert else sel
                batch.append(torch.where(sel, torch.tensor(baseline, dtype=x.dtype), x[0]))
            with torch.no_grad():
                out = model(torch.stack(batch).to(device))
            p = torch.sigmoid(out[:, 0]) if out.shape[1] == 1 else torch.softmax(out, 1)[:, target]
            return p.cpu().numpy().astype(float)

        try:
            c = {"deletion": curve(order, False), "insertion": curve(order, True),
                 "random_deletion": curve(rand, False), "random_insertion": curve(rand, True)}
        finally:
            model.train(was_training)
        auc = {k: float(np.trapezoid(v, fractions)) for k, v in c.items()}
        return cls(pd.DataFrame({"fraction": fractions, **c}), auc["deletion"], auc["insertion"],
                   auc["random_deletion"], auc["random_insertion"])

    def to_frame(self) -> pd.DataFrame:
        """Long table: fraction, curve (deletion, insertion, random_deletion, random_insertion), score."""
        return self.curves.melt("fraction", var_name="curve", value_name="score")

    def plot(self, **opts):
        """HoloViews overlay of the four curves, areas in the legend."""
        hv = _holoviews()

        aucs = {"deletion": self.deletion_auc, "insertion": self.insertion_auc,
                "random_deletion": self.random_deletion_auc, "random_insertion": self.random_insertion_auc}
        curves = [hv.Curve((self.curves["fraction"], self.curves[k]), "fraction of voxels", "score",
                           label=f"{k} (AUC {v:.3f})") for k, v in aucs.items()]
        return hv.Overlay(curves).opts(title="Deletion / insertion", **opts)


@dataclass(eq=False)
class BrightnessBias(Result):
    """Spearman correlation of |map| with each channel's intensity over voxels (in ``mask`` when given).
    A map that only tracks brightness correlates strongly whatever the model learned. ``correlation``: one row
    per channel (channel, spearman)."""

    correlation: pd.DataFrame

    @classmethod
    def from_saliency(cls, saliency_map: xr.DataArray, image: xr.DataArray, *,
                      mask: xr.DataArray | None = None) -> BrightnessBias:
        mag = _magnitude(saliency_map)
        img = image if "channel" in image.dims else image.expand_dims(channel=["image"])
        sel = np.ones(mag.shape, bool) if mask is None else _spatial_mask(mask).values
        rows = []
        for c in img["channel"].values if "channel" in img.coords else range(img.sizes["channel"]):
            v = (img.sel(channel=c) if "channel" in img.coords else img.isel(channel=c)).values[sel]
            rho = stats.spearmanr(mag.values[sel], v).statistic
            rows.append({"channel": str(c), "spearman": float(rho)})
        return cls(pd.DataFrame(rows))

    def to_frame(self) -> pd.DataFrame:
        """Columns: channel, spearman."""
        return self.correlation.copy()

    def plot(self, **opts):
        """HoloViews bars: correlation per channel."""
        hv = _holoviews()

        return hv.Bars(self.correlation, "channel", "spearman").opts(
            title="Brightness bias (Spearman |map| vs intensity)", ylim=(-1, 1), **opts)


@dataclass(eq=False)
class MaskShare(Result):
    """Share of |saliency| inside the mask per case, the share a uniform map would get (``expected``), their
    ratio (``enrichment``) and whether the map's peak lies in the mask (``hit``, the pointing game): ``shares``
    has one row per case (case, share, expected, enrichment, hit)."""

    shares: pd.DataFrame

    @classmethod
    def from_saliency(cls, saliency_map: xr.DataArray, mask: xr.DataArray) -> MaskShare:
        mag = _magnitude(saliency_map)
        m = _spatial_mask(mask)
        if "case" not in mag.dims:
            mag, m = mag.expand_dims(case=["case"]), m.expand_dims(case=["case"])
        spatial = [d for d in SPATIAL if d in mag.dims]
        mv = m.transpose("case", *spatial).values if "case" in m.dims else np.broadcast_to(
            m.transpose(*spatial).values, mag.shape)
        a = mag.transpose("case", *spatial).values.reshape(mag.sizes["case"], -1)
        mv = mv.reshape(a.shape)
        total = a.sum(1)
        share = np.where(total > 0, (a * mv).sum(1) / np.where(total > 0, total, 1), np.nan)
        expected = mv.mean(1)
        hit = mv[np.arange(len(a)), a.argmax(1)]
        cases = [str(c) for c in mag["case"].values] if "case" in mag.coords else list(range(len(a)))
        return cls(pd.DataFrame({"case": cases, "share": share, "expected": expected,
                                 "enrichment": share / expected, "hit": hit.astype(bool)}))

    def to_frame(self) -> pd.DataFrame:
        """Columns: case, share, expected, enrichment, hit."""
        return self.shares.copy()

    def plot(self, **opts):
        """HoloViews bars of the share per case, with the uniform-map share as a line."""
        hv = _holoviews()

        bars = hv.Bars(self.shares, "case", "share").opts(ylim=(0, 1))
        return (bars * hv.HLine(float(self.shares["expected"].mean()))).opts(
            title="Share of saliency inside the mask", **opts)


def localization_report(model, images: xr.DataArray, masks: xr.DataArray, *, methods=METHODS,
                        **saliency_kwargs) -> pd.DataFrame:
    """How well each saliency method finds a known signal region: one row per method.

    Columns: ``share`` (mean share of |map| in the mask), ``expected`` (mean mask fraction: a uniform map's
    share), ``enrichment`` (share / expected), ``hit_rate`` (pointing game: peak inside the mask),
    ``n_cases`` and ``seconds``.

    Parameters
    ----------
    images : DataArray (case, [channel,] [z,] y, x), normalised as the model expects
    masks : DataArray (case, [z,] y, x): where the signal lives
    methods : saliency methods to compare
    saliency_kwargs : passed to :func:`saliency`
    """
    rows = []
    for method in methods:
        t0 = time.perf_counter()
        smap = saliency(model, images, method=method, **saliency_kwargs)
        seconds = time.perf_counter() - t0
        s = MaskShare.from_saliency(smap, masks).shares
        rows.append({"method": method, "share": s["share"].mean(), "expected": s["expected"].mean(),
                     "enrichment": (s["share"] / s["expected"]).mean(), "hit_rate": s["hit"].mean(),
                     "n_cases": len(s), "seconds": seconds})
    return pd.DataFrame(rows).set_index("method")
