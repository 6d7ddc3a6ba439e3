"""The served pages in a real headless Chromium (Debian's, driven by Playwright): every page loads without
console errors or failed requests, widget changes redraw figures, case ids stay pseudonymised, basic auth."""

from __future__ import annotations

import json
import time

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from ui_helpers import SALT, all_text, free_port, open_page, wait_for_port

pytestmark = pytest.mark.ui

WAIT_MS = 30_000  # how long a widget change may take to reach the browser (the server redraws first)


@pytest.fixture
def cohort_page(browser, server):
    page = open_page(browser, f"{server}/cohort")
    yield page
    page.context.close()


def plot_pixels(page) -> bytes:
    """A capture of the last canvas; one that Bokeh replaces while it is captured (a redraw) is captured again."""
    deadline = time.monotonic() + WAIT_MS / 1000
    while True:
        try:
            return page.locator(".bk-Canvas").last.screenshot()
        except PlaywrightError:  # "Element is not attached to the DOM"
            if time.monotonic() > deadline:
                raise
            page.wait_for_timeout(250)


def redrawn(page, before: bytes) -> bytes:
    """The plot's pixels once they differ from ``before`` (``before`` if they still do not after WAIT_MS)."""
    deadline = time.monotonic() + WAIT_MS / 1000
    while (pixels := plot_pixels(page)) == before and time.monotonic() < deadline:
        page.wait_for_timeout(250)
    return pixels


def test_cohort_page_shows_pseudonyms_not_ids(cohort_page, catalog):
    from radlab.ui import Pseudonymiser

    page, ids = cohort_page, catalog["demo"].ids
    assert page.title() == "radlab · cohort & images"
    cells = page.locator('.tabulator-cell[tabulator-field="case"]')
    assert cells.count() == 12 and cells.nth(1).inner_text() == Pseudonymiser(SALT)(ids[1])
    html = all_text(page)
    assert not any(case in html for case in ids)  # the real ids never reach the browser
    assert "Acquisition parameters by centre" in html and "SIEMENS" in html
    assert page.problems == []


def test_choosing_a_case_redraws_the_image(cohort_page, catalog):
    page = cohort_page
    before = plot_pixels(page)
    case_select = page.locator("select").nth(1)  # cohort picker, then the viewer's case picker
    from radlab.ui import Pseudonymiser

    case_select.select_option(label=Pseudonymiser(SALT)(catalog["demo"].ids[5]))
    assert redrawn(page, before) != before
    assert page.problems == []


def test_clicking_a_table_row_selects_the_case(cohort_page, catalog):
    from radlab.ui import Pseudonymiser

    label = Pseudonymiser(SALT)(catalog["demo"].ids[3])
    cohort_page.locator('.tabulator-cell[tabulator-field="case"]', has_text=label).click()
    checked = cohort_page.locator("select").nth(1).locator("option:checked")
    expect(checked).to_have_text(label, timeout=WAIT_MS)  # the server loads and draws the case first
    assert checked.inner_text() == label


@pytest.mark.parametrize("name", ["", "roc", "survival", "calibration", "harmonisation", "saliency", "shap"])
def test_every_page_loads_without_errors(browser, server, name):
    page = open_page(browser, f"{server}/{name}", wait_for="canvas" if name else "a")
    assert page.title().startswith("radlab")
    if not name:
        assert page.locator("a", has_text="Survival").count() >= 1
    assert page.problems == []
    page.context.close()


def test_roc_widgets_update_metrics_and_curve(browser, server):
    page = open_page(browser, f"{server}/roc")
    table = page.locator("table").first
    before_text, before_pixels = table.inner_text(), plot_pixels(page)
    page.locator("select").nth(2).select_option("test")  # cohort, model, split
    expect(table).not_to_have_text(before_text, use_inner_text=True, timeout=WAIT_MS)
    assert table.inner_text() != before_text  # sensitivity ... at the frozen threshold on another split
    page.locator("select").nth(1).select_option("size only")
    assert redrawn(page, before_pixels) != before_pixels
    assert page.problems == []
    page.context.close()


def test_survival_cutoff_method_changes_groups(browser, server):
    page = open_page(browser, f"{server}/survival")
    text = page.locator("p", has_text="Cut-off").first.inner_text()
    page.locator("select").nth(3).select_option("percentile")
    cutoff = page.locator("p", has_text="Cut-off").first
    expect(cutoff).to_contain_text("(percentile, fitted on the out-of-fold rows", timeout=WAIT_MS)
    new = cutoff.inner_text()
    assert new != text and "(percentile, fitted on the out-of-fold rows" in new
    assert page.problems == []
    page.context.close()


@pytest.fixture(scope="module")
def auth_server(catalog, page_inputs, tmp_path_factory):
    from radlab.ui import serve

    users = tmp_path_factory.mktemp("auth") / "users.json"
    users.write_text(json.dumps({"clinician": "s3cret-pass"}))
    port = free_port()
    srv = serve(catalog=catalog.path, address="127.0.0.1", port=port, threaded=True, pages=["roc"],
                basic_auth=str(users), cookie_secret="test-cookie-secret", inputs=page_inputs)
    wait_for_port(port)
    yield f"http://127.0.0.1:{port}"
    srv.stop()


@pytest.mark.parametrize("password, admitted", [("wrong", False), ("s3cret-pass", True)])
def test_basic_auth_refuses_wrong_and_accepts_right_credentials(browser, auth_server, password, admitted):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{auth_server}/roc")
    assert "/login" in page.url
    page.fill("input[name=username]", "clinician")
    page.fill("input[name=password]", password)
    page.locator("button[type=submit], input[type=submit]").first.click()
    page.wait_for_load_state()
    page.goto(f"{auth_server}/roc")
    if admitted:
        page.wait_for_selector("canvas", timeout=60_000)
        assert page.title() == "radlab · roc"
    else:
        assert "/login" in page.url
    context.close()
