"""Fixtures for feature tests: the pyradiomics sample cases (extracted from the pyradiomics 3.0.1 sdist if the
data folder lacks them) and small in-memory cases."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

REPO = Path(__file__).resolve().parents[2]
GEO = {"spacing": (1.0, 1.0, 2.0), "origin": (0.0, 0.0, 0.0), "direction": (1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0)}


@pytest.fixture(scope="session")
def pyradiomics_samples() -> Path:
    """``<repo>/data/pyradiomics-samples`` (brain1 ... lung2 image/label NRRD and baseline/*.csv)."""
    from radlab.datasets import fetch_pyradiomics_samples

    root = Path(os.environ.get("RADLAB_DATA", REPO / "data")) / "pyradiomics-samples"
    return fetch_pyradiomics_samples(root)


@pytest.fixture(scope="session")
def sample_case(pyradiomics_samples):
    """``sample_case("brain1")``: a pyradiomics sample case as a Dataset."""
    return lambda case: _sample_case(pyradiomics_samples, case)


@pytest.fixture(scope="session")
def synthetic_case():
    """``synthetic_case(seed, ...)``: a tiny in-memory case."""
    return _synthetic_case


def _sample_case(root: Path, case: str) -> xr.Dataset:
    """A sample case as the cohort contract gives it (read eagerly, with source attrs)."""
    import SimpleITK as sitk

    from radlab.io import from_sitk

    image = from_sitk(sitk.ReadImage(str(root / f"{case}_image.nrrd")), name="image", role="image",
                      source=str(root / f"{case}_image.nrrd"))
    mask = from_sitk(sitk.ReadImage(str(root / f"{case}_label.nrrd")), name="label", role="mask",
                     source=str(root / f"{case}_label.nrrd"))
    mask.attrs["image"] = "image"
    return xr.Dataset({"image": image, "label": mask.assign_coords(image.coords)})


def _synthetic_case(seed: int, *, size: int = 12, radius: float = 3.5, two_sequences: bool = False) -> xr.Dataset:
    """A tiny noisy image with a spherical tumour mask (and optionally a second sequence)."""
    rng = np.random.default_rng(seed)
    z, y, x = np.mgrid[:size // 2, :size, :size]
    ball = ((x - size / 2) ** 2 + (y - size / 2) ** 2 + (2 * (z - size / 4)) ** 2) < radius**2
    variables = {}
    names = ("T2w", "ADC") if two_sequences else ("T2w",)
    for k, name in enumerate(names):
        img = (100 + 40 * ball * (1 + k) + rng.normal(0, 10, ball.shape)).astype(np.float32)
        variables[name] = (("z", "y", "x"), img, {"role": "image", **GEO})
    variables["tumour"] = (("z", "y", "x"), ball.astype(np.uint8), {"role": "mask", "image": "T2w", **GEO})
    return xr.Dataset(variables)
