"""Helpers shared by the UI tests (imported by conftest and the test modules)."""

from __future__ import annotations

import socket
import time

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SALT = "test-salt"


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
