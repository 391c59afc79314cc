"""The drill-down of one Gram entry G[k, k′]: what channels k and k′ detect, where they fire most in the
image, and how much of G[k, k′] the image's border makes. The Gram explorer and the lesson both call
``channel_detail``; ``largest_product_note`` serves the explorer's formula caption.

Tunings are cached per (weights, device, layer, k) and the grating responses per (weights, device,
layer): strings and numbers only, never tensors.
"""

from __future__ import annotations

from typing import Final

import streamlit as st

from nst_core.explain import (
    ChannelTuning,
    GratingResponses,
    PairSummary,
    Patch,
    channel_tuning,
    layer_responses,
    pair_summary,
    top_patches,
    tuning_sentence,
)
from nst_core.figures import patch_grid, patch_locations, tuning_figure
from nst_core.gram_views import border_dominated

from .resources import analysed_pixels, analysed_rgb, analysis_shape, get_extractor, layer_activations
from .state import PickedImage, current_device, current_weights

PATCHES: Final = 6
ZERO_PADDING: Final = (
    "Why borders light up: every 3×3 convolution pads its input with zeros, so at the edge each filter sees a "
    "step from the image to black that the image does not have; random filters answer it like any pattern and "
    "each layer adds its own, so the deep maps of an untrained network are brightest along their border "
    "(trained filters learn to make less of it)."
)


@st.cache_resource(show_spinner="Showing test gratings to the network…", max_entries=16)
def _responses(weights: str, device: str, layer: str) -> GratingResponses:
    del weights, device  # cache key only: get_extractor() reads them from the session
    return layer_responses(get_extractor(), layer)


@st.cache_data(show_spinner=False, max_entries=4096)
def tuning(weights: str, device: str, layer: str, k: int) -> ChannelTuning:
    """``channel_tuning`` of channel ``k``, from the layer's grating responses (computed once per layer)."""
    return channel_tuning(get_extractor(), layer, k, _responses(weights, device, layer))


@st.cache_data(show_spinner="Finding where the channels fire…", max_entries=256)
def _patches(
    digest: str, shape: tuple[int, int], weights: str, device: str, layer: str, k: int, _image: PickedImage
) -> list[Patch]:
    del digest, weights, device  # cache key only
    return top_patches(get_extractor(), analysed_pixels(_image, shape), layer, k, PATCHES)


def patches(image: PickedImage, layer: str, k: int) -> list[Patch]:
    """The ``PATCHES`` places of ``image`` (at its analysis size, the pixels the maps come from) where
    channel ``k`` fires most, cached."""
    return _patches(image.digest, analysis_shape(image), current_weights(), current_device(), layer, k, image)


def border_note(pair: PairSummary) -> str:
    """How much of G[k, k′] the border makes, against its share of the positions."""
    text = (
        f"The border (first and last rows and columns, {pair.border_positions} of the {pair.n_positions} positions, "
        f"{pair.border_fraction:.0%}) makes **{pair.border_share:.0%}** of G[{pair.k}, {pair.k2}]."
    )
    if pair.border_share > min(0.9, 2 * pair.border_fraction):
        text += " This entry is mostly a border effect, not texture of the image."
    return text


def largest_product_note(pair: PairSummary) -> str:
    """Where the largest product is, saying so when it sits on the border."""
    i, j = pair.largest_at
    where = f"row i = {i + 1}, column j = {j + 1}"
    if pair.largest_on_border:
        return f"The largest product, {pair.largest:.4g}, is on the map's border ({where}): see below."
    return f"The largest product, {pair.largest:.4g}, is at {where}."


def _channel_column(image: PickedImage, layer: str, k: int, found: ChannelTuning, key: str) -> None:
    st.markdown(f"**Channel {k}** fires on **{found.describe()}**")
    st.plotly_chart(tuning_figure(found), theme=None, key=key)
    if not (shown := patches(image, layer, k)):
        st.info(f"Channel {k} does not fire anywhere in {image.label}.")
        return
    grid, where = st.columns([2, 1])
    grid.image(patch_grid(shown), width="stretch")
    where.image(patch_locations(analysed_rgb(image), shown), width="stretch")
    st.caption(
        f"Where it fires most in {image.label}, strongest first (receptive fields, numbered in the picture): "
        + ", ".join(f"{p.activation:.3g} at ({p.i}, {p.j})" for p in shown)
    )


def channel_detail(image: PickedImage, layer: str, k: int, k2: int, key: str) -> None:
    """The drill-down panel for G[k, k′] of ``image`` at ``layer``: the lecture's sentence (channel k fires on …;
    where one fires, the other does) with live values, both channels' tuning and top patches, and the border's
    share. ``key`` tells the pages' panels apart."""
    a = layer_activations(image, layer)
    pair = pair_summary(a, k, k2)
    weights, device = current_weights(), current_device()
    found = {channel: tuning(weights, device, layer, channel) for channel in (k, k2)}
    st.subheader(f"What channels {k} and {k2} detect")
    st.markdown(f"#### {tuning_sentence(found[k], found[k2], pair.g, pair.correlation)}")
    st.markdown(border_note(pair))
    if border_dominated(a)[[k, k2]].any() or pair.border_share > 2 * pair.border_fraction:
        st.caption(ZERO_PADDING)
    st.caption(
        "What a channel detects is measured by showing the network stripes at 8 orientations, 4 periods and 12 "
        "hues (and light–dark), all channels at once: its favourite is the stripes it answers most. Selectivity, "
        "in brackets: 0 answers the orthogonal orientation (the opposite hue) as much, 1 not at all."
        + (" With random weights the tunings are real but rough." if weights == "random" else "")
    )
    for n, (column, channel) in enumerate(zip(st.columns(2, gap="medium"), (k, k2), strict=True)):
        with column:
            _channel_column(image, layer, channel, found[channel], f"{key}_tuning_{n}")
