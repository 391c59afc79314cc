"""The lesson's first steps, what a Gram matrix is: style as channels firing together (1), two channels
found by probes with their Gram entry (2), the whole matrix and one entry's sum, cell by cell (3)."""

from __future__ import annotations

from typing import Final

import numpy as np
import streamlit as st
import torch

from nst_core.explain import FeatureChannels, find_feature_channels, pair_summary, probe_images
from nst_core.figures import channel_mosaic, channel_pair_figure, click_block, gram_heatmap
from nst_core.gram_views import VIEW_LABELS

from .channel_detail import channel_detail
from .clicks import picks_cell
from .latex import escaped
from .resources import activations, analysed_rgb, get_extractor, gram
from .sizing import PAIR_FIGURE_HEIGHT, PAIR_MAPS_HEIGHT, width_sized_chart
from .state import PickedImage, current_device, current_weights

PROBE_PX: Final = 170
CELL_KEYS: Final = ("lesson_k", "lesson_k2")
"""Session keys of the step-3 cell (k, k'): its inputs, which a click on either matrix sets."""
CELL_LAYER_KEY: Final = "lesson_cell_layer"
"""Session key: the layer of the step-3 cell."""


@st.cache_data(show_spinner="Probing the channels…", max_entries=64)
def _feature_channels(layer: str, weights: str, device: str) -> FeatureChannels:
    del weights, device  # cache key only: get_extractor() reads them from the session
    return find_feature_channels(get_extractor(), layer)


def step_correlation(style: PickedImage, layer: str) -> None:
    st.header("1 · Style is a correlation between channels")
    a = activations(style, [layer])[layer]
    n_c, n_h, n_w = a.shape
    text, numbers = st.columns([2, 3])
    text.markdown(
        f"Pick one layer, here **{layer}**. For the style image it holds **n_C = {n_c}** channels, each an "
        f"**n_H × n_W = {n_h} × {n_w}** map of how strongly that channel's pattern is present at each place.\n\n"
        "The *style* of the image is then: **which channels fire together, at the same places**, over the whole "
        "picture. Where in the picture does not matter; how often two features co-occur does."
    )
    first = min(8, n_c)
    numbers.plotly_chart(
        channel_mosaic(
            a[:first].numpy(), list(range(first)), columns=4, title=f"The first {first} of {n_c} channel maps"
        ),
        theme=None,
        key="lesson_blocks",
    )


