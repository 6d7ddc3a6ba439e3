"""Serve the dashboards: ``radlab serve`` (localhost by default, authentication required beyond it)."""

from __future__ import annotations

from pathlib import Path

import panel as pn

from radlab.catalog import open_catalog

__all__ = ["PAGES", "serve", "LOCAL_ADDRESSES"]

LOCAL_ADDRESSES = {"localhost", "127.0.0.1", "::1"}


def _cohort_page(catalog_path):
    from radlab.ui._cohort_page import CohortPage

    def page():
        return pn.template.BootstrapTemplate(title="radlab · cohort & images", main=[CohortPage(open_catalog(catalog_path))])
    return page


# page name -> factory(catalog_path) returning a zero-argument function that builds a fresh page per session
PAGES = {"cohort": _cohort_page}


def serve(*, catalog: str | Path | None = None, address: str = "localhost", port: int = 5006,
          basic_auth: str | None = None, cookie_secret: str | None = None, show: bool = False, threaded: bool = False,
          pages: list[str] | None = None):
    """Start a Panel server with radlab's pages; returns the server (threaded) or blocks.

    Binding to an address other than localhost requires ``basic_auth`` (a password or a users JSON
    file, as Panel's ``--basic-auth``), so nobody reaches patient data by accident.
    """
    if address not in LOCAL_ADDRESSES and not basic_auth:
        raise PermissionError(
            f"refusing to serve on {address!r} without authentication: pass basic_auth (a password or a users "
            "file) or bind to localhost")
    catalog_path = str(Path(catalog).resolve()) if catalog else None
    open_catalog(catalog_path)  # fail now, not in the first session, if the catalog is broken
    pn.extension("tabulator")
    names = pages or list(PAGES)
    apps = {name: PAGES[name](catalog_path) for name in names}
    kwargs = {}
    if basic_auth:
        kwargs["basic_auth"] = basic_auth
        kwargs["cookie_secret"] = cookie_secret or __import__("secrets").token_hex(16)
    return pn.serve(apps, address=address, port=port, show=show, threaded=threaded, title="radlab",
                    websocket_origin=[f"{address}:{port}", f"localhost:{port}", f"127.0.0.1:{port}"], **kwargs)
