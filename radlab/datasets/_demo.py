"""A synthetic multicentre rectal-cancer-style MRI cohort with a known ground truth.

Every case has a latent tumour *aggressiveness* ``z`` ~ N(0, 1). It drives, through the images,
the outcomes:

- tumour volume grows and its surface grows more irregular with ``z`` (shape features);
- T2w texture inside the tumour grows more heterogeneous with ``z`` (texture features);
- ADC inside the tumour falls with ``z`` (cellularity; first-order ADC features);
- after treatment, responders' tumours shrink and their ADC rises (delta features).

Outcomes: a pCR-like binary response (less likely with high ``z``), a binary grade (high with high
``z``), and overall survival (hazard grows with ``z``, T stage and CEA) with censoring. Clinical
variables (age, sex, T/N stage, CEA) are partly prognostic.

Four centres differ in voxel spacing, intensity scale and offset, noise, blur and a bias field: centres
A-C train, centre D is external. ``ground_truth.json`` records which signal lives where and each case's
latent values, so tests and teaching can check that methods recover it and that harmonisation removes
the centre effect.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk
from scipy import ndimage

__all__ = ["CENTRES", "make_demo_cohort"]


@dataclass(frozen=True)
class Centre:
    name: str
    vendor: str
    model: str
    field_strength: float
    spacing: tuple[float, float, float]  # x, y, z in mm
    scale: float  # intensity gain
    offset: float
    noise: float  # noise SD relative to tissue contrast
    blur: float  # mm
    bias: float  # bias-field amplitude
    tr: float  # ms
    te: float  # ms
    split: str


CENTRES = (
    Centre("A", "SIEMENS", "Aera", 1.5, (1.25, 1.25, 4.0), 1000.0, 100.0, 0.04, 0.0, 0.10, 4000.0, 95.0, "train"),
    Centre("B", "Philips", "Ingenia", 3.0, (1.0, 1.0, 3.0), 2400.0, 0.0, 0.06, 0.8, 0.25, 3500.0, 110.0, "train"),
    Centre("C", "GE", "Signa HDxt", 1.5, (1.5, 1.5, 5.0), 600.0, 300.0, 0.08, 1.2, 0.15, 4800.0, 85.0, "train"),
    Centre("D", "SIEMENS", "Skyra", 3.0, (1.1, 1.1, 3.5), 1500.0, 50.0, 0.05, 0.5, 0.30, 3800.0, 100.0, "external"),
)
FOV = (120.0, 120.0, 72.0)  # mm, x y z

GROUND_TRUTH = {
    "latent": "aggressiveness z ~ N(0, 1) per case",
    "signal": {
        "shape": "tumour volume ~ exp(0.35 z); surface irregularity grows with z (sphericity falls)",
        "T2w_texture": "heterogeneity (GLCM contrast / entropy-type features inside the tumour) grows with z",
        "ADC_intensity": "mean ADC inside the tumour falls with z (1.3 - 0.22 z, x1e-3 mm2/s)",
        "response": "post-treatment volume shrinks and ADC rises with a response fraction drawn U(0.35, 1) for pCR and U(0, 0.6) otherwise (overlapping)",
    },
    "outcomes": {
        "pcr": "logit P(pCR) = -0.6 - 1.3 z - 0.3 (t_stage - 3)",
        "grade_high": "z + N(0, 0.6) > 0.4",
        "os": "Weibull(shape 1.3), log-hazard 0.8 z + 0.35 (t_stage - 3) + 0.3 log(CEA / 5); admin censoring at 60 months",
    },
    # regular expressions over radlab feature names (<image>__<mask>__<feature>) that carry the signal
    "signal_features": {
        "shape": r"__original_shape_",
        "ADC_intensity": r"^ADC_(pre|post)__[^_]+_(pre|post)__original_firstorder_",
        "T2w_texture": r"^T2w_(pre|post)__[^_]+_(pre|post)__original_(glcm|glrlm|glszm|gldm|ngtdm)_",
    },
    "clinical": {"t_stage": "correlated with z", "cea": "log-normal, correlated with z", "age/sex": "noise"},
    "batch": "centre-specific spacing, intensity scale/offset, noise, blur and bias field (see centres)",
}


def _tumour(rng, z, response: float, centre_xyz, coords):
    """Signed-distance-like field of an irregular ellipsoid; < 0 inside."""
    x, y, zz = coords
    radius = 11.0 * np.exp(0.35 * z / 3) * (1.0 - 0.55 * response)
    axes = radius * np.array([1.0, rng.uniform(0.7, 1.0), rng.uniform(0.8, 1.3)])
    dx, dy, dz = (x - centre_xyz[0]) / axes[0], (y - centre_xyz[1]) / axes[1], (zz - centre_xyz[2]) / axes[2]
    r = np.sqrt(dx**2 + dy**2 + dz**2) + 1e-9
    theta, phi = np.arccos(np.clip(dz / r, -1, 1)), np.arctan2(dy, dx)
    irregular = 0.06 + 0.06 * (1 / (1 + np.exp(-1.5 * z)))
    lobes = sum(rng.normal(0, irregular) * np.cos(k * phi + rng.uniform(0, 6.3)) * np.sin(theta) ** (k % 2 + 1)
                for k in (2, 3, 5))
    return r - (1.0 + lobes)


def _render(rng, centre: Centre, case_params: dict, sequence: str, response: float, texture_seed: int):
    sx, sy, sz = centre.spacing
    shape_zyx = tuple(int(round(f / s)) for f, s in zip(FOV[::-1], (sz, sy, sx)))
    origin = (-FOV[0] / 2, -FOV[1] / 2, -FOV[2] / 2)
    zc, yc, xc = (origin[2] + sz * np.arange(shape_zyx[0]), origin[1] + sy * np.arange(shape_zyx[1]),
                  origin[0] + sx * np.arange(shape_zyx[2]))
    coords = np.meshgrid(xc, yc, zc, indexing="xy")  # arrays shaped (y, x, z)
    coords = [c.transpose(2, 0, 1) for c in coords]  # -> (z, y, x)
    x, y, zz = coords
    body = (x / 55.0) ** 2 + (y / 42.0) ** 2 < 1.0
    tumour = _tumour(np.random.default_rng(case_params["shape_seed"]), case_params["z"], response,
                     case_params["position"], coords) < 0
    trng = np.random.default_rng(texture_seed)
    # texture defined in mm so it is the same tissue whatever the voxel size
    field = ndimage.gaussian_filter(trng.normal(size=shape_zyx), sigma=(1.2 / sz * 2, 1.2 / sy * 2, 1.2 / sx * 2))
    field /= field.std() + 1e-9
    zlat = case_params["z"]
    if sequence == "T2w":
        tissue = 0.35 + 0.05 * np.sin(x / 9.0) * np.cos(y / 11.0)
        heterogeneity = 0.04 + 0.10 / (1 + np.exp(-1.2 * zlat))
        lesion = 0.62 + heterogeneity * field + 0.05 * response
    else:  # ADC-like, x1e-3 mm2/s scaled to [0, ~2]
        tissue = 0.9 + 0.03 * np.cos(x / 13.0)
        lesion = 1.3 - 0.22 * zlat + 0.45 * response + 0.05 * field
    image = np.where(body, tissue, 0.05)
    image = np.where(tumour, lesion, image)
    if centre.blur > 0:
        image = ndimage.gaussian_filter(image, sigma=(centre.blur / sz, centre.blur / sy, centre.blur / sx))
    bias = 1.0 + centre.bias * (x / 60.0) + 0.5 * centre.bias * (y / 60.0) ** 2
    image = image * bias + centre.noise * rng.normal(size=shape_zyx)
    image = np.clip(image * centre.scale + centre.offset, 0, None).astype(np.float32)
    return image, tumour.astype(np.uint8), (sx, sy, sz), origin


def _write(array, spacing, origin, path: Path):
    img = sitk.GetImageFromArray(array)
    img.SetSpacing(spacing)
    img.SetOrigin(origin)
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(img, str(path), useCompression=True)


def _clinical(rng, n: int, n_external: int) -> pd.DataFrame:
    z = rng.normal(size=n)
    centres = np.concatenate([rng.choice(3, size=n - n_external), np.full(n_external, 3)])
    t_stage = np.clip(np.round(3 + 0.6 * z + rng.normal(0, 0.6, n)), 2, 4).astype(int)
    n_stage = np.clip(np.round(0.8 + 0.4 * z + rng.normal(0, 0.7, n)), 0, 2).astype(int)
    cea = np.exp(np.log(5.0) + 0.5 * z + rng.normal(0, 0.6, n))
    pcr = rng.random(n) < 1 / (1 + np.exp(-(-0.6 - 1.3 * z - 0.3 * (t_stage - 3))))
    grade = (z + rng.normal(0, 0.6, n)) > 0.4
    log_hazard = 0.8 * z + 0.35 * (t_stage - 3) + 0.3 * np.log(cea / 5.0)
    times = 48.0 * (-np.log(rng.random(n)) / np.exp(log_hazard)) ** (1 / 1.3)
    follow_up = rng.uniform(12, 60, n)
    return pd.DataFrame({
        "case_id": [f"{CENTRES[c].name}{i:04d}" for i, c in enumerate(centres)],
        "centre": [CENTRES[c].name for c in centres],
        "scanner": [f"{CENTRES[c].vendor} {CENTRES[c].model}" for c in centres],
        "field_strength": [CENTRES[c].field_strength for c in centres],
        "split": [CENTRES[c].split for c in centres],
        "age": np.round(rng.normal(63, 10, n), 0),
        "sex": rng.choice(["F", "M"], n, p=[0.4, 0.6]),
        "t_stage": t_stage, "n_stage": n_stage, "cea": np.round(cea, 2),
        "pcr": pcr.astype(int), "grade_high": grade.astype(int),
        "os_months": np.round(np.minimum(times, follow_up), 2), "os_event": (times <= follow_up).astype(int),
        "_z": z, "_response": pcr * rng.uniform(0.35, 1.0, n) + (~pcr) * rng.uniform(0.0, 0.6, n),
    })


def make_demo_cohort(path: str | Path, *, n_cases: int = 150, seed: int = 0, n_external: int | None = None,
                     n_dicom: int = 3, progress: bool = True) -> Path:
    """Write the synthetic demo cohort to ``path`` and return it.

    Writes ``images/<case>/{T2w,ADC}_{pre,post}.nii.gz`` with BIDS-style JSON sidecars,
    ``masks/<case>/tumour_{pre,post}.nii.gz``, ``clinical.csv``, ``ground_truth.json`` and, for the
    first ``n_dicom`` cases, ``dicom/<case>/`` with the pre-treatment T2w as a DICOM series, the
    tumour as an RTSTRUCT and as a DICOM SEG (``dicom/clinical.csv`` lists those cases).
    Deterministic for a given seed.

    Examples
    --------
    >>> import tempfile, radlab.datasets as ds
    >>> root = ds.make_demo_cohort(tempfile.mkdtemp(), n_cases=4, n_external=1, n_dicom=0, progress=False)
    >>> len(list((root / "images").iterdir())), sorted(set(__import__("pandas").read_csv(root / "clinical.csv").split))
    (4, ['external', 'train'])
    """
    from tqdm.auto import tqdm

    root = Path(path)
    rng = np.random.default_rng(seed)
    n_external = max(1, n_cases // 5) if n_external is None else n_external
    clinical = _clinical(rng, n_cases, n_external)
    truth = {**GROUND_TRUTH, "seed": seed, "centres": [asdict(c) for c in CENTRES], "cases": {}}
    centre_by_name = {c.name: c for c in CENTRES}
    for i, row in tqdm(list(clinical.iterrows()), desc="demo cohort", disable=not progress):
        case, centre = row.case_id, centre_by_name[row.centre]
        crng = np.random.default_rng([seed, i])
        params = {"z": float(row._z), "shape_seed": int(crng.integers(2**31)),
                  "position": (float(crng.uniform(-15, 15)), float(crng.uniform(-10, 10)), float(crng.uniform(-8, 8)))}
        for tp, response in (("pre", 0.0), ("post", float(row._response))):
            for seq in ("T2w", "ADC"):
                image, mask, spacing, origin = _render(crng, centre, params, seq, response, texture_seed=params["shape_seed"] + 1)
                _write(image, spacing, origin, root / "images" / case / f"{seq}_{tp}.nii.gz")
                sidecar = {"Manufacturer": centre.vendor, "ManufacturerModelName": centre.model,
                           "MagneticFieldStrength": centre.field_strength, "SliceThickness": spacing[2],
                           "RepetitionTime": centre.tr / 1000.0, "EchoTime": centre.te / 1000.0}
                (root / "images" / case / f"{seq}_{tp}.json").write_text(json.dumps(sidecar, indent=1))
            _write(mask, spacing, origin, root / "masks" / case / f"tumour_{tp}.nii.gz")
        truth["cases"][case] = {"z": params["z"], "response": float(row._response)}
    clinical.drop(columns=["_z", "_response"]).to_csv(root / "clinical.csv", index=False)
    (root / "ground_truth.json").write_text(json.dumps(truth, indent=1))
    if n_dicom:
        from radlab.datasets._dicom import write_dicom_case

        dicom_ids = list(clinical.case_id[:n_dicom])
        for case in dicom_ids:
            write_dicom_case(root / "images" / case / "T2w_pre.nii.gz", root / "masks" / case / "tumour_pre.nii.gz",
                             root / "images" / case / "T2w_pre.json", root / "dicom" / case, patient_id=case)
        clinical[clinical.case_id.isin(dicom_ids)].drop(columns=["_z", "_response"]).to_csv(
            root / "dicom" / "clinical.csv", index=False)
    return root
