"""Clicks on Gram heatmaps: the one way every page turns a click into the cell (k, k') it selects."""

from __future__ import annotations

from functools import partial
from typing import Any

import streamlit as st


def clicked_cell(event: Any) -> tuple[int, int] | None:
    """The (k, k') of the first clicked marker in a ``gram_heatmap``/``gram_window`` selection event, or None.

    A marker carries its channels as customdata where the figure's order is not the natural one, else its
    (y, x) are the channels. A row of a typed array reaches Python as {"0": k, "1": k'}, a list as a list.
    """
    for point in event["selection"]["points"] if event else []:
        if cell := point.get("customdata"):
            k, k2 = (cell["0"], cell["1"]) if isinstance(cell, dict) else cell[:2]
            return int(k), int(k2)
        if point.get("x") is not None and point.get("y") is not None:
            return int(point["y"]), int(point["x"])
    return None


def picks_cell(chart: str, k_key: str, k2_key: str) -> dict[str, Any]:
    """``st.plotly_chart``'s options for the heatmap drawn with key ``chart``: a click puts its cell's k and k'
    into the session keys of the inputs that show them."""
    return {"on_select": partial(pick_clicked_cell, chart, k_key, k2_key), "selection_mode": "points"}


def pick_clicked_cell(chart: str, k_key: str, k2_key: str) -> None:
    """``picks_cell``'s ``on_select`` callback."""
    if (cell := clicked_cell(st.session_state.get(chart))) is not None:
        st.session_state[k_key], st.session_state[k2_key] = cell
