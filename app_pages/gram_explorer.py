"""Gram explorer: one layer's Gram matrix, and what a single entry G[k, k'] adds up."""

from __future__ import annotations

from functools import partial
from typing import Final

import numpy as np
import streamlit as st
from torch import Tensor

from nst_core.explain import PairSummary, pair_summary
from nst_core.figures import (
    channel_mosaic,
    channel_pair_figure,
    click_block,
    gram_heatmap,
    gram_thumbnail,
    gram_window,
    view_colours,
)
from nst_core.gram_views import (
    ORDERINGS,
    VIEW_LABELS,
    VIEW_MENU,
    VIEWS,
)
from nst_core.layers import DEFAULT_STYLE_LAYERS, LAYER_CHANNELS, RELU_LAYERS
from ui.channel_detail import channel_detail, largest_product_note
from ui.clicks import pick_clicked_cell
from ui.firing_pairs import firing_pairs
from ui.latex import number
from ui.pickers import analysed_image_picker, analysis_note
from ui.resources import analysed_rgb, gram, layer_activations, ordering
from ui.sizing import PAIR_FIGURE_HEIGHT, width_sized
from ui.state import PickedImage
from ui.url_params import index_from_link, initial_choice, keep_in_link, note_unknown_choice

DEFAULT_LAYER: Final = "relu3_1"
GRID_SIZES: Final = [16, 32, 64, 128]
MAGNIFIER_CELLS: Final = 16
SMALL_CELLS_FROM: Final = 128  # more channels than this: a cell of the matrix is about a pixel on a projector


def _open_layer(layer: str) -> None:
    st.session_state["layer"] = layer


def _pick_pair(k: int, k2: int) -> None:
    st.session_state["k"], st.session_state["k2"] = k, k2


def _click_hint(n_c: int) -> None:
    """How to pick one cell where cells are about a screen pixel or smaller."""
    block = click_block(n_c)
    if block > 1:
        st.caption(
            f"A cell of {n_c} channels is smaller than a screen pixel: a click picks the {block}×{block} block "
            "under the pointer (its first cell), and the magnifier beside shows the cells around it one by one: "
            "click the exact cell there."
        )
    elif n_c > SMALL_CELLS_FROM:
        st.caption(
            "A click selects the cell under the pointer, the one the hover names. Cells here are about a pixel: "
            "drag a box over the matrix to zoom in, then click (double-click zooms out), or click in the magnifier."
        )


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
    with left:
        # Bound widgets write their displayed text into the URL, so their options are plain names.
        layer = st.selectbox(
            "Layer", RELU_LAYERS, index=RELU_LAYERS.index(DEFAULT_LAYER), key="layer", bind="query-params"
        )
    with right:
        view = st.selectbox(
            "View",
            VIEWS,
            format_func=VIEW_MENU.get,
            key="view",
            bind="query-params",
            help="  \n".join(f"**{VIEW_MENU[name]}**: {label}" for name, label in VIEW_LABELS.items()),
        )
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


def _formula(layer: str, a: Tensor, pair: PairSummary) -> None:
    n_h, n_w = a.shape[-2:]
    k, k2 = pair.k, pair.k2
    last = (n_h - 1, n_w - 1)
    terms = [(0, 0), (0, 1), last] if n_w > 1 else [(0, 0), last]
    shown = [f"{number(float(a[k, i, j]), 3)} \\cdot {number(float(a[k2, i, j]), 3)}" for i, j in terms]
    name = layer.replace("_", "\\_")
    st.latex(
        f"G^{{[\\text{{{name}}}]}}_{{{k},{k2}}} = "
        f"\\sum_{{i=1}}^{{{n_h}}} \\sum_{{j=1}}^{{{n_w}}} a_{{i j {k}}}\\, a_{{i j {k2}}}"
        f" = {shown[0]} + {' + '.join(shown[1:-1]) + ' + ' if len(shown) > 2 else ''}"
        f"\\dots + {shown[-1]} = {number(pair.g, 6)}"
    )
    st.markdown(
        f"{pair.nonzero} of {pair.n_positions} positions (n_H × n_W = {n_h} × {n_w}) have a non-zero product: "
        f"both channels fire there; grey cells of the product are exactly 0. {largest_product_note(pair)} "
        "Channels are numbered from 0, positions from 1."
    )


def _clamp_cell(n_c: int, layer: str) -> None:
    """Bring k and k' into a new layer's range before their inputs are drawn, and say so: an input
    whose value is out of range would silently fall back to its default."""
    for key, name in (("k", "k"), ("k2", "k′")):
        value = st.session_state.get(key)
        if value is not None and value > n_c - 1:
            st.session_state[key] = n_c - 1
            st.info(f"{layer} has {n_c} channels (0 to {n_c - 1}): {name} = {value} is shown as {name} = {n_c - 1}.")


