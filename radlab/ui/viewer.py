"""``radlab.view(case)``: itkwidgets when it is installed and can show images without internet, otherwise
radlab's built-in slice viewer; the same call either way, and the output says which viewer it is and why.

itkwidgets 1.x (ImJoy) loads its viewer application from ``itkwidgets.viewer_config.ITK_VIEWER_SRC``, a
web address, so it works offline only when that address is on this machine. itkwidgets 0.x is an
ipywidgets-7 widget for the classic Notebook: JupyterLab 4 with ipywidgets 8, which radlab uses, cannot
show it. The built-in viewer is a Panel object, rendered offline like every other radlab figure.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from urllib.parse import urlparse

import xarray as xr

from radlab.errors import InputError

__all__ = ["itkwidgets_problem", "view"]

LOCAL_HOSTS = {None, "", "localhost", "127.0.0.1", "::1"}


def itkwidgets_problem() -> str | None:
    """Why itkwidgets cannot show an image here without internet access, or None when it can."""
    try:
        version = importlib.metadata.version("itkwidgets")
    except importlib.metadata.PackageNotFoundError:
        return "itkwidgets is not installed"
    if int(version.split(".")[0]) < 1:
        return f"itkwidgets {version} is an ipywidgets-7 widget for the classic Notebook, not JupyterLab 4"
    try:
        src = importlib.import_module("itkwidgets.viewer_config").ITK_VIEWER_SRC
    except Exception as exc:  # noqa: BLE001  any failure to import the optional viewer means: use the built-in one
        return f"itkwidgets {version} cannot be imported ({type(exc).__name__}: {exc})"
    host = urlparse(src).hostname
    if host not in LOCAL_HOSTS:
        return f"itkwidgets {version} loads its viewer from {host}, which needs internet access"
    return None


def _itk_view(image, label_image, caption: str):
    """itkwidgets' viewer under a line saying so (an ipywidgets box; the viewer is ``.children[1]``)."""
    import ipywidgets

    viewer = importlib.import_module("itkwidgets").view(image=image, label_image=label_image)
    return ipywidgets.VBox([ipywidgets.HTML(f"<b>{caption}</b>"), viewer])


def view(case, *, cohort=None, backend: str = "auto"):
    """Show one case: an xarray Dataset from ``cohort.case(id)`` (or a (cohort, id) pair, or a DataArray).

    ``backend``: "auto" (itkwidgets if it can work offline here, see :func:`itkwidgets_problem`, else
    the built-in viewer), "itkwidgets" (ImportError naming the reason when it cannot) or "builtin".
    Returns the viewer to display in a notebook cell; its first line names the viewer shown and, for the
    built-in one under "auto", why itkwidgets was not used.

    Examples
    --------
    >>> import radlab  # doctest: +SKIP
    >>> cohort = radlab.open_cohort("demo")  # doctest: +SKIP
    >>> radlab.view(cohort.case(cohort.ids[0]))  # doctest: +SKIP
    """
    if backend not in ("auto", "itkwidgets", "builtin"):
        raise InputError(f"The 'backend' parameter of view must be 'auto', 'itkwidgets' or 'builtin'. Got {backend!r}.")
    if isinstance(case, tuple):
        cohort, case = case
        case = cohort.case(case)
    if isinstance(case, xr.DataArray):
        name = case.name or "image"
        case = case.to_dataset(name=name)
        case[name].attrs.setdefault("role", "image")
    problem = None if backend == "builtin" else itkwidgets_problem()
    if backend == "itkwidgets" and problem:
        raise ImportError(f"{problem}; radlab.view(..., backend='builtin') shows the built-in viewer")
    if problem is None and backend != "builtin":
        import numpy as np

        images = [v for v in case.data_vars if case[v].attrs.get("role", "image") == "image"]
        masks = [v for v in case.data_vars if case[v].attrs.get("role") == "mask"]
        return _itk_view(np.asarray(case[images[0]].values), np.asarray(case[masks[0]].values) if masks else None,
                         caption=f"itkwidgets viewer · {images[0]}")
    from radlab.ui._viewer import ImageViewer

    caption = "radlab built-in viewer" + (f" (itkwidgets not used: {problem})" if problem else "")
    return ImageViewer.from_dataset(case, caption=caption)
