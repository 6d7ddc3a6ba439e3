"""Deep features: a chosen layer's activations, pooled, as a case x feature table."""

from __future__ import annotations

import pandas as pd
import torch
from torch import nn

from radlab.dl._data import _check_grid, make_dataset

__all__ = ["deep_features"]


@torch.no_grad()
def deep_features(model: nn.Module, grid, *, layer: str = "pool", cases=None, normalizer=None, mask=None,
                  batch_size: int = 32, device=None) -> pd.DataFrame:
    """Activations of ``layer`` for every case, as a DataFrame (case x feature).

    Spatial activations are averaged over space (global average pooling); a 2D model's slice features are
    averaged over the case's slices. Column names are ``"<layer>_<i>"``. The table can join the radiomics
    feature tables (same case index).

    Parameters
    ----------
    model : nn.Module with a ``dim`` attribute (2 or 3), e.g. :class:`ResNet`
    grid : DataArray (case, channel, z, y, x)
    layer : dotted module name, e.g. ``"pool"`` (penultimate) or ``"layer2"``
    cases, normalizer, mask : as for the datasets (normalise with the normaliser fitted on training cases)

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from radlab.dl import ResNet
    >>> grid = xr.DataArray(np.random.rand(3, 1, 4, 8, 8).astype("float32"),
    ...                     dims=("case", "channel", "z", "y", "x"), coords={"case": ["a", "b", "c"]})
    >>> deep_features(ResNet(1, dim=3, widths=(4, 8)), grid).shape
    (3, 8)
    """
    _check_grid(grid)
    modules = dict(model.named_modules())
    if layer not in modules:
        raise ValueError(f"The 'layer' parameter of deep_features must name a module of the model, one of "
                         f"{[m for m in modules if m][:12]}... Got {layer!r} instead.")
    dataset = make_dataset(grid, dim=model.dim, cases=cases, mask=mask, normalizer=normalizer)
    device = torch.device(device) if device is not None else next(model.parameters()).device
    captured = []
    handle = modules[layer].register_forward_hook(lambda m, i, o: captured.append(o.detach()))
    was_training = model.training
    model.eval()
    try:
        for x, _ in torch.utils.data.DataLoader(dataset, batch_size=batch_size):
            model(x.to(device))
    finally:
        handle.remove()
        model.train(was_training)
    acts = torch.cat(captured)
    acts = acts.flatten(2).mean(-1) if acts.ndim > 2 else acts
    frame = pd.DataFrame(acts.cpu().numpy(), columns=[f"{layer}_{i}" for i in range(acts.shape[1])])
    frame.insert(0, "case", dataset.items["case"].to_numpy())
    out = frame.groupby("case", sort=False).mean()
    out.index.name = "case"
    return out
