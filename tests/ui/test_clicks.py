"""A click's selection event, as Streamlit hands it over, becomes the cell (k, k') it was on."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from nst_core.figures import OVERLAY_CELLS, gram_heatmap
from ui.clicks import clicked_cell


def _event(point: dict[str, Any]) -> dict[str, Any]:
    return {"selection": {"points": [point], "point_indices": [point["point_index"]]}}


def _marker(figure: Any, index: int) -> dict[str, Any]:
    """The point Streamlit reports for a click on marker ``index`` of the figure's click layer."""
    overlay = figure.data[1]
    point: dict[str, Any] = {
        "curve_number": 1,
        "point_index": index,
        "x": float(overlay.x[index]),
        "y": float(overlay.y[index]),
    }
    if overlay.customdata is not None:
        # A typed array's row arrives as an object keyed by column.
        point["customdata"] = {str(i): int(v) for i, v in enumerate(overlay.customdata[index])}
    return point


@pytest.mark.parametrize("ordered", [False, True], ids=["natural", "clustered"])
def test_a_click_on_any_cell_of_relu3_1_gives_that_cell(ordered: bool) -> None:
    n = OVERLAY_CELLS  # 256, relu3_1's channels
    matrix = np.random.default_rng(0).random((n, n), dtype=np.float32)
    order = np.random.default_rng(1).permutation(n) if ordered else np.arange(n)
    figure = gram_heatmap(matrix, "raw", order)
    for row, col in ((200, 76), (0, 0), (n - 1, 1), (127, 128)):
        index = row * n + col  # the marker on display row ``row``, column ``col``
        assert clicked_cell(_event(_marker(figure, index))) == (int(order[row]), int(order[col]))


def test_a_click_on_a_block_of_a_larger_matrix_gives_its_first_cell() -> None:
    n = 2 * OVERLAY_CELLS
    figure = gram_heatmap(np.random.default_rng(0).random((n, n), dtype=np.float32), "raw")
    index = 150 * OVERLAY_CELLS + 205  # block (150, 205): cells 300-301 × 410-411
    assert clicked_cell(_event(_marker(figure, index))) == (300, 410)


def test_a_list_customdata_and_no_selection() -> None:
    assert clicked_cell({"selection": {"points": [{"customdata": [4, 7, 0.5], "x": 1, "y": 2}]}}) == (4, 7)
    assert clicked_cell({"selection": {"points": []}}) is None
    assert clicked_cell(None) is None
