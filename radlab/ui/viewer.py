"""``radlab.view(case)``: itkwidgets in JupyterLab when it is installed and its viewer loads, otherwise
radlab's built-in slice viewer; the same call either way."""

from __future__ import annotations

import importlib

import xarray as xr

__all__ = ["view"]


def _itk_view(image, label_image):
    """itkwidgets' viewer, or None when the package (``viewer`` extra) is missing or cannot load."""
    try:
        itkwidgets = importlib.import_module("itkwidgets")
        return itkwidgets.view(image=image, label_image=label_image)
    except Exception:  # noqa: BLE001  any failure to load the optional viewer falls back to the built-in one
        return None


def view(case, *, cohort=None, backend: str = "auto"):
    """Show one case: an xarray Dataset from ``cohort.case(id)`` (or a (cohort, id) pair, or a DataArray).

    ``backend``: "auto" (itkwidgets if it loads, else built-in), "itkwidgets" or "builtin".
    Returns the viewer object (display it in a notebook cell).

    Examples
    --------
    >>> import radlab  # doctest: +SKIP
    >>> cohort = radlab.open_cohort("demo")  # doctest: +SKIP
    >>> radlab.view(cohort.case(cohort.ids[0]))  # doctest: +SKIP
    """
    if backend not in ("auto", "itkwidgets", "builtin"):
        raise ValueError(f"The 'backend' parameter of view must be 'auto', 'itkwidgets' or 'builtin'. Got {backend!r}.")
    if isinstance(case, tuple):
        cohort, case = case
        case = cohort.case(case)
    if isinstance(case, xr.DataArray):
        case = case.to_dataset(name=case.name or "image")
        case[case.name if hasattr(case, "name") else "image"].attrs.setdefault("role", "image")
    images = [v for v in case.data_vars if case[v].attrs.get("role", "image") == "image"]
    masks = [v for v in case.data_vars if case[v].attrs.get("role") == "mask"]
    if backend != "builtin":
        import numpy as np

        shown = _itk_view(np.asarray(case[images[0]].values),
                          np.asarray(case[masks[0]].values) if masks else None)
        if shown is not None or backend == "itkwidgets":
            if shown is None:
                raise ImportError("itkwidgets is not installed or its viewer cannot load (pip install radlab[viewer])")
            return shown
    from radlab.ui._viewer import ImageViewer

    return ImageViewer.from_dataset(case)
