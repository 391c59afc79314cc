"""Lesson: the style cost, step by step, with live numbers from the session's images."""

from __future__ import annotations

from functools import partial
from typing import Final

import numpy as np
import streamlit as st
import torch

from nst_core.explain import (
    CostBreakdown,
    FeatureChannels,
    cost_breakdown,
    find_feature_channels,
    pair_summary,
    probe_images,
)
from nst_core.figures import channel_mosaic, channel_pair_figure, click_block, gram_heatmap
from nst_core.gram_views import VIEW_LABELS
from nst_core.layers import DEFAULT_CONTENT_LAYER, DEFAULT_STYLE_LAYERS
from nst_core.optim import DEFAULT_ALPHA, DEFAULT_BETA
from ui.channel_detail import channel_detail
from ui.clicks import pick_clicked_cell
from ui.latex import number
from ui.layer_ladder import ladder_step
from ui.pickers import analysis_note
from ui.resources import activations, analysed_rgb, analysis_shape, get_extractor, gram
from ui.sizing import PAIR_FIGURE_HEIGHT, PAIR_MAPS_HEIGHT, width_sized
from ui.state import (
    PickedImage,
    current_content,
    current_device,
    current_style,
    current_weights,
    generated_images,
    image_from_tensor,
)

DEFAULT_LAYER: Final = "relu2_1"
LAYERS: Final = [*DEFAULT_STYLE_LAYERS, DEFAULT_CONTENT_LAYER]
PROBE_PX: Final = 170
# Session keys of the step-3 cell (k, k'): its inputs, which a click on either matrix sets; and its layer.
# (Comments, not docstrings: a page script's bare strings are drawn by Streamlit's "magic".)
CELL_KEYS: Final = ("lesson_k", "lesson_k2")
CELL_LAYER_KEY: Final = "lesson_cell_layer"


def _tex(layer: str) -> str:
    return layer.replace("_", "\\_")


@st.cache_data(show_spinner="Probing the channels…", max_entries=64)
def _feature_channels(layer: str, weights: str, device: str) -> FeatureChannels:
    del weights, device  # cache key only: get_extractor() reads them from the session
    return find_feature_channels(get_extractor(), layer)


def _noise(shape: tuple[int, int]) -> PickedImage:
    pixels = torch.rand(1, 3, *shape, generator=torch.Generator().manual_seed(0))
    return image_from_tensor(pixels, "white noise (stand-in)", "result")


def _generated_choice(content: PickedImage) -> PickedImage:
    shape = analysis_shape(content)
    options: dict[str, PickedImage] = {}
    for image in generated_images():
        options.setdefault(f"{image.kind}: {image.label}", image)
    options["Content image (stand-in: a run starts from it)"] = content
    options["White noise (stand-in: another common start)"] = _noise(shape)
    choice = st.selectbox(
        "Generated image G",
        list(options),
        key="lesson_generated",
        help="Numbers below compare the style image S with this image. Run a transfer to use its result.",
    )
    return options[choice]


def _step_correlation(style: PickedImage, layer: str) -> None:
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


def _step_intuition(style: PickedImage, content: PickedImage, layer: str) -> FeatureChannels:
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
    with width_sized("lesson_pair_box", PAIR_FIGURE_HEIGHT):
        st.plotly_chart(
            channel_pair_figure(
                a_s[v.channel].numpy(), a_s[o.channel].numpy(), v.channel, o.channel, analysed_rgb(style), height=None
            ),
            theme=None,
            key="lesson_pair",
            height="stretch",
        )
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
    state[CELL_KEYS[0]] = min(int(state[CELL_KEYS[0]]), n_c - 1)
    state[CELL_KEYS[1]] = min(int(state[CELL_KEYS[1]]), n_c - 1)
    return state[CELL_KEYS[0]], state[CELL_KEYS[1]]


