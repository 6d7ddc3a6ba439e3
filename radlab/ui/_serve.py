"""Serve the dashboards: ``radlab serve`` (localhost by default, authentication required beyond it)."""

from __future__ import annotations

import errno
import json
import logging
import os
import secrets
import socket
import threading
import time
from functools import cached_property
from pathlib import Path

import pandas as pd
import panel as pn

from radlab.catalog import open_catalog
from radlab.errors import InputError, RadlabError
from radlab.ui._inputs import Pseudonymiser, example_predictions

__all__ = ["LOCAL_ADDRESSES", "PAGES", "AuthRequiredError", "PageInputs", "build_page", "check_options", "serve"]

log = logging.getLogger(__name__)

LOCAL_ADDRESSES = {"localhost", "127.0.0.1", "::1"}

TITLES = {"cohort": "Cohort & images", "roc": "ROC", "survival": "Survival",
          "calibration": "Calibration & decision curves", "saliency": "Saliency", "harmonisation": "Harmonisation",
          "shap": "SHAP"}


class PageInputs:
    """The plain objects the pages read, built lazily once per server from the catalog (or given).

    Pass any of them to use your own study's objects: ``predictions`` (tidy predictions table),
    ``harmonisation`` (dict features, batch[, after]), ``shap`` (dict pipeline, X), ``saliency`` (dict model,
    images, masks). What is not given is built from the catalog: the demo flow's results
    (:func:`radlab.demo.prepare_demo`: predictions of every demo model, the demo features by centre, the
    radiomics logistic pipeline for SHAP) plus predictions on the reference cohorts
    (:func:`radlab.ui.example_predictions`), and a small CNN trained on the demo cohort's tumour grid.
    ``pseudonymiser`` names cases shown to viewers (default: salted pseudonyms).
    """

    def __init__(self, catalog=None, *, pseudonymiser: Pseudonymiser | None = None, **given):
        self.catalog_path = str(Path(catalog).resolve()) if catalog else None
        self.pseudonymiser = pseudonymiser or Pseudonymiser()
        unknown = set(given) - {"predictions", "harmonisation", "shap", "saliency"}
        if unknown:
            raise TypeError(f"PageInputs got unknown inputs {sorted(unknown)}")
        self.__dict__.update(given)  # overrides the cached properties below

    @property
    def catalog(self):
        return open_catalog(self.catalog_path)

    @cached_property
    def demo(self):
        """The demo flow's results (:func:`radlab.demo.prepare_demo`), or None without a demo cohort."""
        from radlab.demo import prepare_demo

        if "demo" not in self.catalog:
            return None
        return prepare_demo("demo", catalog=self.catalog_path, progress=False)

    @cached_property
    def predictions(self):
        reference = example_predictions(self.catalog_path)
        return reference if self.demo is None else pd.concat([self.demo.predictions, reference], ignore_index=True)

    @cached_property
    def probabilities(self):
        """The predictions the calibration page reads: models whose scores are probabilities, labelled rows
        (risk scores such as Cox linear predictors are left out). A missing or non-numeric score does not hide
        its model: the page lists that row's problem. One table per server, so its results are shared by
        every session."""
        p = self.predictions
        score = pd.to_numeric(p.score, errors="coerce")
        probability = score.groupby(p.model).transform(lambda s: bool(s.dropna().between(0, 1).all())).astype(bool)
        return p[probability & p.label.notna()]

    def _need_demo(self, page: str):
        if self.demo is None:
            raise ValueError(f"the {page} page needs the catalog's 'demo' cohort or PageInputs({page}=...)")

    @cached_property
    def harmonisation(self) -> dict:
        self._need_demo("harmonisation")
        centre = self.catalog["demo"].clinical.loc[self.demo.features.index, "centre"]
        return {"features": self.demo.features, "batch": centre}

    @cached_property
    def shap(self) -> dict:
        self._need_demo("shap")
        clinical = self.catalog["demo"].clinical
        X = self.demo.features.join(clinical[["centre"]])  # the pipeline's ComBat reads the centre column
        return {"pipeline": self.demo.pipelines["radiomics-logistic"], "X": X}

    @cached_property
    def saliency(self) -> dict:
        import torch

        from radlab.dl import ResNet

        cohort = self.catalog["demo"]
        mask = cohort.masks[0]
        case = cohort.case(cohort.ids[0])
        grid = cohort.to_grid(spacing=None, shape=(8, 32, 32), crop="roi", margin=4, images=[case[mask].attrs["image"]],
                              mask=mask, include_mask=True).compute()
        images, masks = grid.isel(channel=[0]), grid.isel(channel=1, drop=True)
        images = (images - images.mean(("z", "y", "x"))) / (images.std(("z", "y", "x")) + 1e-6)
        y = torch.tensor(cohort.clinical.loc[[str(c) for c in grid["case"].values], cohort.outcomes["label"]].to_numpy(),
                         dtype=torch.float32)
        torch.manual_seed(0)
        net = ResNet(images.sizes["channel"], dim=3, widths=(4, 8))
        x = torch.as_tensor(images.values, dtype=torch.float32)
        opt = torch.optim.Adam(net.parameters(), lr=1e-2)
        for _ in range(20):  # a few full-batch steps: enough for maps that respond to the images
            opt.zero_grad()
            loss = torch.nn.functional.binary_cross_entropy_with_logits(net(x)[:, 0], y)
            loss.backward()
            opt.step()
        return {"model": net.eval(), "images": images.astype("float32"), "masks": masks}


