"""HoloViews import for ``.plot()`` methods (kept out of module import time)."""


def holoviews():
    """HoloViews with the bokeh backend registered, so ``.opts`` work outside notebooks too."""
    import holoviews as hv
    import holoviews.plotting.bokeh  # noqa: F401  registers the backend for .opts

    if hv.Store.current_backend != "bokeh":
        hv.Store.set_current_backend("bokeh")
    return hv
