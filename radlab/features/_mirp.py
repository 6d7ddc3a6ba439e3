"""Optional MIRP backend (``pip install radlab[mirp]``): IBSI-compliant features, same output shape."""

from __future__ import annotations

import logging
import math
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["mirp_settings", "mirp_features"]

_META = ("sample_name", "image_", "image_mask_")


def mirp_settings(params: dict[str, Any]) -> dict[str, Any]:
    """MIRP keyword settings: ``params["mirp"]`` if given, else translated from the pyradiomics settings
    (bin width / bin count, resampled spacing).

    Examples
    --------
    >>> mirp_settings({"setting": {"binWidth": 25, "resampledPixelSpacing": [1, 1, 1]}})["base_discretisation_method"]
    'fixed_bin_size'
    """
    if "mirp" in params:
        return dict(params["mirp"])
    setting = params.get("setting", {})
    out: dict[str, Any] = {}
    if "binCount" in setting:
        out |= {"base_discretisation_method": "fixed_bin_number", "base_discretisation_n_bins": int(setting["binCount"])}
    else:
        out |= {"base_discretisation_method": "fixed_bin_size",
                "base_discretisation_bin_width": float(setting.get("binWidth", 25))}
    if setting.get("resampledPixelSpacing"):
        out["new_spacing"] = [float(v) for v in setting["resampledPixelSpacing"]][::-1]  # MIRP: z, y, x
    return out


_POOL = None


def _run(image_path: str, mask_path: str, settings: dict) -> dict[str, float]:
    import warnings

    # MIRP reads files with ITK, whose SWIG modules (loaded lazily) warn on Python >= 3.11; an
    # error-level warning filter turns that into a crash inside the extension import, so ignore it here
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "builtin type swig", DeprecationWarning)
        from mirp import extract_features

        logging.getLogger("mirp").setLevel(logging.WARNING)
        table = extract_features(image=image_path, mask=mask_path, **settings)[0]
    out = {}
    for name, value in table.iloc[0].items():
        if name.startswith(_META):
            continue
        try:
            out[name] = float(value)
        except (TypeError, ValueError):
            continue
    return {k: v for k, v in out.items() if not math.isinf(v)}


def mirp_features(image, mask, params: dict[str, Any], *, label: int = 1) -> dict[str, float]:
    """IBSI features of one SimpleITK image and mask with MIRP (written to temporary NIfTI files).

    MIRP runs in a helper process: ITK (which MIRP loads) and torch in one process crash at interpreter exit.
    Inside daemonic processes (dask workers), which cannot start children, it runs in-process.
    """
    import atexit
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    import SimpleITK as sitk

    global _POOL
    with tempfile.TemporaryDirectory() as tmp:
        img, msk = Path(tmp) / "image.nii.gz", Path(tmp) / "mask.nii.gz"
        sitk.WriteImage(image, str(img))
        sitk.WriteImage(sitk.Cast(mask == label, sitk.sitkUInt8), str(msk))
        if mp.current_process().daemon:
            return _run(str(img), str(msk), mirp_settings(params))
        if _POOL is None:
            _POOL = ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn"))
            atexit.register(_POOL.shutdown)
        return _POOL.submit(_run, str(img), str(msk), mirp_settings(params)).result()