def build_page(name: str, inputs: PageInputs):
    """The page ``name`` as a Panel viewable over ``inputs`` (a fresh store: one per session)."""
    from radlab.ui import _pages

    return _pages.BUILDERS[name](inputs)


def _template(name: str, inputs: PageInputs):
    def page():
        links = " · ".join(f"[{t}](/{n})" for n, t in TITLES.items() if n in PAGES)
        return pn.template.BootstrapTemplate(title=f"radlab · {TITLES[name].lower()}",
                                             sidebar=[pn.pane.Markdown(f"[index](/)\n\n{links}")],
                                             main=[build_page(name, inputs)])
    return page


def _index(names):
    def page():
        items = "\n".join(f"- [{TITLES[n]}](/{n})" for n in names)
        return pn.template.BootstrapTemplate(title="radlab · dashboards", main=[pn.pane.Markdown(
            f"## radlab dashboards\n{items}\n\nCase ids are pseudonymised unless the server was started with "
            "`--show-case-ids`.")])
    return page


# page name -> factory(PageInputs) returning a zero-argument function that builds a fresh page per session
PAGES = {name: (lambda name: lambda inputs: _template(name, inputs))(name) for name in TITLES}


def _warm(inputs: PageInputs, names) -> None:
    from radlab.ui._pages import warm

    start = time.perf_counter()
    try:
        done = warm(inputs, names)
    except Exception as exc:  # noqa: BLE001  (e.g. the catalog's inputs cannot be built: sessions will say why)
        log.warning("warm-up stopped: %s", exc)
        return
    log.info("warm-up: %d selections computed in %.1f s", done, time.perf_counter() - start)


class AuthRequiredError(RadlabError, PermissionError):
    """Serving beyond localhost without authentication was asked for."""


_USERS_SHAPE = 'a JSON object of user names to passwords, {"user": "password", ...}'


def _check_basic_auth(basic_auth: str) -> None:
    """A users file must exist and hold ``{"user": "password"}``; a value that looks like a path is never a password."""
    if not basic_auth:
        raise InputError("basic_auth is empty: give a password or a users JSON file (" + _USERS_SHAPE + ")")
    path = Path(basic_auth)
    if not path.is_file():
        if basic_auth.endswith(".json") or os.sep in basic_auth or "/" in basic_auth:
            raise InputError(f"basic_auth {basic_auth!r} looks like a users file, but no such file exists: give an "
                             f"existing file holding {_USERS_SHAPE}, or a password (without '/', not ending in .json)",
                             file=basic_auth)
        return  # a password
    try:
        users = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"basic_auth users file {path} cannot be read as JSON ({exc}); it must hold {_USERS_SHAPE}",
                         file=path) from None
    if not isinstance(users, dict) or not users:
        got = "an empty object" if users == {} else f"a JSON {type(users).__name__}"
        raise InputError(f"basic_auth users file {path} must hold {_USERS_SHAPE}; got {got}", file=path)
    bad = [user for user, password in users.items() if not isinstance(password, str) or not password]
    if bad:  # never show the passwords themselves
        raise InputError(f"basic_auth users file {path}: the password of {bad[:3]} is not a non-empty string; the "
                         f"file must hold {_USERS_SHAPE}", file=path)


def _check_listen(address: str, port: int) -> None:
    """Bind (and release) the sockets the server will bind (as Tornado does), so that a busy port or a foreign
    address fails now, with a message saying what to do."""
    try:
        infos = socket.getaddrinfo(address or None, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)
        for family, kind, proto, _, sockaddr in dict.fromkeys(infos):
            with socket.socket(family, kind, proto) as sock:
                if os.name != "nt":
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                try:
                    sock.bind(sockaddr)
                except OSError as exc:  # Tornado skips a localhost without IPv6 too
                    if not (exc.errno == errno.EADDRNOTAVAIL and address == "localhost" and sockaddr[0] == "::1"):
                        raise
    except socket.gaierror as exc:
        raise InputError(f"address {address!r} cannot be resolved ({exc.strerror}): give a host name or IP address "
                         "of this machine") from None
    except OSError as exc:
        raise InputError(_listen_problem(address, port, exc)) from None