def _cell_inputs(n_c: int, layer: str) -> tuple[int, int]:
    # k and k' follow the URL by hand, not by ``bind``: Streamlit's binding raises on ?k=1e309 and silently
    # drops an out-of-range value; here a link's value is checked against this layer's channels first.
    defaults = {"k": 0, "k2": min(1, n_c - 1)}
    for key, name in (("k", "k"), ("k2", "k′")):
        index_from_link(key, name, n_c, defaults[key], f"{layer} has channels 0 to {n_c - 1}")
        st.session_state.setdefault(key, defaults[key])
    _clamp_cell(n_c, layer)
    st.markdown("**Selected cell** (click the heatmap, or type)")
    left, right = st.columns(2)
    k = left.number_input("k (row)", min_value=0, max_value=n_c - 1, step=1, key="k")
    k2 = right.number_input("k′ (column)", min_value=0, max_value=n_c - 1, step=1, key="k2")
    for key, value in (("k", k), ("k2", k2)):
        keep_in_link(key, int(value), defaults[key])
    return int(k), int(k2)


def _cell_values(matrix: np.ndarray, view: str, pair: PairSummary) -> None:
    k, k2 = pair.k, pair.k2
    st.metric(f"G[{k}, {k2}] (raw Gram, as in the cost)", f"{pair.g:.6g}")
    if view != "raw":
        st.metric(f"{VIEW_LABELS[view]} [{k}, {k2}]", f"{float(matrix[k, k2]):.4g}")
    st.markdown(f"Correlation of channels {k} and {k2} over the image: **{pair.correlation:+.3f}**")


def _magnifier(matrix: np.ndarray, view: str, order: np.ndarray, k: int, k2: int) -> None:
    """The cells around (k, k') one by one: in a large matrix a cell is smaller than a screen pixel."""
    position = np.argsort(order)
    side = min(MAGNIFIER_CELLS, len(order))

    def window(channel: int) -> np.ndarray:
        start = int(np.clip(position[channel] - side // 2, 0, len(order) - side))
        return order[start : start + side]

    st.markdown(f"**Around G[{k}, {k2}]** (click a cell)")
    figure = gram_window(matrix, view, window(k), window(k2), (k, k2), view_colours(matrix, view))
    st.plotly_chart(
        figure,
        theme=None,
        key="gram_window",
        on_select=partial(pick_clicked_cell, "gram_window", "k", "k2"),
        selection_mode="points",
    )


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
        k, k2 = _cell_inputs(n_c, layer)
    with plot:
        st.subheader(f"{VIEW_LABELS[view]} of {layer} · {image.label}")
        # Square and as tall as its colour bar: the figure's margins are 80 px tall and, with the colour
        # bar, 180 px wide; no taller than the window below the title, so it is seen whole.
        with width_sized("gram_box", "min(calc(100cqw - 100px), calc(100vh - 290px))"):
            st.plotly_chart(
                gram_heatmap(matrix, view, order, selected=(k, k2), height=None),
                theme=None,
                key="gram_click",
                on_select=partial(pick_clicked_cell, "gram_click", "k", "k2"),
                selection_mode="points",
                height="stretch",
            )
        # Text, not a caption: these are the lesson's numbers, read from the back of a room.
        st.markdown(f"{layer}: **n_C = {n_c}** channels, each a map of **n_H × n_W = {n_h} × {n_w}** positions.")
        _click_hint(n_c)
    pair = pair_summary(a, k, k2)
    with side:
        _cell_values(matrix, view, pair)
        _magnifier(matrix, view, order, k, k2)
    st.caption(
        "Style, in Gatys et al.'s sense, is which channels of a layer fire together. G[k, k′] sums, over every "
        "position of the image, channel k's activation times channel k′'s."
    )

    st.subheader(f"What G[{k}, {k2}] adds up")
    maps = a.numpy()
    with width_sized("pair_box", PAIR_FIGURE_HEIGHT):
        st.plotly_chart(
            channel_pair_figure(maps[k], maps[k2], k, k2, analysed_rgb(image), height=None),
            theme=None,
            key="pair_maps",
            height="stretch",
        )
    _formula(layer, a, pair)
    channel_detail(image, layer, k, k2, key="explorer")

    firing_pairs(image, layer, a, _pick_pair)
    _channel_grid(a, layer, order, order_method)
    with st.expander("The five style layers at a glance", expanded=False):
        _thumbnails(image, view)


main()
