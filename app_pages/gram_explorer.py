"""Gram explorer: one layer's Gram matrix, and what a single entry G[k, k'] adds up."""

from __future__ import annotations

from typing import Final

import numpy as np
import streamlit as st
from torch import Tensor

from nst_core.explain import pair_summary
from nst_core.figures import channel_mosaic, channel_pair_figure, gram_heatmap, gram_thumbnail
from nst_core.gram_views import ORDERINGS, VIEW_LABELS, VIEW_MENU, VIEWS
from nst_core.layers import DEFAULT_STYLE_LAYERS, LAYER_CHANNELS, RELU_LAYERS
from ui.channel_detail import channel_detail
from ui.clicks import picks_cell
from ui.firing_pairs import firing_pairs
from ui.gram_cell import cell_formula, cell_inputs, cell_values, click_hint, magnifier
from ui.pickers import analysed_image_picker, analysis_note
from ui.resources import analysed_rgb, gram, layer_activations, ordering
from ui.sizing import PAIR_FIGURE_HEIGHT, width_sized_chart
from ui.state import PickedImage
from ui.url_params import initial_choice, note_unknown_choice

DEFAULT_LAYER: Final = "relu3_1"
GRID_SIZES: Final = [16, 32, 64, 128]


def _open_layer(layer: str) -> None:
    st.session_state["layer"] = layer


def _thumbnails(image: PickedImage, view: str) -> None:
    # Bottom-aligned: a caption that wraps onto two lines must not lift its button above its neighbours.
    columns = st.columns(len(DEFAULT_STYLE_LAYERS), vertical_alignment="bottom")
    for column, layer in zip(columns, DEFAULT_STYLE_LAYERS, strict=True):
        with column:
            st.image(
                gram_thumbnail(gram(image, layer, view), view), caption=f"{layer}: {LAYER_CHANNELS[layer]} channels"
            )
            st.button(f"Open {layer}", key=f"open_{layer}", on_click=_open_layer, args=(layer,), width="stretch")


def _controls() -> tuple[str, str, str]:
    linked = {key: initial_choice(key) for key in ("layer", "view", "order")}
    left, right = st.columns(2)
    # Bound widgets write their displayed text into the URL, so their options are plain names.
    layer = left.selectbox(
        "Layer", RELU_LAYERS, index=RELU_LAYERS.index(DEFAULT_LAYER), key="layer", bind="query-params"
    )
    views_help = "  \n".join(f"**{VIEW_MENU[name]}**: {label}" for name, label in VIEW_LABELS.items())
    view = right.selectbox("View", VIEWS, format_func=VIEW_MENU.get, key="view", bind="query-params", help=views_help)
    order = st.radio(
        "Channel order",
        ORDERINGS,
        horizontal=True,
        key="order",
        bind="query-params",
        help="Clustered: channels that fire together are put next to each other, so blocks appear.",
    )
    for key, raw in linked.items():
        note_unknown_choice(key, raw, key)
    return layer, view, order


def _channel_grid(a: Tensor, layer: str, order: np.ndarray, order_method: str) -> None:
    st.subheader(f"Channel maps of {layer}")
    n_c = a.shape[0]
    sizes = [size for size in GRID_SIZES if size <= n_c] or [n_c]
    count = st.select_slider("Channels shown", sizes, value=min(32, sizes[-1]), key="grid_n")
    shown = order[:count]
    st.plotly_chart(
        channel_mosaic(
            a.numpy()[shown], shown.tolist(), columns=8, title=f"First {count} channels in {order_method} order"
        ),
        theme=None,
        key="channel_grid",
    )


def main() -> None:
    st.title("Gram explorer")
    # The matrix comes first and fills its column: a change of layer, view or order shows without scrolling.
    plot, side = st.columns([2, 1], gap="medium")
    with side:
        linked_image = initial_choice("image")
        image = analysed_image_picker()
        note_unknown_choice("image", linked_image, "image")
        st.caption(analysis_note(image))
        layer, view, order_method = _controls()
    a = layer_activations(image, layer)
    n_c, n_h, n_w = a.shape
    matrix = gram(image, layer, view)
    order = ordering(image, layer, order_method)
    with side:
        k, k2 = cell_inputs(n_c, layer)
    with plot:
        st.subheader(f"{VIEW_LABELS[view]} of {layer} · {image.label}")
        # Square and as tall as its colour bar: the figure's margins are 80 px tall and, with the colour
        # bar, 180 px wide; no taller than the window below the title, so it is seen whole.
        figure = gram_heatmap(matrix, view, order, selected=(k, k2), height=None)
        height = "min(calc(100cqw - 100px), calc(100vh - 290px))"
        width_sized_chart(figure, "gram_click", height, **picks_cell("gram_click", "k", "k2"))
        # Text, not a caption: these are the lesson's numbers, read from the back of a room.
        st.markdown(f"{layer}: **n_C = {n_c}** channels, each a map of **n_H × n_W = {n_h} × {n_w}** positions.")
        click_hint(n_c)
    pair = pair_summary(a, k, k2)
    with side:
        cell_values(matrix, view, pair)
        magnifier(matrix, view, order, k, k2)
    st.caption(
        "Style, in Gatys et al.'s sense, is which channels of a layer fire together. G[k, k′] sums, over every "
        "position of the image, channel k's activation times channel k′'s."
    )

    st.subheader(f"What G[{k}, {k2}] adds up")
    maps = a.numpy()
    figure = channel_pair_figure(maps[k], maps[k2], k, k2, analysed_rgb(image), height=None)
    width_sized_chart(figure, "pair_maps", PAIR_FIGURE_HEIGHT)
    cell_formula(layer, a, pair)
    channel_detail(image, layer, k, k2, key="explorer")

    firing_pairs(image, layer, a, lambda k, k2: st.session_state.update(k=k, k2=k2))
    _channel_grid(a, layer, order, order_method)
    with st.expander("The five style layers at a glance", expanded=False):
        _thumbnails(image, view)


main()
