"""The app on a projector (1280×720, Chromium's default zoom): what a class needs is in the first screen.
The Gram explorer's matrix whole, square, with a colour bar as tall as it; a click selects the cell under
the pointer (at 512 channels, where a cell is under a pixel, the block under it, and the magnifier the
cell); the lesson's matrices drive its drill-down; the Run page's preset and Launch, then the live run and
its result in the form's place; a shared run's image and numbers; Style vs generated's G_S | G_G pair.
The first screens are saved to artifacts/screenshots/projector-*.png (docs/screenshots/ has copies)."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Locator, Page, expect

from tests.e2e.e2e_helpers import (
    FIRST_LOAD_MS,
    SCREENSHOTS,
    cell_centre,
    no_error_shown,
    open_page,
    open_run_settings,
    scroll_to_top,
    set_number,
    wait_for_app,
    wait_for_drawings,
)

WIDTH, HEIGHT = 1280, 720
RUN_STEPS = 24  # at least 12 s at the test server's throttled pace: the live view is seen, whatever the CPU
RUN_DEADLINE_MS = 420_000


def test_the_explorer_heatmap_is_above_the_fold_square_and_as_tall_as_its_colour_bar(
    browser: Browser, page_urls: dict[str, str]
) -> None:
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    try:
        page = context.new_page()
        open_page(page, page_urls["Gram explorer"])
        chart = page.locator(".st-key-gram_click").get_by_test_id("stPlotlyChart")
        plot_area = chart.locator(".nsewdrag").first
        expect(plot_area).to_be_visible(timeout=FIRST_LOAD_MS)
        wait_for_drawings(page)
        no_error_shown(page)
        main = page.get_by_test_id("stMain").bounding_box()
        box, figure = plot_area.bounding_box(), chart.bounding_box()
        bar = chart.locator(".colorbar .cbfills").first.bounding_box()
        assert box is not None and figure is not None and bar is not None and main is not None
        # Seen whole without scrolling, and the largest thing on the page: over a third of the main width.
        assert 0 <= figure["y"] and figure["y"] + figure["height"] <= HEIGHT, figure
        assert box["width"] >= main["width"] / 3, (box, main)
        assert abs(box["width"] - box["height"]) <= 0.03 * box["height"], box
        # The colour bar spans the matrix's height, not the whole figure's.
        assert abs(bar["height"] - box["height"]) <= 0.03 * box["height"], (bar, box)
        assert abs(bar["y"] - box["y"]) <= 0.03 * box["height"], (bar, box)
    finally:
        context.close()


def _projector(browser: Browser) -> Page:
    return browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}).new_page()


def _above_the_fold(locator: Locator, timeout: float = 30_000) -> None:
    """Seen whole in the first screen of a 1280×720 projector: y ≥ 0 and y + height ≤ 720 (waited for)."""
    expect(locator).to_be_in_viewport(ratio=1.0, timeout=timeout)
    box = locator.bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= HEIGHT, box


def _shot(page: Page, name: str) -> None:
    """The first screen, as the class sees it, to artifacts/screenshots/<name>.png."""
    wait_for_drawings(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def _bottom(locator: Locator) -> float:
    box = locator.bounding_box()
    assert box is not None
    return box["y"] + box["height"]


def test_a_click_on_a_deep_layer_selects_the_cell_under_the_pointer(
    browser: Browser, page_urls: dict[str, str]
) -> None:
    """relu3_1 and deeper used to answer a click with the centre of a 2×2 or 4×4 block of cells."""
    page = _projector(browser)
    try:
        inputs = page.get_by_test_id("stNumberInput")

        def click(chart: Locator, row: float, col: float, k: int, k2: int) -> None:
            """Click display position (row, col) of ``chart``; it must select channels (k, k')."""
            point = cell_centre(chart, row, col)
            page.mouse.click(round(point["x"]), round(point["y"]))  # what a mouse sends: whole pixels
            expect(inputs.filter(has_text="k (row)").locator("input")).to_have_value(str(k), timeout=60_000)
            expect(inputs.filter(has_text="column").locator("input")).to_have_value(str(k2))
            wait_for_app(page)

        # relu3_1 (256 channels): a cell is about 1.3 px here, and (200, 76) is no block's centre.
        open_page(page, f"{page_urls['Gram explorer']}?layer=relu3_1")
        heatmap = page.locator(".st-key-gram_click").get_by_test_id("stPlotlyChart")
        expect(heatmap.locator(".nsewdrag").first).to_be_visible(timeout=FIRST_LOAD_MS)
        wait_for_drawings(page)
        click(heatmap, 200, 76, 200, 76)  # natural order: display cell = channels
        expect(page.get_by_test_id("stHeading").filter(has_text="What G[200, 76] adds up")).to_be_visible()

        # relu5_1 (512 channels): a cell is smaller than a pixel here, so the click picks the 2×2 block under
        # the pointer, and the magnifier beside it shows those cells one by one, for the exact one.
        open_page(page, f"{page_urls['Gram explorer']}?layer=relu5_1")
        heatmap = page.locator(".st-key-gram_click").get_by_test_id("stPlotlyChart")
        expect(heatmap.locator(".nsewdrag").first).to_be_visible(timeout=FIRST_LOAD_MS)
        wait_for_drawings(page)
        click(heatmap, 300.5, 410.5, 300, 410)  # the middle of cells 300-301 × 410-411: the block's first cell
        magnifier = page.locator(".st-key-gram_window").get_by_test_id("stPlotlyChart")
        expect(magnifier.locator(".nsewdrag").first).to_be_visible()
        magnifier.scroll_into_view_if_needed()  # below the first screen, in the side column
        # Its first row and column are labelled with their channels; the window runs in natural order.
        first_k, first_k2 = magnifier.locator(".js-plotly-plot").evaluate(
            "gd => [Number(gd.layout.yaxis.ticktext[0]), Number(gd.layout.xaxis.ticktext[0])]"
        )
        click(magnifier, 301 - first_k, 412 - first_k2, 301, 412)
        no_error_shown(page)
    finally:
        page.context.close()


def test_the_run_page_opens_on_the_preset_and_launch(browser: Browser, page_urls: dict[str, str]) -> None:
    page = _projector(browser)
    try:
        open_page(page, page_urls["Run"])
        no_error_shown(page)
        _above_the_fold(page.get_by_role("button", name="Launch"))
        _above_the_fold(page.get_by_role("combobox", name="Preset").last)  # the page's own, not the sidebar's
        _above_the_fold(page.get_by_test_id("stMetric").filter(has_text="Estimated time"))
        expect(page.get_by_label("Size (px, longest side)", exact=True)).to_be_hidden()  # the details: folded
        _shot(page, "projector-run")
    finally:
        page.context.close()


def test_a_run_takes_the_forms_place_and_its_link_opens_on_its_image(
    browser: Browser, page_urls: dict[str, str]
) -> None:
    """Live preview, then the result, in the first screen; the shared link opens on the image and numbers;
    Style vs generated shows G_S and G_G whole."""
    page = _projector(browser)
    other = _projector(browser)
    try:
        open_page(page, page_urls["Run"])
        open_run_settings(page)
        set_number(page, "Size (px, longest side)", 64)
        set_number(page, "Steps", RUN_STEPS)
        page.get_by_text("Device and snapshots").click()
        set_number(page, "Snapshot every (steps)", 4)
        scroll_to_top(page)
        page.get_by_role("button", name="Launch").click()

        main = page.get_by_test_id("stMain")
        # Throttled steps (conftest: STYLE_LENS_TEST_STEP_DELAY_S) keep the run live for seconds on any CPU.
        _above_the_fold(main.get_by_test_id("stImage").filter(has_text=re.compile(r"^Step \d+$")), RUN_DEADLINE_MS)
        _above_the_fold(page.get_by_role("button", name="Stop"))
        expect(page.get_by_role("button", name="Launch")).to_be_hidden()  # the form folded below the run
        _shot(page, "projector-run-live")

        done = page.get_by_test_id("stAlertContentSuccess")
        expect(done).to_contain_text(f"{RUN_STEPS} steps", timeout=RUN_DEADLINE_MS)
        wait_for_app(page)
        scroll_to_top(page)
        result = main.get_by_test_id("stImage").filter(has_text="the generated image").locator("img")
        _above_the_fold(result)
        _above_the_fold(page.get_by_test_id("stMetric").filter(has_text="Final J_style"))
        no_error_shown(page)
        _shot(page, "projector-run-done")
        link = page.get_by_test_id("stCode").filter(has_text="?run=").inner_text().strip()

        open_page(other, link)
        no_error_shown(other)
        shared = other.get_by_test_id("stMain").get_by_test_id("stImage").filter(has_text="the generated image")
        _above_the_fold(shared.locator("img"))
        _above_the_fold(other.get_by_test_id("stMetric").filter(has_text="Final J_style"))
        _above_the_fold(other.get_by_role("button", name="Use these settings"))
        expect(other.get_by_role("button", name="Launch")).to_be_hidden()  # the settings: folded
        _shot(other, "projector-run-shared")

        open_page(other, link.replace("/stylize?", "/compare?"))
        pair = other.locator(".st-key-svg_pair").get_by_test_id("stPlotlyChart")
        expect(pair.locator(".nsewdrag")).to_have_count(2, timeout=FIRST_LOAD_MS)
        wait_for_drawings(other)
        no_error_shown(other)
        _above_the_fold(pair)
        for panel in pair.locator(".nsewdrag").all():  # G_S and G_G, each whole and square
            box = panel.bounding_box()
            assert box is not None and _bottom(panel) <= HEIGHT and abs(box["width"] - box["height"]) <= 2, box
        _shot(other, "projector-style-vs-generated")
    finally:
        page.context.close()
        other.context.close()


def test_a_click_on_the_lessons_gram_matrix_drives_its_drill_down(browser: Browser, page_urls: dict[str, str]) -> None:
    page = _projector(browser)
    try:
        open_page(page, page_urls["Lesson"])
        heatmap = page.locator(".st-key-lesson_raw").get_by_test_id("stPlotlyChart")
        expect(heatmap.locator(".nsewdrag").first).to_be_visible(timeout=FIRST_LOAD_MS)
        heatmap.scroll_into_view_if_needed()
        wait_for_drawings(page)
        point = cell_centre(heatmap, 100, 20)  # relu2_1, the lesson's first layer: 128 channels
        page.mouse.click(round(point["x"]), round(point["y"]))
        expect(page.get_by_label("k (row)", exact=True)).to_have_value("100", timeout=60_000)
        expect(page.get_by_label("k′ (column)", exact=True)).to_have_value("20")
        maps = page.locator(".st-key-lesson_cell_maps").get_by_test_id("stPlotlyChart")
        expect(maps.filter(has_text="channel 100").filter(has_text="product 100 × 20")).to_be_visible()
        wait_for_app(page)
        no_error_shown(page)
    finally:
        page.context.close()