def _listen_problem(address: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (f"port {port} on {address!r} is already in use (another server?): stop that program or choose "
                "another port (--port)")
    if exc.errno == errno.EADDRNOTAVAIL:
        return (f"address {address!r} is not an address of this machine: use localhost, 0.0.0.0 (every interface) "
                "or one of its IP addresses")
    if exc.errno == errno.EACCES:
        return f"port {port} on {address!r} needs administrator rights: choose a port from 1024 to 65535 (--port)"
    return f"cannot listen on {address!r} port {port}: {exc.strerror or exc}"


def check_options(*, address: str = "localhost", port: int = 5006, basic_auth: str | None = None,
                  oauth: dict | None = None, num_procs: int = 1, threaded: bool = False) -> None:
    """Refuse server options that would fail, or silently mean something else, once the server runs.

    Raises :class:`AuthRequiredError` for an address beyond localhost without authentication and
    :class:`~radlab.errors.InputError` naming the option for: a ``port`` outside 1..65535 or already in use, an
    ``address`` that cannot be resolved or is not this machine's, ``num_procs`` < 1 (or > 1 when ``threaded``
    or without ``os.fork``), ``basic_auth`` together with ``oauth``, an empty ``basic_auth``, a ``basic_auth``
    that looks like a path (ends with .json or holds a path separator) but names no file, and a users file that
    is not ``{"user": "password", ...}``. Nothing is left listening.
    """
    if address not in LOCAL_ADDRESSES and not (basic_auth or oauth):
        raise AuthRequiredError(
            f"refusing to serve on {address!r} without authentication: pass basic_auth (--basic-auth: a password "
            "or a users JSON file) or OAuth settings (--oauth-provider/--oauth-key/--oauth-secret), or bind to "
            "localhost")
    if basic_auth is not None and oauth:
        raise InputError("pass either basic_auth or oauth settings, not both")
    if not isinstance(port, int) or not 1 <= port <= 65535:
        raise InputError(f"The 'port' parameter of serve must be an integer from 1 to 65535. Got {port!r} instead.")
    if not isinstance(num_procs, int) or num_procs < 1:
        raise InputError(f"The 'num_procs' parameter of serve must be an integer >= 1. Got {num_procs!r} instead.")
    if num_procs > 1 and (threaded or not hasattr(os, "fork")):
        why = "a threaded server" if threaded else "this system (no os.fork)"
        raise InputError(f"The 'num_procs' parameter of serve must be 1 for {why}. Got {num_procs} instead.")
    if basic_auth is not None:
        _check_basic_auth(basic_auth)
    _check_listen(address, port)


def serve(*, catalog: str | Path | None = None, address: str = "localhost", port: int = 5006,
          basic_auth: str | None = None, cookie_secret: str | None = None, oauth: dict | None = None,
          show_case_ids: bool = False, show: bool = False, threaded: bool = False, pages: list[str] | None = None,
          inputs: PageInputs | None = None, num_procs: int = 1, warm: bool = True):
    """Start a Panel server with radlab's pages and an index; returns the server (threaded) or blocks.

    Binding to an address other than localhost requires ``basic_auth`` (a password or a users JSON
    file, as Panel's ``--basic-auth``) or ``oauth`` (Panel's OAuth settings: ``oauth_provider``,
    ``oauth_key``, ``oauth_secret``, ...), so nobody reaches patient data by accident. Case ids shown to
    viewers are pseudonymised (salted hash) unless ``show_case_ids``. ``num_procs`` > 1 forks that many
    server processes sharing the port (sessions are spread over them; each builds its own inputs on first
    use; not with ``threaded``). ``warm`` computes every selection of the ROC, survival and calibration pages
    in a background thread at start (one process only), so sessions' first visits find their bootstraps done.
    Options are checked before anything starts (:func:`check_options`).
    """
    check_options(address=address, port=port, basic_auth=basic_auth, oauth=oauth, num_procs=num_procs,
                  threaded=threaded)
    catalog_path = str(Path(catalog).resolve()) if catalog else None
    open_catalog(catalog_path)  # fail now, not in the first session, if the catalog is broken
    inputs = inputs or PageInputs(catalog_path, pseudonymiser=Pseudonymiser(enabled=not show_case_ids))
    pn.extension("tabulator")
    names = pages or list(PAGES)
    unknown = [n for n in names if n not in PAGES]
    if unknown:
        raise InputError(f"The 'pages' parameter of serve must name pages among {list(PAGES)}. Got {unknown}.")
    apps = {"/": _index(names), **{name: PAGES[name](inputs) for name in names}}
    kwargs = {}
    if basic_auth or oauth:
        kwargs["cookie_secret"] = cookie_secret or secrets.token_hex(16)
        if basic_auth:
            kwargs["basic_auth"] = basic_auth
        else:
            kwargs.update(oauth)
    origins = [f"{address}:{port}", f"localhost:{port}", f"127.0.0.1:{port}"]
    if num_procs > 1:
        kwargs["num_procs"] = num_procs
    elif warm:
        threading.Thread(target=_warm, args=(inputs, names), daemon=True, name="radlab-warm-up").start()
    return pn.serve(apps, address=address, port=port, show=show, threaded=threaded, title="radlab",
                    websocket_origin=origins, **kwargs)
