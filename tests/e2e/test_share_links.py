"""Share links in a real browser, on a server of their own: a deep link as the very first visit after the
server starts opens cleanly, and a finished run's link shows the same numbers in a second browser
context, read-only, while a reload gives the visitor their runs back."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import serve_app
from tests.e2e.e2e_helpers import (
    FIRST_LOAD_MS,
    no_error_shown,
    open_page,
    open_run_settings,
    set_number,
    wait_for_app,
)

RUN_DEADLINE_MS = 420_000


@pytest.fixture(scope="module")
def cold_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server no page was requested from yet: the module's first test makes the first visit."""
    with serve_app(tmp_path_factory.mktemp("cold_server")) as url:
        yield url


@pytest.fixture(scope="module")
def visitor(browser: Browser) -> Iterator[Page]:
    """The visitor who launches the run (one browser context for the module: its cookie is its identity)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    yield context.new_page()
    context.close()


def _no_page_not_found(page: Page) -> None:
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.get_by_text("Page not found")).to_have_count(0)


def _metric(page: Page, label: str) -> str:
    metric = page.get_by_test_id("stMetric").filter(has_text=label)
    return metric.get_by_test_id("stMetricValue").inner_text().strip()


def test_a_deep_link_as_the_first_visit_opens_its_page_and_a_usable_form(cold_url: str, visitor: Page) -> None:
    open_page(visitor, f"{cold_url}/stylize")
    _no_page_not_found(visitor)
    expect(visitor.get_by_test_id("stHeading").first).to_contain_text("Run a style transfer")
    open_run_settings(visitor)
    set_number(visitor, "Size (px, longest side)", 32)  # the form answers: it is not under a modal
    set_number(visitor, "Steps", 3)
    visitor.get_by_text("Device and snapshots").click()
    set_number(visitor, "Snapshot every (steps)", 1)  # Gram matrices at every step, for the comparison
    _no_page_not_found(visitor)
    # The folded settings' widgets mount after the first run: each must send back its seeded value, not an
    # empty default (an empty layer list disabled Launch in about one cold start of four).
    expect(visitor.get_by_text("5 style layers")).to_be_visible()
    expect(visitor.get_by_role("button", name="Launch")).to_be_enabled()


def test_a_finished_runs_link_shows_the_same_run_elsewhere_read_only(
    cold_url: str, visitor: Page, browser: Browser
) -> None:
    visitor.get_by_role("button", name="Launch").click()
    done = visitor.get_by_test_id("stAlertContentSuccess")
    expect(done).to_contain_text("3 steps", timeout=RUN_DEADLINE_MS)
    wait_for_app(visitor)
    j_style = _metric(visitor, "Final J_style")
    link = visitor.get_by_test_id("stCode").filter(has_text="?run=").inner_text().strip()
    assert re.fullmatch(rf"{re.escape(cold_url)}/stylize\?run=[A-Za-z0-9_-]{{22,}}", link), link
    run_id = link.rsplit("=", 1)[1]

    visitor.reload()  # a reload keeps the visitor's runs: the URL names the run, and "My runs" lists it
    wait_for_app(visitor)
    expect(visitor.get_by_role("link").filter(has_text="3 steps")).to_have_count(1)
    assert _metric(visitor, "Final J_style") == j_style

    other = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = other.new_page()
        open_page(page, link)
        no_error_shown(page)
        assert _metric(page, "Final J_style") == j_style
        page.set_viewport_size({"width": 1280, "height": 720})  # a projector: every final number is whole
        clipped = page.get_by_test_id("stMetricValue").evaluate_all(
            "values => values.filter(v => v.checkVisibility())"  # not the folded form's estimates
            ".filter(v => [v, ...v.querySelectorAll('*')].some(e => e.scrollWidth > e.clientWidth))"
            ".map(v => v.innerText)"
        )
        assert clipped == [], f"numbers cut short at 1280 px: {clipped}"
        expect(page.get_by_text("read-only").first).to_be_visible()
        expect(page.get_by_role("button", name="Stop")).to_have_count(0)
        expect(page.get_by_role("heading", name="My runs")).to_have_count(0)  # not theirs: unlisted

        open_page(page, f"{cold_url}/compare?run={run_id}")
        no_error_shown(page)
        expect(page.get_by_role("combobox", name="Run")).to_have_value(re.compile("shared"))
        expect(page.locator(".st-key-svg_pair").get_by_test_id("stPlotlyChart")).to_be_visible(timeout=FIRST_LOAD_MS)

        open_page(page, f"{cold_url}/compare?run=no-such-run")
        errors = page.get_by_test_id("stAlertContentError")
        expect(errors).to_have_count(1)
        expect(errors).to_contain_text("This link names no run stored on this server")
    finally:
        other.close()
