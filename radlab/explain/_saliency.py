"""Saliency maps for CNNs on cohort images, returned as DataArrays on the image's coordinates.

torch is imported inside the functions, so ``import radlab.explain`` stays light.
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

__all__ = ["METHODS", "saliency", "default_layer"]

METHODS = ("gradient", "smoothgrad", "integrated_gradients", "guided_backprop", "gradcam", "guided_gradcam",
           "occlusion")
INTEGRATION = ("gausslegendre", "riemann_middle", "riemann_left", "riemann_right")
SPATIAL = ("z", "y", "x")


def default_layer(model) -> str:
    """Grad-CAM's default layer: radlab ResNet's last block, otherwise the model's last convolution."""
    from torch import nn

    if hasattr(model, "n_layers") and hasattr(model, f"layer{model.n_layers}"):
        return f"layer{model.n_layers}"
    convs = [name for name, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Conv3d))]
    if not convs:
        raise ValueError("The model has no convolution; pass the 'layer' parameter of saliency explicitly.")
    return convs[-1]


def _select(out, target):
    """Target logits (N,) out of the model output (N, K)."""
    import torch

    if out.ndim == 1:
        return out
    t = torch.as_tensor(target, device=out.device).expand(out.shape[0])
    return out.gather(1, t[:, None])[:, 0]


def _gradient(model, x, target, *, create_graph=False):
    import torch

    x = x.detach().requires_grad_(True)
    out = _select(model(x), target)
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=create_graph)
    return grad


def _batched_gradients(model, xs, target, batch_size):
    """Gradients of a stack of inputs (M, C, ...) computed in chunks."""
    import torch

    return torch.cat([_gradient(model, xs[i:i + batch_size], target) for i in range(0, len(xs), batch_size)])


def _smoothgrad(model, x, target, *, n_samples, noise, random_state, batch_size):
    import torch

    g = torch.Generator().manual_seed(random_state)
    out = []
    for xi in x:
        sd = float(noise * (xi.max() - xi.min()))
        eps = torch.normal(torch.zeros((n_samples,) + tuple(xi.shape)), sd, generator=g).to(xi.device)
        out.append(_batched_gradients(model, xi[None] + eps, target, batch_size).mean(0))
    return torch.stack(out)


def integration_rule(n_steps: int, method: str = "gausslegendre") -> tuple[np.ndarray, np.ndarray]:
    """Points ``alphas`` in [0, 1] and weights of a quadrature rule over [0, 1]."""
    if method == "gausslegendre":
        nodes, weights = np.polynomial.legendre.leggauss(n_steps)
        return 0.5 * (nodes + 1), 0.5 * weights
    start = {"riemann_middle": 0.5, "riemann_left": 0.0, "riemann_right": 1.0}[method]
    return (np.arange(n_steps) + start) / n_steps, np.full(n_steps, 1.0 / n_steps)


def _integrated_gradients(model, x, target, *, baseline, n_steps, integration, batch_size):
    import torch

    alphas, weights = integration_rule(n_steps, integration)
    out = []
    for xi, bi in zip(x, baseline.expand_as(x)):
        a = torch.as_tensor(alphas, dtype=x.dtype, device=x.device).view(-1, *([1] * xi.ndim))
        w = torch.as_tensor(weights, dtype=x.dtype, device=x.device).view(-1, *([1] * xi.ndim))
        path = bi[None] + a * (xi - bi)[None]
        out.append((xi - bi) * (_batched_gradients(model, path, target, batch_size) * w).sum(0))
    return torch.stack(out)


def _guided_backprop(model, x, target):
    import torch.nn.functional as F
    from torch import nn

    hooks = [m.register_full_backward_hook(lambda m, gin, gout: (F.relu(gin[0]),))
             for m in model.modules() if isinstance(m, nn.ReLU)]
    try:
        return _gradient(model, x, target)
    finally:
        for h in hooks:
            h.remove()


def _gradcam(model, x, target, *, layer, interpolation):
    import torch
    import torch.nn.functional as F

    modules = dict(model.named_modules())
    if layer not in modules:
        raise ValueError(f"The 'layer' parameter of saliency must name a module of the model, e.g. "
                         f"{default_layer(model)!r}. Got {layer!r} instead.")
    acts = []
    handle = modules[layer].register_forward_hook(lambda m, i, o: acts.append(o))
    try:
        out = _select(model(x.detach().requires_grad_(True)), target)
    finally:
        handle.remove()
    (grad,) = torch.autograd.grad(out.sum(), acts[0])
    weights = grad.mean(dim=tuple(range(2, grad.ndim)), keepdim=True)
    cam = F.relu((weights * acts[0]).sum(1, keepdim=True)).detach()
    mode = {"linear": "bilinear" if x.ndim == 4 else "trilinear", "nearest": "nearest"}[interpolation]
    return F.interpolate(cam, size=tuple(x.shape[2:]), mode=mode)