def step_intuition(style: PickedImage, content: PickedImage, layer: str) -> FeatureChannels:
    st.header("2 · Intuition: vertical strokes that are orange")
    found = _feature_channels(layer, current_weights(), current_device())
    v, o = found.vertical, found.orange
    probes = probe_images()
    columns = st.columns(len(probes))
    captions = {
        "vertical": f"vertical stripes: channel {v.channel} = {v.on_probe:.3g}",
        "horizontal": f"horizontal stripes: channel {v.channel} = {v.on_contrast:.3g}",
        "orange": f"orange: channel {o.channel} = {o.on_probe:.3g}",
        "grey": f"grey, same brightness: channel {o.channel} = {o.on_contrast:.3g}",
    }
    for column, (name, probe) in zip(columns, probes.items(), strict=True):
        column.image((probe[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8), width=PROBE_PX)
        column.markdown(captions[name])  # not a caption: these numbers are the lesson's, read from afar
    st.markdown(
        f"Show the network four test patterns. In **{layer}**, channel **{v.channel}** responds more to vertical "
        f"than to horizontal stripes (mean activation {v.on_probe:.3g} vs {v.on_contrast:.3g}): call it the "
        f"*vertical-lines* channel. Channel **{o.channel}** responds more to orange than to a grey of the same "
        f"brightness ({o.on_probe:.3g} vs {o.on_contrast:.3g}): the *orange* channel."
    )
    a_s = activations(style, [layer])[layer]
    a_c = activations(content, [layer])[layer]
    s_pair, c_pair = pair_summary(a_s, v.channel, o.channel), pair_summary(a_c, v.channel, o.channel)
    maps = a_s.numpy()
    figure = channel_pair_figure(
        maps[v.channel], maps[o.channel], v.channel, o.channel, analysed_rgb(style), height=None
    )
    width_sized_chart(figure, "lesson_pair", PAIR_FIGURE_HEIGHT)
    pair = f"[{v.channel}, {o.channel}]"
    for column, name, summary in zip(st.columns(2), ("Style image", "Content image"), (s_pair, c_pair), strict=True):
        # The channel numbers in text: a metric's label is smaller than 16 px.
        column.markdown(f"**{name}**: channels {v.channel} and {o.channel}")
        g_column, r_column = column.columns(2)
        g_column.metric("G per position", f"{summary.per_position:.4g}")
        r_column.metric("correlation", f"{summary.correlation:+.2f}")
        g_column.markdown(f"G{pair} = {summary.g:.4g}, a sum over {summary.n_positions} positions")
    st.markdown(
        "If the style image's vertical strokes are orange, the two channels fire at the same places, their "
        "product is large wherever there is a stroke, and so is their Gram entry: *whenever there is vertical "
        "texture, it tends to be orange*. A generated image has this style when its own entry matches."
    )
    channel_detail(style, layer, v.channel, o.channel, key="lesson")
    if current_weights() == "random":
        st.caption(
            "These weights are random (untrained): the probes still find the most selective channels, but no "
            "channel is as cleanly tuned as in a trained network."
        )
    return found


def _seed_cell(layer: str, n_c: int, found: FeatureChannels) -> tuple[int, int]:
    """The step-3 cell (k, k'): the one clicked or typed, else step 2's pair; back to step 2's pair of a new
    layer when the layer changes (a cell of another layer means nothing here)."""
    state = st.session_state
    if state.get(CELL_LAYER_KEY) != layer or state.get(CELL_KEYS[0]) is None or state.get(CELL_KEYS[1]) is None:
        state[CELL_KEYS[0]], state[CELL_KEYS[1]] = found.vertical.channel, found.orange.channel
        state[CELL_LAYER_KEY] = layer
    k, k2 = (min(int(state[key]), n_c - 1) for key in CELL_KEYS)
    state[CELL_KEYS[0]], state[CELL_KEYS[1]] = k, k2
    return k, k2


def _cell_drilldown(style: PickedImage, layer: str, a: torch.Tensor) -> None:
    """What the selected entry G[k, k'] adds up: both maps over the style image, their product, the sum."""
    n_c, n_h, n_w = a.shape
    st.markdown(
        "**Click a cell of either matrix** (or type k and k′): below, the two channel maps whose products "
        "G[k, k′] sums, over the style image S."
    )
    if (block := click_block(n_c)) > 1:
        st.caption(
            f"With {n_c} channels a cell is smaller than a screen pixel: a click picks the first cell of the "
            f"{block}×{block} block under the pointer; type k and k′ for any other."
        )
    left, right, _ = st.columns([1, 1, 2])
    k = int(left.number_input("k (row)", min_value=0, max_value=n_c - 1, step=1, key=CELL_KEYS[0]))
    k2 = int(right.number_input("k′ (column)", min_value=0, max_value=n_c - 1, step=1, key=CELL_KEYS[1]))
    pair = pair_summary(a, k, k2)
    maps = a.numpy()
    # Without the picture (step 2 showed it): three wider panels, to be read from the back of a room.
    width_sized_chart(channel_pair_figure(maps[k], maps[k2], k, k2, height=None), "lesson_cell_maps", PAIR_MAPS_HEIGHT)
    g_column, n_column, r_column = st.columns(3)
    g_column.metric("G[k, k′]", f"{pair.g:.4g}")  # k and k' are in the inputs above, in text-sized type
    n_column.metric("positions where both fire", f"{pair.nonzero} of {pair.n_positions}")
    r_column.metric("correlation", f"{pair.correlation:+.2f}")
    st.markdown(
        f"G[{k}, {k2}] adds up a[i, j, {k}] · a[i, j, {k2}] over all n_H × n_W = {n_h} × {n_w} positions: only "
        f"where both channels fire (the non-grey cells of the product) does a position add to it."
    )


def step_formula(style: PickedImage, layer: str, found: FeatureChannels) -> None:
    st.header("3 · The Gram matrix (style matrix)")
    a = activations(style, [layer])[layer]
    n_c, n_h, n_w = a.shape
    st.latex(
        f"G^{{[\\text{{{escaped(layer)}}}]}}_{{k k'}} = "
        "\\sum_{i=1}^{n_H} \\sum_{j=1}^{n_W} a_{ijk}\\, a_{ijk'}"
        f"\\qquad k, k' \\in 0 \\dots {n_c - 1},\\; n_H = {n_h},\\; n_W = {n_w}"
    )
    st.markdown(
        f"Here G is the **style image S's** Gram matrix: n_H × n_W = {n_h} × {n_w} are the sizes of S's maps at "
        f"{layer}. Step 4 compares it with the generated image G's, whose maps have G's own n_H × n_W."
    )
    st.markdown(
        f"G is an n_C × n_C = **{n_c} × {n_c}** matrix: G = A Aᵀ with A the activations unrolled to "
        f"{n_c} × {n_h * n_w}. An entry is large when both channels are large at the same positions. "
        "Technically G is an **uncentred cross-covariance** (no means subtracted, nothing divided), not a "
        "correlation: beside it, the Pearson correlation of the same channels."
    )
    selected = _seed_cell(layer, n_c, found)
    left, right = st.columns(2)
    for column, view in ((left, "raw"), (right, "correlation")):
        # As tall as the square matrix and its 130 px of title and axes: the figure is 180 px wider than the
        # matrix (axis, colour bar), so no blank band, and the colour bar is as tall as the matrix.
        figure = gram_heatmap(gram(style, layer, view), view, selected=selected, title=VIEW_LABELS[view], height=None)
        with column:
            width_sized_chart(
                figure, f"lesson_{view}", "calc(100cqw - 50px)", **picks_cell(f"lesson_{view}", *CELL_KEYS)
            )
    _cell_drilldown(style, layer, a)