def _cell_drilldown(style: PickedImage, layer: str, a: torch.Tensor) -> None:
    """What the selected entry G[k, k'] adds up: both maps over the style image, their product, the sum."""
    n_c, n_h, n_w = a.shape
    st.markdown(
        "**Click a cell of either matrix** (or type k and k′): below, the two channel maps whose products "
        "G[k, k′] sums, over the style image S."
    )
    block = click_block(n_c)
    if block > 1:
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
    with width_sized("lesson_cell_box", PAIR_MAPS_HEIGHT):
        st.plotly_chart(
            channel_pair_figure(maps[k], maps[k2], k, k2, height=None),
            theme=None,
            key="lesson_cell_maps",
            height="stretch",
        )
    g_column, n_column, r_column = st.columns(3)
    g_column.metric("G[k, k′]", f"{pair.g:.4g}")  # k and k' are in the inputs above, in text-sized type
    n_column.metric("positions where both fire", f"{pair.nonzero} of {pair.n_positions}")
    r_column.metric("correlation", f"{pair.correlation:+.2f}")
    st.markdown(
        f"G[{k}, {k2}] adds up a[i, j, {k}] · a[i, j, {k2}] over all n_H × n_W = {n_h} × {n_w} positions: only "
        f"where both channels fire (the non-grey cells of the product) does a position add to it."
    )


