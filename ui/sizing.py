"""Figures whose height follows the width of the column they are drawn in.

Plotly sizes a figure's width to its element but takes its height as given, so a square heatmap in a
column of unknown width is either cut short or left in blank space. CSS can do what the server cannot
know: the element's height is computed in the browser from the container's width (``cqw`` units).
"""

from __future__ import annotations

from typing import Any, Final

import streamlit as st

PAIR_FIGURE_HEIGHT: Final = "calc(18cqw + 65px)"
"""``channel_pair_figure`` with the image: four square panels of 18 % of the plot width (the width less
160 px of margins) and 100 px of margins, a little short so that the colour bars keep the panels' height."""

PAIR_MAPS_HEIGHT: Final = "calc(25cqw + 60px)"
"""``channel_pair_figure`` without the image: three square panels of 26 % of the plot width, likewise."""


def width_sized_chart(figure: Any, key: str, height: str, **options: Any) -> None:
    """``figure`` (built with ``height=None``) drawn ``height`` tall, a CSS length in which ``100cqw`` is the
    width of the chart's container (e.g. ``"calc(100cqw - 100px)"``); ``options`` go to ``st.plotly_chart``."""
    box = f"{key}_box"
    st.html(
        f"<style>.st-key-{box} {{ container-type: inline-size; }}"
        f" .st-key-{box} [data-testid='stPlotlyChart'] {{ height: {height} !important; }}</style>"
    )
    with st.container(key=box):
        st.plotly_chart(figure, theme=None, key=key, height="stretch", **options)