def _windows(size: int, window: int, stride: int) -> list[slice]:
    """Captum's Occlusion positions: ceil((size - window) / stride) + 1 starts, last one truncated."""
    n = math.ceil((size - window) / stride) + 1
    return [slice(i * stride, min(i * stride + window, size)) for i in range(n)]


def _occlusion(model, x, target, *, baseline, window, stride, batch_size):
    import itertools

    import torch

    spatial = tuple(x.shape[2:])
    window = tuple(window) if window is not None else tuple(max(1, s // 8) for s in spatial)
    stride = tuple(stride) if stride is not None else tuple(max(1, w // 2) for w in window)
    if len(window) != len(spatial) or len(stride) != len(spatial) or any(
            not 0 < w <= s for w, s in zip(window, spatial)) or any(not 0 < st <= w for st, w in zip(stride, window)):
        raise ValueError(f"The 'window' and 'stride' parameters of saliency must give one size per spatial "
                         f"dimension with 0 < stride <= window <= image size {spatial}. "
                         f"Got window={window!r}, stride={stride!r} instead.")
    boxes = list(itertools.product(*[_windows(s, w, st) for s, w, st in zip(spatial, window, stride)]))
    out = []
    with torch.no_grad():
        for xi, bi in zip(x, baseline.expand_as(x)):
            ref = _select(model(xi[None]), target)[0]
            total, count = torch.zeros_like(xi[0]), torch.zeros_like(xi[0])
            for start in range(0, len(boxes), batch_size):
                chunk = boxes[start:start + batch_size]
                batch = xi[None].repeat(len(chunk), *([1] * xi.ndim))
                for k, box in enumerate(chunk):
                    batch[(k, slice(None)) + box] = bi[(slice(None),) + box]
                diff = ref - _select(model(batch), target)
                for k, box in enumerate(chunk):
                    total[box] += diff[k]
                    count[box] += 1
            out.append((total / count).expand_as(xi))
    return torch.stack(out)


def _to_tensor(image: xr.DataArray):
    """(N, C, *spatial) float tensor and the description of how to put dims back."""
    import torch

    spatial = [d for d in image.dims if d in SPATIAL]
    extra = [d for d in image.dims if d not in SPATIAL + ("case", "channel")]
    if extra or len(spatial) not in (2, 3) or tuple(image.dims[-len(spatial):]) != tuple(spatial):
        raise ValueError(f"The 'image' parameter of saliency must have dims ([case,] [channel,] [z,] y, x). "
                         f"Got {image.dims!r} instead.")
    arr = image.transpose(*[d for d in ("case", "channel") if d in image.dims], *spatial).values
    if "channel" not in image.dims:
        arr = np.expand_dims(arr, 1 if "case" in image.dims else 0)
    if "case" not in image.dims:
        arr = arr[None]
    return torch.as_tensor(np.ascontiguousarray(arr), dtype=torch.float32), spatial


def saliency(model, image: xr.DataArray, *, method: str = "gradcam", target: int | None = None,
             layer: str | None = None, baseline=0.0, n_steps: int = 32, integration: str = "gausslegendre",
             n_samples: int = 16, noise: float = 0.15, window=None, stride=None, interpolation: str = "linear",
             batch_size: int = 16, random_state: int = 0, device=None) -> xr.DataArray:
    """A saliency map of a CNN's output for an image, on the image's coordinates.

    Parameters
    ----------
    model : torch.nn.Module
        Takes (N, C, [Z,] Y, X) and returns logits (N, K). Set to eval mode while computing; restored after.
    image : DataArray with dims ([case,] [channel,] [z,] y, x)
        One case or several (``case``); a missing ``channel`` dim means one channel. Normalise it as the
        model was trained (e.g. with the fitted ``ChannelNormalizer``).
    method : {"gradient", "smoothgrad", "integrated_gradients", "guided_backprop", "gradcam",
              "guided_gradcam", "occlusion"}
        ``gradient``: d output / d input (signed). ``smoothgrad``: mean gradient over ``n_samples`` noisy
        copies, noise SD = ``noise`` x (max - min) of each image (Smilkov et al. 2017). ``integrated_gradients``:
        (x - baseline) x the path integral of the gradient, ``n_steps`` points of the ``integration`` rule
        (Sundararajan et al. 2017). ``guided_backprop``: gradient with negative gradients zeroed at every
        ``nn.ReLU`` module. ``gradcam``: ReLU of the gradient-weighted channel sum of ``layer``'s activations,
        upsampled to the image (Selvaraju et al. 2017); no channel dim. ``guided_gradcam``: guided backprop x
        Grad-CAM. ``occlusion``: output drop when a ``window`` box (all channels) is set to ``baseline``,
        averaged over the boxes covering each voxel, boxes every ``stride`` voxels (Zeiler & Fergus 2014).
    target : int, optional
        Output index; default 0 for single-logit models, else each case's arg-max.
    layer : str, optional
        Module name for Grad-CAM (default :func:`default_layer`).
    baseline : float or array broadcastable to the image
        Reference input for Integrated Gradients and occlusion (0 = the mean after z-scoring).
    interpolation : {"linear", "nearest"}
        Grad-CAM upsampling.
    window, stride : tuple of int, optional
        Occlusion box and step per spatial dim (default: 1/8 of each size, half a window).
    batch_size : int
        Inputs per forward pass (SmoothGrad samples, IG steps, occlusion boxes).
    random_state : int
        Seed of the SmoothGrad noise.
    device : torch device, optional (default: the model's)

    Returns
    -------
    DataArray
        The map with the image's dims, coords and attrs (no ``channel`` dim for Grad-CAM), plus attrs
        ``saliency_method``, ``target`` and ``layer``.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from radlab.dl import ResNet
    >>> net = ResNet(1, dim=2, widths=(4, 8))
    >>> img = xr.DataArray(np.random.rand(16, 16), dims=("y", "x"), coords={"y": np.arange(16) * 0.5})
    >>> m = saliency(net, img, method="gradcam")
    >>> m.dims, bool((m.y == img.y).all())
    (('y', 'x'), True)
    """
    import torch

    if method not in METHODS:
        raise ValueError(f"The 'method' parameter of saliency must be one of {METHODS}. Got {method!r} instead.")
    if integration not in INTEGRATION:
        raise ValueError(f"The 'integration' parameter of saliency must be one of {INTEGRATION}. "
                         f"Got {integration!r} instead.")
    if interpolation not in ("linear", "nearest"):
        raise ValueError(f"The 'interpolation' parameter of saliency must be 'linear' or 'nearest'. "
                         f"Got {interpolation!r} instead.")
    if not isinstance(image, xr.DataArray):
        raise TypeError(f"The 'image' parameter of saliency must be an xarray.DataArray. "
                        f"Got {type(image).__name__} instead.")
    x, spatial = _to_tensor(image)
    param = next(model.parameters())
    device = torch.device(device) if device is not None else param.device
    x = x.to(device=device, dtype=param.dtype)
    base = torch.as_tensor(np.asarray(baseline), dtype=param.dtype, device=device)
    if base.ndim:
        base = torch.broadcast_to(base.reshape((1,) * (x.ndim - base.ndim) + tuple(base.shape)), x.shape)
    was_training = model.training
    model.eval()
    try:
        if target is None and getattr(model, "config", {}).get("n_outputs") == 1:  # radlab ResNet: no forward
            target_t = torch.zeros(len(x), dtype=torch.long, device=device)
        elif target is None:
            with torch.no_grad():
                logits = model(x)
            target_t = torch.zeros(len(x), dtype=torch.long, device=device) if logits.shape[1] == 1 \
                else logits.argmax(1)
        else:
            target_t = torch.full((len(x),), int(target), dtype=torch.long, device=device)
        layer = layer or (default_layer(model) if method in ("gradcam", "guided_gradcam") else None)
        maps = []
        for i in range(len(x)):  # per case: keeps each case's own target
            xi, ti, bi = x[i:i + 1], target_t[i], base[i:i + 1] if base.ndim else base.expand(x[i:i + 1].shape)
            if method == "gradient":
                m = _gradient(model, xi, ti)
            elif method == "smoothgrad":
                m = _smoothgrad(model, xi, ti, n_samples=n_samples, noise=noise, random_state=random_state,
                                batch_size=batch_size)
            elif method == "integrated_gradients":
                m = _integrated_gradients(model, xi, ti, baseline=bi, n_steps=n_steps, integration=integration,
                                          batch_size=batch_size)
            elif method == "guided_backprop":
                m = _guided_backprop(model, xi, ti)
            elif method == "gradcam":
                m = _gradcam(model, xi, ti, layer=layer, interpolation=interpolation)
            elif method == "guided_gradcam":
                m = _guided_backprop(model, xi, ti) * _gradcam(model, xi, ti, layer=layer,
                                                               interpolation=interpolation)
            else:
                m = _occlusion(model, xi, ti, baseline=bi, window=window, stride=stride, batch_size=batch_size)
            maps.append(m.detach().cpu())
        arr = torch.cat(maps).numpy()
    finally:
        model.train(was_training)
    return _to_dataarray(arr, image, spatial, method, target_t.cpu().numpy(), layer)


def _to_dataarray(arr, image, spatial, method, targets, layer) -> xr.DataArray:
    keep_channel = method != "gradcam" and "channel" in image.dims
    if not keep_channel:
        arr = arr[:, 0]
    if "case" not in image.dims:
        arr = arr[0]
    dims = [d for d in ("case",) if d in image.dims] + (["channel"] if keep_channel else []) + spatial
    coords = {k: v for k, v in image.coords.items() if set(v.dims) <= set(dims)}
    attrs = dict(image.attrs, saliency_method=method, layer=layer or "",
                 target=int(targets[0]) if len(set(targets.tolist())) == 1 else targets.tolist())
    return xr.DataArray(arr, dims=dims, coords=coords, attrs=attrs, name=f"saliency_{method}")
