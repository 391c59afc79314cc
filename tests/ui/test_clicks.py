"""A click's selection event, as Streamlit hands it over, becomes the cell (k, k') it was on."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from nst_core.figures import gram_heatmap
from ui.clicks import clicked_cell


def _event(point: dict[str, Any]) -> dict[str, Any]:
    return {"selection": {"points": [point], "point_indices": [point["point_index"]]}}


def _marker(figure: Any, index: int) -> dict[str, Any]:
    """The point Streamlit reports for a click on marker ``index`` of the figure's click layer."""
    overlay = figure.data[1]
    point: dict[str, Any] = {
        "curve_number": 1,
        "point_index": index,
        "x": int(overlay.x[index]),
        "y": int(overlay.y[index]),
    }
    if overlay.customdata is not None:
        # A typed array's row arrives as an object keyed by column.
        point["customdata"] = {str(i): int(v) for i, v in enumerate(overlay.customdata[index])}
    return point


@pytest.mark.parametrize("ordered", [False, True], ids=["natural", "clustered"])
def test_a_click_on_any_cell_of_a_deep_layer_gives_that_cell(ordered: bool) -> None:
    n = 512
    matrix = np.random.default_rng(0).random((n, n), dtype=np.float32)
    order = np.random.default_rng(1).permutation(n) if ordered else np.arange(n)
    figure = gram_heatmap(matrix, "raw", order)
    for row, col in ((300, 411), (0, 0), (n - 1, 1), (255, 256)):
        index = row * n + col  # the marker on display row ``row``, column ``col``
        assert clicked_cell(_event(_marker(figure, index))) == (int(order[row]), int(order[col]))


def test_a_list_customdata_and_no_selection() -> None:
    assert clicked_cell({"selection": {"points": [{"customdata": [4, 7, 0.5], "x": 1, "y": 2}]}}) == (4, 7)
    assert clicked_cell({"selection": {"points": []}}) is None
    assert clicked_cell(None) is None
