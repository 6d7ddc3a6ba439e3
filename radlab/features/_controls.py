"""Negative controls for radiomic signatures, as READII defines them (BHK Lab, github.com/bhklab/readii).

A negative control is a copy of a case whose image information is destroyed while its ROI is kept: a
signature that still predicts the outcome from such images learns something other than the image (tumour
shape or volume, which every control keeps, or an artefact of the pipeline). READII's controls permute the
voxels of a region of each image: ``<how>_<where>`` with ``how`` in

- ``shuffled``: the region's voxels permuted (its histogram kept exactly, the spatial structure destroyed);
- ``randomized_sampled``: each voxel drawn, with replacement, from the region's own values (the same
  histogram in expectation: a random image with that histogram);
- ``randomized``: each voxel drawn uniformly between the region's minimum and maximum;

and ``where`` in ``roi`` (inside the ROI: first-order features of the ROI survive the first two),
``non_roi`` (outside it: checks that the signature does not lean on the surroundings) and ``full`` (the whole
image: the ROI is then filled with the image's overall intensities). ``moved_roi`` moves the ROI to a random
place on non-tumour tissue of the same image (same shape, the image unchanged).

Every control is deterministic given its seed, and lazy: the perturbed variables are dask arrays computed
where the features are extracted.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from radlab.errors import InputError

__all__ = ["CONTROLS", "NegativeControls", "negative_control", "negative_controls", "run_negative_controls"]

_HOW = ("shuffled", "randomized_sampled", "randomized")
_WHERE = ("roi", "non_roi", "full")
_PARTS = {f"{how}_{where}": (how, where) for how in _HOW for where in _WHERE}
CONTROLS = (*_PARTS, "moved_roi")
# in every control's provenance, hence in the feature cache key: changed control code never reuses old features
_CODE = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]


def _check(control: str) -> str:
    if control not in CONTROLS:
        raise InputError(f"Unknown negative control {control!r}: choose from {list(CONTROLS)}.")
    return control


def _permuted(image: np.ndarray, roi: np.ndarray, control: str, seed) -> np.ndarray:
    """``image`` with the voxels of the control's region permuted or redrawn (READII's definitions)."""
    how, where = _PARTS[control]
    region = {"roi": roi, "non_roi": ~roi, "full": np.ones_like(roi)}[where]
    rng = np.random.default_rng(seed)
    values = image[region]
    if how == "shuffled":
        new = rng.permutation(values)
    elif how == "randomized_sampled":
        new = rng.choice(values, size=values.size, replace=True)
    elif np.issubdtype(image.dtype, np.integer):
        new = rng.integers(values.min(), values.max(), endpoint=True, size=values.size)
    else:
        new = rng.uniform(values.min(), values.max(), size=values.size)
    out = image.copy()
    out[region] = new.astype(image.dtype)
    return out


def _moved(mask: np.ndarray, image: np.ndarray, seed, *, margin: int = 2, on_tissue: float = 0.95) -> np.ndarray:
    """``mask`` translated in-plane to a random position (seeded, uniform over the valid ones on a grid of
    shifts) where the moved ROI lies inside the image, its bounding box at least ``margin`` voxels clear of
    the ROI's, and a fraction ``on_tissue`` of its voxels (of up to 4096 probed) on tissue: intensity above
    the image's Otsu threshold (noise puts a few tissue voxels below it)."""
    from skimage.filters import threshold_otsu

    rng = np.random.default_rng(seed)
    zz, yy, xx = np.nonzero(mask > 0)
    if not len(zz):
        raise InputError("moved_roi: the mask is empty, so there is no ROI to move.")
    probe = rng.choice(len(zz), size=min(len(zz), 4096), replace=False)
    pz, py, px = zz[probe], yy[probe], xx[probe]
    tissue = image > threshold_otsu(image)
    (y0, y1), (x0, x1), (ny, nx) = (yy.min(), yy.max()), (xx.min(), xx.max()), image.shape[1:]
    step = max(2, max(ny, nx) // 96)
    valid = [(dy, dx) for dy in range(-y0, ny - y1, step) for dx in range(-x0, nx - x1, step)
             if (abs(dy) > y1 - y0 + margin or abs(dx) > x1 - x0 + margin)
             and tissue[pz, py + dy, px + dx].mean() >= on_tissue]
    if not valid:
        raise InputError("moved_roi: no in-plane position puts the ROI on tissue away from the tumour (the ROI is "
                         "too large for the image's tissue); use another control for this case.")
    dy, dx = valid[rng.integers(len(valid))]
    out = np.zeros_like(mask)
    out[zz, yy + dy, xx + dx] = mask[zz, yy, xx]
    return out


def _delayed(fn):
    import dask

    return dask.delayed(fn, pure=True)


def _lazy(fn, like: xr.DataArray, *args) -> xr.DataArray:
    """``fn(*args)`` as a lazy variable shaped and typed like ``like`` (its attributes kept)."""
    import dask.array as da

    return like.copy(data=da.from_delayed(_delayed(fn)(*args), shape=like.shape, dtype=like.dtype))


def _union(*masks) -> np.ndarray:
    return np.logical_or.reduce([np.asarray(m) > 0 for m in masks])


def negative_control(ds: xr.Dataset, control: str, *, seed=0, pairs=None) -> xr.Dataset:
    """A negative-control copy of one case (a Dataset as :meth:`radlab.cohort.Cohort.case` gives).

    Each image of the case's (image, mask) pairs (see :func:`radlab.features.extract`'s ``pairs``) gets the
    control over the union of its masks (``<how>_<where>``: see the module), or, for ``moved_roi``, each
    mask is moved onto tissue of its own image. Masks, geometry and the other variables are unchanged; the
    perturbed variables are lazy and record the control in their ``provenance``. ``seed`` (an int or a
    sequence of ints) makes the copy deterministic; each variable draws from its own stream.

    Examples
    --------
    >>> geo = {"spacing": (1.0, 1.0, 1.0), "origin": (0.0, 0.0, 0.0), "direction": (1, 0, 0, 0, 1, 0, 0, 0, 1)}
    >>> img = np.arange(64, dtype=np.float32).reshape(1, 8, 8)
    >>> msk = np.zeros((1, 8, 8), np.uint8); msk[0, 2:4, 2:4] = 1
    >>> ds = xr.Dataset({"CT": (("z", "y", "x"), img, {"role": "image", **geo}),
    ...                  "GTV": (("z", "y", "x"), msk, {"role": "mask", "image": "CT", **geo})})
    >>> out = negative_control(ds, "shuffled_roi", seed=0)["CT"].values
    >>> bool((out[msk == 0] == img[msk == 0]).all()), sorted(out[msk == 1]) == sorted(img[msk == 1])
    (True, True)
    """
    from radlab.features._case import case_pairs

    _check(control)
    seeds = list(np.atleast_1d(seed).astype(np.int64))
    pairs = case_pairs(ds, pairs)
    out = ds.copy()
    step = {"step": "negative_control", "control": control, "seed": [int(s) for s in seeds], "code": _CODE}
    if control == "moved_roi":
        changed = {}
        for mask in dict.fromkeys(m for _, m in pairs):
            own = ds[mask].attrs.get("image") or next(i for i, m in pairs if m == mask)
            stream = [*seeds, zlib.crc32(mask.encode())]
            changed[mask] = _lazy(_moved, ds[mask], ds[mask].data, ds[own].data, stream)
    else:
        images: dict[str, list[str]] = {}
        for image, mask in pairs:
            images.setdefault(image, []).append(mask)
        changed = {image: _lazy(_permuted, ds[image], ds[image].data, _delayed(_union)(*(ds[m].data for m in masks)),
                                control, [*seeds, zlib.crc32(image.encode())])
                   for image, masks in images.items()}
    for var, arr in changed.items():
        arr.attrs["provenance"] = [*ds[var].attrs.get("provenance", []), step]
        out[var] = arr
    return out


def negative_controls(cohort, control: str, *, seed: int = 0, ids=None, pairs=None) -> Iterator[tuple[str, object]]:
    """(case id, control copy) for every case of a cohort (or iterable of (case, Dataset)), one at a time.

    Each case's copy is seeded by ``seed`` and its id, so a case gets the same control whatever cohort it is
    in. Cases that cannot be opened or controlled come back as their exception, anything else as it is
    (``extract`` reports them and completes the others).
    """
    from radlab.features._extract import _cases

    _check(control)
    for case, ds in _cases(cohort, ids):
        if isinstance(ds, xr.Dataset):
            try:
                ds = negative_control(ds, control, seed=(seed, zlib.crc32(case.encode())), pairs=pairs)
            except Exception as exc:  # noqa: BLE001  (reported as that case's error row)
                ds = exc
        yield case, ds


@dataclass
class NegativeControls:
    """Result of :func:`run_negative_controls`.

    ``table``: one row per feature set (``"original"`` first, then each control): ``auc`` (pooled out-of-fold,
    one score per case averaged over repeats), ``ci_lower``/``ci_upper`` (DeLong), ``chance_in_ci`` (the CI
    contains 0.5), ``n_cases``, ``n_features``; ``workflows``: control -> its :class:`WorkflowResult`.
    """

    table: pd.DataFrame
    workflows: dict = field(repr=False, default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """The per-control table (a copy)."""
        return self.table.copy()


def _oof_auc(result, confidence_level: float) -> dict:
    from radlab.evaluation import RocCurve

    test = result.predictions[result.predictions.split == "test"]
    per_case = test.groupby("case").agg(score=("score", "mean"), label=("label", "first"))
    roc = RocCurve.from_predictions(per_case.label.astype(int), per_case.score, n_bootstraps=0,
                                    confidence_level=confidence_level)
    lo, hi = roc.ci_delong
    return {"auc": float(roc.auc), "ci_lower": float(lo), "ci_upper": float(hi), "chance_in_ci": bool(lo <= 0.5 <= hi),
            "n_cases": len(per_case)}


def run_negative_controls(cohort, clinical: pd.DataFrame, *, outcome: str, params="demo",
                          controls: Sequence[str] = ("shuffled_roi", "randomized_sampled_full", "moved_roi"),
                          seed: int = 0, ids=None, pairs=None, include: str | None = None,
                          exclude: str | None = r"_shape_",
                          features: pd.DataFrame | None = None, confidence_level: float = 0.95,
                          scheduler=None, cache=None, n_workers: int | None = None, progress: bool = False,
                          **workflow) -> NegativeControls:
    """Rerun a validated workflow on negative controls: same cases, same settings, controlled images.

    Features are extracted (:func:`radlab.features.extract`, ``params``/``pairs``/``scheduler``/``cache``) from
    the original cases (or taken from ``features``) and from each control's copies; then
    :func:`radlab.validation.run_workflow` (``outcome``: a binary column of ``clinical``; ``**workflow``: its
    options, e.g. ``batch="centre"``, ``cv``, ``k``) runs on each feature table. A signature that learns from
    the image keeps its out-of-fold AUC on the original and falls to chance (CI containing 0.5) on controls
    that destroy the ROI's image information. ``include`` / ``exclude``: regexes of the feature columns kept
    in / left out of every table (the signature's inputs); by default every feature but the shape features,
    which depend on the ROI alone and so are identical in every control. Many other features also track the
    ROI's voxel count (sums, extremes, entropies and non-uniformities, texture statistics of finite samples),
    so a signature built on them can keep its AUC on every control through tumour volume alone: that is
    what the controls reveal.

    Examples
    --------
    >>> run_negative_controls([], pd.DataFrame(), outcome="pcr", controls=["blurred_roi"])
    Traceback (most recent call last):
    ...
    radlab.errors.InputError: Unknown negative control 'blurred_roi': choose from ['shuffled_roi', 'shuffled_non_roi', 'shuffled_full', 'randomized_sampled_roi', 'randomized_sampled_non_roi', 'randomized_sampled_full', 'randomized_roi', 'randomized_non_roi', 'randomized_full', 'moved_roi'].
    """
    from radlab.features._extract import extract
    from radlab.validation import run_workflow

    controls = [controls] if isinstance(controls, str) else list(controls)  # one name, not its letters
    for control in controls:
        _check(control)
    if outcome not in clinical:
        raise InputError(f"The 'outcome' parameter of run_negative_controls must be a binary column of clinical. "
                         f"Got {outcome!r}, which is not among its columns {list(clinical.columns)[:8]}.")
    options = dict(scheduler=scheduler, cache=cache, n_workers=n_workers, progress=progress, pairs=pairs)
    tables = {"original": features if features is not None else extract(cohort, params, ids=ids, **options)}
    for control in controls:
        tables[control] = extract(negative_controls(cohort, control, seed=seed, ids=ids, pairs=pairs), params,
                                  **options)
    columns = tables["original"].columns
    keep = np.ones(len(columns), bool)
    if include:
        keep &= columns.str.contains(include)
    if exclude:
        keep &= ~columns.str.contains(exclude)
    columns = columns[keep]
    rows, workflows = [], {}
    for name, table in tables.items():
        table = table.reindex(columns=columns).dropna(axis=1)  # the original's order: ties are broken alike
        workflows[name] = run_workflow(table, clinical, outcome=outcome, **workflow)
        rows.append({"control": name, **_oof_auc(workflows[name], confidence_level), "n_features": table.shape[1]})
    return NegativeControls(pd.DataFrame(rows).set_index("control"), workflows)
