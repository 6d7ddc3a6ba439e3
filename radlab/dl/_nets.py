"""Small ResNet-style CNNs for 2D slices and 3D boxes, and saving/loading their weights."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

__all__ = ["ResNet", "save_model", "load_model", "default_device"]


def default_device() -> torch.device:
    """CUDA when available, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _layers(dim: int):
    if dim not in (2, 3):
        raise ValueError(f"The 'dim' parameter of ResNet must be 2 or 3. Got {dim!r} instead.")
    return (nn.Conv2d, nn.BatchNorm2d, nn.AdaptiveAvgPool2d) if dim == 2 else \
        (nn.Conv3d, nn.BatchNorm3d, nn.AdaptiveAvgPool3d)


class BasicBlock(nn.Module):
    """conv-BN-ReLU-conv-BN plus a (projected) shortcut, then ReLU. Each ReLU is its own module, so
    guided backpropagation can hook every one of them."""

    def __init__(self, c_in: int, c_out: int, *, stride: int, dim: int):
        super().__init__()
        conv, bn, _ = _layers(dim)
        self.conv1 = conv(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = bn(c_out)
        self.relu1 = nn.ReLU()
        self.conv2 = conv(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = bn(c_out)
        self.shortcut = nn.Identity() if stride == 1 and c_in == c_out else nn.Sequential(
            conv(c_in, c_out, 1, stride=stride, bias=False), bn(c_out))
        self.relu2 = nn.ReLU()

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        return self.relu2(out + self.shortcut(x))


class ResNet(nn.Module):
    """A small ResNet for 2D slices (``dim=2``) or 3D boxes (``dim=3``).

    Layout: ``stem`` (conv 3 with stride ``stem_stride``, BN, ReLU) -> ``layer1`` .. ``layerK`` (one basic
    block each; every layer after the first halves the size) -> ``pool`` (global average) -> ``dropout`` -> ``fc`` (``n_outputs`` logits).
    Grad-CAM's usual layer is the last block, ``layerK``; deep features come from ``pool``.

    Parameters
    ----------
    in_channels : int
        Number of sequences (channels).
    dim : {2, 3}
    widths : tuple of int
        Channels of each layer.
    n_outputs : int
        1 for a binary classifier (a logit; train with BCE).
    dropout : float
    stem_stride : int
        2 halves the size in the stem (as in standard ResNets): about 8x less work in 3D for large volumes.

    Examples
    --------
    >>> import torch
    >>> net = ResNet(2, dim=3, widths=(4, 8))
    >>> net(torch.zeros(1, 2, 8, 16, 16)).shape
    torch.Size([1, 1])
    """

    def __init__(self, in_channels: int = 1, *, dim: int = 3, widths: tuple[int, ...] = (16, 32, 64),
                 n_outputs: int = 1, dropout: float = 0.0, stem_stride: int = 1):
        super().__init__()
        conv, bn, pool = _layers(dim)
        self.config = dict(in_channels=in_channels, dim=dim, widths=tuple(widths), n_outputs=n_outputs,
                           dropout=dropout, stem_stride=stem_stride)
        self.dim = dim
        self.stem = nn.Sequential(conv(in_channels, widths[0], 3, stride=stem_stride, padding=1,
                                       bias=False), bn(widths[0]), nn.ReLU())
        c = widths[0]
        for i, w in enumerate(widths, start=1):
            self.add_module(f"layer{i}", BasicBlock(c, w, stride=1 if i == 1 else 2, dim=dim))
            c = w
        self.n_layers = len(widths)
        self.pool = nn.Sequential(pool(1), nn.Flatten())
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(c, n_outputs)

    def forward(self, x):
        x = self.stem(x)
        for i in range(1, self.n_layers + 1):
            x = getattr(self, f"layer{i}")(x)
        return self.fc(self.dropout(self.pool(x)))


def save_model(model: ResNet, path: str | Path) -> None:
    """Save a :class:`ResNet`'s configuration and weights to one file (``torch.save``)."""
    torch.save({"config": model.config, "state_dict": model.state_dict()}, path)


def load_model(path: str | Path, *, map_location=None) -> ResNet:
    """Rebuild a :class:`ResNet` from a file written by :func:`save_model` (weights only, nothing downloaded).

    Examples
    --------
    >>> import tempfile, os
    >>> net = ResNet(1, dim=2, widths=(4,))
    >>> path = os.path.join(tempfile.mkdtemp(), "net.pt")
    >>> save_model(net, path)
    >>> load_model(path).config["widths"]
    (4,)
    """
    blob = torch.load(path, map_location=map_location or "cpu", weights_only=True)
    config = dict(blob["config"])
    config["widths"] = tuple(config["widths"])
    model = ResNet(**config)
    model.load_state_dict(blob["state_dict"])
    return model
