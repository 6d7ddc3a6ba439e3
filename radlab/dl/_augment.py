"""Batch augmentation on the device: random flips, in-plane rotation and zoom (one affine resampling)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["Augment"]


class Augment:
    """Random in-plane flips, rotation and zoom applied to a batch (N, C, [Z,] Y, X) in one resampling.

    Rotation is about the slice normal (in the y-x plane), as is usual for thick-slice MRI/CT; zoom is
    isotropic. Voxels pulled from outside the image are 0 (the mean after z-score normalisation).

    Parameters
    ----------
    flip : bool
        Flip x and y independently with probability 1/2.
    rotate : float
        Maximum rotation angle in degrees (uniform in [-rotate, rotate]).
    zoom : (float, float)
        Range of the zoom factor (uniform); > 1 magnifies.

    Examples
    --------
    >>> import torch
    >>> x = torch.rand(4, 2, 8, 16, 16)
    >>> Augment(flip=True, rotate=15, zoom=(0.9, 1.1))(x, torch.Generator().manual_seed(0)).shape
    torch.Size([4, 2, 8, 16, 16])
    """

    def __init__(self, *, flip: bool = True, rotate: float = 15.0, zoom: tuple[float, float] = (0.9, 1.1)):
        if rotate < 0:
            raise ValueError(f"The 'rotate' parameter of Augment must be >= 0. Got {rotate!r} instead.")
        if not (0 < zoom[0] <= zoom[1]):
            raise ValueError(f"The 'zoom' parameter of Augment must be (low, high) with 0 < low <= high. "
                             f"Got {zoom!r} instead.")
        self.flip, self.rotate, self.zoom = flip, rotate, tuple(zoom)

    def __repr__(self) -> str:
        return f"Augment(flip={self.flip}, rotate={self.rotate}, zoom={self.zoom})"

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        n, spatial = x.shape[0], x.ndim - 2

        def uniform(lo, hi):
            return lo + (hi - lo) * torch.rand(n, generator=generator)

        angle = uniform(-self.rotate, self.rotate) * math.pi / 180
        scale = 1.0 / uniform(*self.zoom)
        sx = sy = torch.ones(n)
        if self.flip:
            sx = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
            sy = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
        theta = torch.zeros(n, spatial, spatial + 1)
        # affine_grid's coordinate order is (x, y[, z]); rotation and flips act on x and y.
        cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
        theta[:, 0, 0], theta[:, 0, 1] = cos * sx, -sin * sy
        theta[:, 1, 0], theta[:, 1, 1] = sin * sx, cos * sy
        if spatial == 3:
            theta[:, 2, 2] = 1.0
        theta = theta.to(device=x.device, dtype=x.dtype)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
