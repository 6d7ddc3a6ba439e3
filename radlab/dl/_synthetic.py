"""A synthetic cohort grid whose signal location is known: for tests, benchmarks and teaching."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

__all__ = ["synthetic_grid"]


def synthetic_grid(n_cases: int = 120, *, shape: tuple[int, int, int] = (32, 32, 32), n_channels: int = 2,
                   radius: float = 4.0, contrast: float = 1.5, random_state: int = 0):
    """Cohort-grid-shaped data with a known signal: ``(grid, mask, labels)``.

    Every case has a spherical "tumour" (the ``mask``) at a random position and, in channel 1 when there is
    one, a label-independent bright distractor sphere elsewhere. In class-1 cases (half of them) the tumour is
    ``contrast`` brighter in channel 0 than in class-0 cases; the rest is Gaussian noise (SD 1). So the label
    lives inside the mask, in channel 0 only.

    Returns
    -------
    grid : DataArray (case, channel, z, y, x), float32, coords in mm (1 mm voxels, centred)
    mask : DataArray (case, z, y, x), uint8
    labels : Series (case id -> 0/1)

    Examples
    --------
    >>> grid, mask, labels = synthetic_grid(4, shape=(1, 16, 16))
    >>> grid.dims, grid.shape, int(labels.sum())
    (('case', 'channel', 'z', 'y', 'x'), (4, 2, 1, 16, 16), 2)
    """
    rng = np.random.default_rng(random_state)
    shape = tuple(int(s) for s in shape)
    cases = [f"case{i:03d}" for i in range(n_cases)]
    labels = pd.Series(np.arange(n_cases) % 2, index=cases, name="label")
    labels[:] = rng.permutation(labels.to_numpy())
    idx = np.indices(shape).astype(np.float32)
    data = rng.normal(size=(n_cases, n_channels) + shape).astype(np.float32)
    masks = np.zeros((n_cases,) + shape, np.uint8)

    def sphere(centre):
        d2 = sum((idx[k] - centre[k]) ** 2 for k in range(3) if shape[k] > 1)
        return d2 <= radius ** 2

    def centre():
        return [rng.uniform(radius, s - 1 - radius) if s > 2 * radius + 1 else (s - 1) / 2 for s in shape]

    for i in range(n_cases):
        tumour = sphere(centre())
        masks[i] = tumour
        data[i, 0][tumour] += 0.5 + contrast * labels.iloc[i]
        if n_channels > 1:
            data[i, 1][sphere(centre())] += 2.0
    coords = {"case": cases, "channel": [f"seq{c}" for c in range(n_channels)]}
    coords |= {d: (np.arange(s) - (s - 1) / 2).astype(float) for d, s in zip("zyx", shape)}
    grid = xr.DataArray(data, dims=("case", "channel", "z", "y", "x"), coords=coords, name="synthetic")
    mask = xr.DataArray(masks, dims=("case", "z", "y", "x"), coords={k: v for k, v in coords.items()
                                                                     if k != "channel"}, name="tumour")
    return grid, mask, labels
