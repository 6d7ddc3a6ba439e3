"""The served cohort page in a real headless Chromium (Debian's, driven by Playwright)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.ui


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 1300})
    page = context.new_page()
    problems = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    page.goto(f"{server}/cohort")
    page.wait_for_selector("canvas", timeout=60_000)
    page.wait_for_timeout(1500)
    page.problems = problems
    yield page
    context.close()


def plot_pixels(page) -> bytes:
    return page.locator(".bk-Canvas").last.screenshot()


def test_cohort_page_loads_without_console_errors(page, catalog):
    assert page.title() == "radlab · cohort & images"
    assert page.locator("h2", has_text="Cohort & images").count() == 1
    cells = page.locator('.tabulator-cell[tabulator-field="case"]')
    assert cells.count() == 12 and cells.nth(1).inner_text() == catalog["demo"].ids[1]  # the case table
    assert page.problems == []


def test_choosing_a_case_redraws_the_image(page, catalog):
    before = plot_pixels(page)
    case_select = page.locator("select").nth(1)  # cohort picker, then the viewer's case picker
    assert case_select.input_value() == catalog["demo"].ids[0]
    case_select.select_option(catalog["demo"].ids[5])
    page.wait_for_timeout(2000)
    assert plot_pixels(page) != before
    assert page.problems == []


def test_clicking_a_table_row_selects_the_case(page, catalog):
    target = catalog["demo"].ids[3]
    page.locator('.tabulator-cell[tabulator-field="case"]', has_text=target).click()
    page.wait_for_timeout(1500)
    assert page.locator("select").nth(1).input_value() == target