def _step_formula(style: PickedImage, layer: str, found: FeatureChannels) -> None:
    st.header("3 · The Gram matrix (style matrix)")
    a = activations(style, [layer])[layer]
    n_c, n_h, n_w = a.shape
    st.latex(
        f"G^{{[\\text{{{_tex(layer)}}}]}}_{{k k'}} = "
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
        with column, width_sized(f"lesson_{view}_box", "calc(100cqw - 50px)"):
            st.plotly_chart(
                gram_heatmap(gram(style, layer, view), view, selected=selected, title=VIEW_LABELS[view], height=None),
                theme=None,
                key=f"lesson_{view}",
                on_select=partial(pick_clicked_cell, f"lesson_{view}", *CELL_KEYS),
                selection_mode="points",
                height="stretch",
            )
    _cell_drilldown(style, layer, a)


def _breakdown(
    style: PickedImage, generated: PickedImage, content: PickedImage, alpha: float, beta: float
) -> CostBreakdown:
    shape = analysis_shape(content)
    acts_S = activations(style, LAYERS)
    acts_G = activations(generated, LAYERS, shape)
    acts_C = activations(content, LAYERS, shape)
    return cost_breakdown(acts_S, acts_G, acts_C, DEFAULT_STYLE_LAYERS, DEFAULT_CONTENT_LAYER, alpha, beta)


def _step_layer_cost(breakdown: CostBreakdown, layer: str) -> None:
    st.header("4 · The style cost of one layer")
    term = next((t for t in breakdown.style_terms if t.layer == layer), breakdown.style_terms[0])
    name = _tex(term.layer)
    st.latex(
        f"J^{{[\\text{{{name}}}]}}_{{style}}(S,G) = \\frac{{1}}{{(2\\, n_H n_W n_C)^2}}"
        "\\sum_k \\sum_{k'} \\left(G^{(S)}_{kk'} - G^{(G)}_{kk'}\\right)^2"
    )
    st.latex(
        f"= \\frac{{1}}{{(2 \\cdot {term.n_H} \\cdot {term.n_W} \\cdot {term.n_C})^2}}"
        f" \\cdot {number(term.squared_difference)}"
        f" = {number(term.constant)} \\cdot {number(term.squared_difference)} = {number(term.cost)}"
    )
    st.markdown(
        f"Here n_H × n_W = {term.n_H} × {term.n_W} are the sizes of the **generated image G's** maps at "
        f"{term.layer}; step 3's n_H and n_W were the style image S's. Where the two sizes differ, S's Gram matrix "
        "is first rescaled to G's number of positions, so that both count the same positions.\n\n"
        f"The normalising constant of **{term.layer}** is 1/(2·{term.n_H}·{term.n_W}·{term.n_C})² = "
        f"${number(term.constant)}$. Each G entry is a sum over n_H·n_W positions, and the cost adds up "
        "n_C × n_C squared differences: dividing by (n_H·n_W·n_C)² keeps layers of different sizes comparable."
    )


def _step_total_style(breakdown: CostBreakdown) -> None:
    st.header("5 · The total style cost: a weighted sum over layers")
    # A Markdown table, not st.table: its text is body-sized, these numbers are read from the back of a room.
    rows = [
        f"| {t.layer} | {t.layer_weight:g} | {t.n_C} × {t.n_H} × {t.n_W} | {t.cost:.4g} | {t.weighted:.4g} |"
        for t in breakdown.style_terms
    ]
    st.markdown(
        "| layer | λ | n_C × n_H × n_W | J_style[l] | λ·J_style[l] |\n|:--|--:|--:|--:|--:|\n" + "\n".join(rows)
    )
    terms = [f"{t.layer_weight:g} \\cdot {number(t.cost, 3)}" for t in breakdown.style_terms]
    half = (len(terms) + 1) // 2  # two lines, so that five layers fit the width of a projector
    st.latex(
        "\\begin{aligned} J_{style}(S,G) &= \\sum_l \\lambda^{[l]} J^{[l]}_{style}(S,G) \\\\ "
        f"&= {' + '.join(terms[:half])} \\\\ &\\quad + {' + '.join(terms[half:])} = {number(breakdown.j_style)}"
        " \\end{aligned}"
    )
    st.markdown(
        "$\\lambda^{[l]}$ says how much each layer matters: early layers carry fine texture, deep layers larger motifs."
    )


def _step_total(breakdown: CostBreakdown) -> None:
    st.header("6 · The total cost")
    n_c, n_h, n_w = breakdown.content_shape
    st.latex(
        f"J_{{content}}(C,G) = \\frac{{1}}{{4 \\cdot {n_h} \\cdot {n_w} \\cdot {n_c}}}"
        f"\\sum (a^{{(C)}} - a^{{(G)}})^2 = {number(breakdown.j_content)}"
        f"\\quad(\\text{{at {_tex(breakdown.content_layer)}}})"
    )
    st.latex(
        f"J(G) = \\alpha J_{{content}} + \\beta J_{{style}} = {breakdown.alpha:g} \\cdot {number(breakdown.j_content)}"
        f" + {breakdown.beta:g} \\cdot {number(breakdown.j_style)} = {number(breakdown.j)}"
    )
    st.markdown(
        "A run starts from an image G (often the content image, so J_content starts at 0) and changes its pixels "
        "to lower J: α keeps it close to the content, β pulls its Gram matrices towards the style's."
    )


def main() -> None:
    st.title("Lesson: what the style cost measures")
    content, style = current_content(), current_style()
    st.caption(
        f"Style image S: {style.label} · content image C: {content.label} (change them in the sidebar). "
        + analysis_note(style)
    )
    left, middle, right, far = st.columns([2, 3, 1, 1])
    layer = left.selectbox(
        "Layer", list(DEFAULT_STYLE_LAYERS), index=list(DEFAULT_STYLE_LAYERS).index(DEFAULT_LAYER), key="lesson_layer"
    )
    with middle:
        generated = _generated_choice(content)
    alpha = right.number_input("α", min_value=0.0, value=float(DEFAULT_ALPHA), key="lesson_alpha")
    beta = far.number_input("β", min_value=0.0, value=float(DEFAULT_BETA), key="lesson_beta")

    _step_correlation(style, layer)
    found = _step_intuition(style, content, layer)
    _step_formula(style, layer, found)
    breakdown = _breakdown(style, generated, content, alpha, beta)
    _step_layer_cost(breakdown, layer)
    _step_total_style(breakdown)
    _step_total(breakdown)
    ladder_step(style, 7)


main()
