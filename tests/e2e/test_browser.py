"""The app in a real browser: every page opens cleanly, uploads, a tiny run, and a click on a Gram cell."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Locator, Page, expect

from tests.e2e.e2e_helpers import (
    FIRST_LOAD_MS,
    cell_centre,
    no_error_shown,
    open_page,
    open_run_settings,
    screenshot,
    set_number,
    wait_for_app,
    wait_for_drawings,
)

RUN_SIZE, RUN_STEPS = 64, 10
RUN_DEADLINE_MS = 420_000  # seconds on an idle machine; up to 30 s a step seen on a 2-core one under load 14

PAGES = ("Gram explorer", "Style vs generated", "Run", "Compare runs", "Lesson")
"""Every page by its navigation title; each page's heading starts with its title."""


def _png(side: int = 48) -> bytes:
    """A small colourful PNG made here, so the test needs no file on disk."""
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(side, side, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _slug(title: str) -> str:
    return title.lower().replace(" ", "_")


def test_every_page_is_in_the_navigation(page_urls: dict[str, str]) -> None:
    assert set(page_urls) == set(PAGES)


@pytest.mark.parametrize("title", PAGES, ids=_slug)
def test_page_opens_without_error(page: Page, page_urls: dict[str, str], title: str) -> None:
    open_page(page, page_urls[title])
    expect(page.get_by_test_id("stHeading").first).to_contain_text(title)
    no_error_shown(page)
    screenshot(page, _slug(title))


def _open_uploader(page: Page, label: str) -> Locator:
    """The file input of the sidebar uploader ``label``, its "Upload your own" expander opened."""
    sidebar = page.get_by_test_id("stSidebar")
    selector = f'[data-testid="stFileUploaderDropzone"][aria-label="{label}"]'
    dropzone = sidebar.locator(selector)
    if not dropzone.is_visible():
        sidebar.get_by_test_id("stExpander").filter(has=page.locator(selector)).locator("summary").click()
    expect(dropzone).to_be_visible()
    return dropzone.get_by_test_id("stFileUploaderDropzoneInput")


def test_upload_shows_the_image_and_a_corrupt_one_its_message(page: Page, page_urls: dict[str, str]) -> None:
    # Uploads go through the shared sidebar: start on a light page, then analyse the upload.
    open_page(page, page_urls["Style vs generated"])
    sidebar = page.get_by_test_id("stSidebar")
    picker = sidebar.get_by_role("combobox", name="Content image")
    thumbnail = sidebar.get_by_test_id("stImage").first.locator("img")
    example_src = thumbnail.get_attribute("src") or ""

    _open_uploader(page, "Your content image").set_input_files(
        files=[{"name": "tiny.png", "mimeType": "image/png", "buffer": _png()}]
    )
    # The picker (and so the URL) names the stored upload by its id, never by the file's name.
    expect(picker).to_have_value(re.compile(r"^upload:[A-Za-z0-9_-]{22,}$"), timeout=FIRST_LOAD_MS)
    uploaded = picker.input_value()
    expect(thumbnail).not_to_have_attribute("src", example_src)
    wait_for_app(page)
    no_error_shown(page)

    noise = np.random.default_rng(1).integers(0, 256, 600, dtype=np.uint8).tobytes()
    _open_uploader(page, "Your content image").set_input_files(
        files=[{"name": "x.png", "mimeType": "image/png", "buffer": noise}]
    )
    error = sidebar.get_by_test_id("stAlertContentError")
    expect(error).to_contain_text("x.png", timeout=FIRST_LOAD_MS)
    expect(error).to_contain_text("previous image is still in use")
    expect(picker).to_have_value(uploaded)
    wait_for_app(page)
    screenshot(page, "upload_error")

    # The app keeps working: in the same session the Gram explorer analyses the upload.
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Gram explorer").click()
    analysed = page.get_by_role("combobox", name="Image to analyse")
    expect(analysed).to_be_visible(timeout=FIRST_LOAD_MS)
    analysed.click()
    page.get_by_role("option", name="content image").click()
    expect(page.get_by_test_id("stHeading").filter(has_text="your upload: tiny.png")).to_be_visible(
        timeout=FIRST_LOAD_MS
    )
    wait_for_app(page)  # which also finds no traceback


def test_click_on_a_gram_cell_picks_its_channels(page: Page, page_urls: dict[str, str]) -> None:
    open_page(page, f"{page_urls['Gram explorer']}?layer=relu2_1")  # 128 channels: cells of about 4 px
    heatmap = page.locator(".st-key-gram_click").get_by_test_id("stPlotlyChart")
    expect(heatmap.locator(".nsewdrag").first).to_be_visible(timeout=FIRST_LOAD_MS)
    heatmap.scroll_into_view_if_needed()
    wait_for_drawings(page)  # nothing above the heatmap may still move it
    row, col = 37, 90
    point = cell_centre(heatmap, row, col)
    page.mouse.click(point["x"], point["y"])

    inputs = page.get_by_test_id("stNumberInput")
    expect(inputs.filter(has_text="k (row)").locator("input")).to_have_value(str(row), timeout=30_000)
    expect(inputs.filter(has_text="column").locator("input")).to_have_value(str(col))
    expect(page.get_by_test_id("stHeading").filter(has_text=f"What G[{row}, {col}] adds up")).to_be_visible()
    # While the page re-renders, the old chart and the new one are both in the DOM: wait for the one that
    # shows the picked pair, then for the rerun to end, when it is the only one left.
    maps = page.locator(".st-key-pair_maps").get_by_test_id("stPlotlyChart")
    picked = maps.filter(has_text=f"channel {row}").filter(has_text=f"channel {col}")
    expect(picked.first).to_be_visible()
    expect(page).to_have_url(re.compile(rf"k={row}&k2={col}|k2={col}&k={row}"))
    wait_for_app(page)
    expect(maps).to_have_count(1)
    expect(picked).to_have_count(1)
    no_error_shown(page)
    screenshot(page, "gram_click")


# Records the text of every progress bar drawn. The server's runs are throttled (conftest.py:
# STYLE_LENS_TEST_STEP_DELAY_S), so the page polls a running run several times whatever the CPU.
_WATCH_PROGRESS = """() => {
    window.__progress = [];
    new MutationObserver(() => {
        const bar = document.querySelector('[data-testid=stProgress]');
        if (bar && window.__progress.at(-1) !== bar.innerText) window.__progress.push(bar.innerText);
    }).observe(document.body, {childList: true, subtree: true, characterData: true});
}"""


def test_a_tiny_run_shows_progress_then_its_result(page: Page, page_urls: dict[str, str]) -> None:
    open_page(page, page_urls["Run"])
    open_run_settings(page)
    set_number(page, "Size (px, longest side)", RUN_SIZE)
    set_number(page, "Steps", RUN_STEPS)
    page.evaluate(_WATCH_PROGRESS)
    page.get_by_role("button", name="Launch").click()

    # The page polls the job in a fragment, so the script state flips: wait on what is shown instead.
    progress = page.get_by_test_id("stProgress")
    done = page.get_by_test_id("stAlertContentSuccess")
    expect(progress.or_(page.get_by_text("Waiting in the queue"))).to_be_visible(timeout=30_000)
    expect(progress.filter(has_text=f" of {RUN_STEPS}").or_(done)).to_be_visible(timeout=RUN_DEADLINE_MS)
    if progress.is_visible():
        screenshot(page, "run_progress")
    expect(done).to_contain_text(f"{RUN_STEPS} steps", timeout=RUN_DEADLINE_MS)
    expect(progress).to_have_count(0)
    texts: list[str] = page.evaluate("() => window.__progress")
    assert texts, "no progress bar was drawn while the run went on"
    totals = {int(m[1]) for text in texts if (m := re.search(r"Step \d+ of (\d+)", text))}
    assert totals <= {RUN_STEPS}, texts
    expect(page.get_by_test_id("stImage").filter(has_text="the generated image").locator("img")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_test_id("stDownloadButton").filter(has_text="Download the image (PNG)").click()
    png = Path(download.value.path()).read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert max(Image.open(io.BytesIO(png)).size) == RUN_SIZE  # the longest side is the run's size
    wait_for_app(page)
    no_error_shown(page)
    screenshot(page, "run_result")

    # The result's link opens the comparison of its Gram matrices with the style's.
    page.get_by_role("link", name=re.compile("Compare Gram matrices")).click()
    expect(page.get_by_test_id("stHeading").first).to_contain_text("Style vs generated", timeout=FIRST_LOAD_MS)
    expect(page.get_by_role("combobox", name="Run")).to_have_value(re.compile("Run 1"))
    expect(page.locator(".st-key-svg_pair").get_by_test_id("stPlotlyChart")).to_be_visible(timeout=FIRST_LOAD_MS)
    wait_for_app(page)
    no_error_shown(page)
    screenshot(page, "style_vs_generated_run")
