"""The Gram explorer on a projector: at 1280×720 the matrix is seen whole without scrolling, square, with
a colour bar as tall as it."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.e2e.e2e_helpers import FIRST_LOAD_MS, no_error_shown, open_page, wait_for_drawings

WIDTH, HEIGHT = 1280, 720


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
