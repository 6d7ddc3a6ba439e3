"""Helpers shared by the UI tests (imported by conftest and the test modules; tests/badinput and
tests/notebooks import them as ``ui.ui_helpers``): Debian's Chromium through Playwright, a tiny saliency
model, a free loopback port, pages with their problems collected."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SALT = "test-salt"


@contextmanager
def chromium() -> Iterator:
    """Debian's headless Chromium (``CHROMIUM``), launched through Playwright and closed on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def saliency_inputs() -> dict:
    """The saliency page's inputs: a tiny 3D CNN trained a few steps on a synthetic grid whose signal lives in a
    known box (the 'tumour' mask) of the positive cases."""
    import numpy as np
    import torch
    import xarray as xr

    from radlab.dl import ResNet

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 1, 6, 16, 16)).astype("float32")
    mask = np.zeros((4, 6, 16, 16), np.uint8)
    mask[:, 2:4, 5:10, 6:11] = 1
    y = np.array([0, 1, 0, 1], np.float32)
    x[y == 1, 0] += 2.0 * mask[y == 1]
    net = ResNet(1, dim=3, widths=(4, 8))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(15):
        opt.zero_grad()
        torch.nn.functional.binary_cross_entropy_with_logits(net(torch.as_tensor(x))[:, 0], torch.as_tensor(y)).backward()
        opt.step()
    cases = ["S001", "S002", "S003", "S004"]
    images = xr.DataArray(x, dims=("case", "channel", "z", "y", "x"), coords={"case": cases, "channel": ["T2w"]})
    masks = xr.DataArray(mask, dims=("case", "z", "y", "x"), coords={"case": cases})
    return {"model": net.eval(), "images": images, "masks": masks}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"no server on port {port}")


def open_page(browser, url, *, wait_for="canvas"):
    """A page with its console errors, page errors and failed requests collected in ``page.problems``."""
    context = browser.new_context(viewport={"width": 1500, "height": 1300})
    page = context.new_page()
    problems = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    page.goto(url)
    if wait_for:
        page.wait_for_selector(wait_for, timeout=60_000)
    page.wait_for_timeout(800)
    page.problems = problems
    return page


def all_text(page) -> str:
    """Text and HTML of the page including Panel's shadow roots (page.content() stops at them)."""
    return page.evaluate("""() => {
        const parts = [];
        const walk = (root) => {
            parts.push(root.innerHTML || "");
            for (const el of root.querySelectorAll("*")) { if (el.shadowRoot) walk(el.shadowRoot); }
        };
        walk(document.documentElement);
        return parts.join("\\n"); }""")
