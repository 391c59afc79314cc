"""Helpers for the browser tests: waiting for Streamlit, checking for errors, full-page screenshots."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Locator, Page, expect

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
FIRST_LOAD_MS = 120_000
"""The first page of a session loads VGG19 and computes activations: minutes are possible on 2 slow cores."""
_MAX_SCREENSHOT_HEIGHT = 8000


def wait_for_app(page: Page, timeout: float = FIRST_LOAD_MS) -> None:
    """Wait until the script has rendered and no spinner is left; then assert no exception is shown.

    Not for a page with a live ``run_every`` fragment: there the script state keeps flipping, so wait
    for what the page shows instead (web-first assertions).
    """
    expect(page.get_by_test_id("stApp")).to_have_attribute("data-test-connection-state", "CONNECTED", timeout=timeout)
    expect(page.get_by_test_id("stAppViewContainer")).to_be_visible(timeout=timeout)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=stApp]')?.getAttribute('data-test-script-state') === 'notRunning'",
        timeout=timeout,
    )
    shown = page.get_by_test_id("stException").all_inner_texts()
    assert not shown, f"the page shows an exception: {shown}"


def open_page(page: Page, url: str) -> None:
    """Go to ``url`` (a new session) and wait for its first full render."""
    page.goto(url)
    wait_for_app(page)


def no_error_shown(page: Page) -> None:
    """Neither a traceback nor an error box anywhere on the page."""
    expect(page.get_by_test_id("stException")).to_have_count(0)
    errors = page.get_by_test_id("stAlertContentError")
    assert errors.count() == 0, f"an error is shown: {errors.all_inner_texts()}"


def wait_for_drawings(page: Page) -> None:
    """Every widget loaded (no skeleton left), every Plotly chart drawn and every image decoded, so a
    screenshot shows content: the frontend loads widget code lazily, after the script has finished."""
    page.wait_for_function(
        """() => !document.querySelector('[data-testid^=stSkeleton]')
              && [...document.querySelectorAll('[data-testid=stPlotlyChart]')].every(c => c.querySelector('.main-svg'))
              && [...document.images].every(img => img.complete)""",
        timeout=30_000,
    )


def screenshot(page: Page, name: str) -> Path:
    """Save the whole page to artifacts/screenshots/<name>.png.

    Streamlit scrolls inside its main section, not the document, so ``full_page`` alone would keep
    only the viewport: the viewport is stretched to the content's height for the shot.
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    wait_for_drawings(page)
    viewport = page.viewport_size
    assert viewport is not None
    height = page.evaluate(
        "() => Math.max(...['stMain', 'stSidebarContent'].map("
        "id => document.querySelector(`[data-testid=${id}]`)?.scrollHeight ?? 0))"
    )
    page.set_viewport_size(
        {"width": viewport["width"], "height": min(max(height, viewport["height"]), _MAX_SCREENSHOT_HEIGHT)}
    )
    try:
        page.wait_for_timeout(300)  # one layout pass at the new size
        wait_for_drawings(page)
        page.screenshot(path=str(path), full_page=True)
    finally:
        page.set_viewport_size(viewport)
    return path


def set_number(page: Page, label: str, value: int) -> None:
    """Type into a number input and commit it (Enter reruns the script)."""
    field = page.get_by_label(label, exact=True)
    field.fill(str(value))
    field.press("Enter")
    expect(field).to_have_value(str(value))
    wait_for_app(page)


def open_run_settings(page: Page) -> None:
    """Unfold the Run page's settings (they start folded under the preset and Launch)."""
    size = page.get_by_label("Size (px, longest side)", exact=True)
    if not size.is_visible():
        page.locator("summary").filter(has_text="Settings: α").click()
    expect(size).to_be_visible()
    wait_for_app(page)


def scroll_to_top(page: Page) -> None:
    """Back to the first screen: Streamlit scrolls its main section, which typing into a field may have moved."""
    page.get_by_test_id("stMain").evaluate("main => main.scrollTo(0, 0)")


def cell_centre(chart: Locator, row: float, col: float) -> dict[str, float]:
    """Page coordinates of the centre of cell (row, col) of the heatmap in ``chart``, from Plotly's axes."""
    return chart.locator(".js-plotly-plot").evaluate(
        """(gd, [row, col]) => {
            const {xaxis, yaxis} = gd._fullLayout;
            const box = gd.getBoundingClientRect();
            return {x: box.left + xaxis._offset + xaxis.l2p(col), y: box.top + yaxis._offset + yaxis.l2p(row)};
        }""",
        [row, col],
    )
