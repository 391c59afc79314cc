"""The Gram explorer's "channels that fire together most": the best-correlated pairs of a layer, with or
without the channels that fire mostly on the map's border (zero padding's, not the image's)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import numpy as np
import streamlit as st
from torch import Tensor

from nst_core.figures import channel_mosaic
from nst_core.gram_views import active_channels, border_dominated, top_pairs

from .channel_detail import ZERO_PADDING
from .resources import gram
from .state import PickedImage

TOP_PAIRS: Final = 6
ACTIVE_FRACTION: Final = 0.1


def firing_pairs(image: PickedImage, layer: str, a: Tensor, pick: Callable[[int, int], None]) -> None:
    """Rank the pairs of ``layer`` by correlation over ``image`` and draw them, each with a button that
    calls ``pick(k, k′)``."""
    st.subheader("Channels that fire together most")
    skip = st.toggle("Leave out border-dominated channels", value=True, key="skip_border")
    st.caption(ZERO_PADDING)
    dominated = border_dominated(a)
    active = np.flatnonzero(active_channels(a, ACTIVE_FRACTION) & ~(dominated if skip else False))
    correlation = gram(image, layer, "correlation")[np.ix_(active, active)]
    pairs = [(int(active[i]), int(active[j]), r) for i, j, r in top_pairs(correlation, TOP_PAIRS)]
    if not pairs:
        st.info(f"Fewer than two channels of {layer} fire at {ACTIVE_FRACTION:.0%} of the positions of this image.")
        return
    left_out = f", leaving out the {int(dominated.sum())} that fire mostly on the border" if skip else ""
    st.caption(
        f"The pairs with the highest correlation over this image, among the {active.size} channels that fire at "
        f"{ACTIVE_FRACTION:.0%} of the positions or more{left_out}; each with its two maps."
    )
    tiles = [c for k_a, k_b, _ in pairs for c in (k_a, k_b)]
    labels = [f"#{n} ch {c} (r={r:.2f})" for n, (k_a, k_b, r) in enumerate(pairs, start=1) for c in (k_a, k_b)]
    st.plotly_chart(channel_mosaic(a.numpy()[tiles], tiles, labels, columns=4), theme=None, key="top_pairs")
    buttons = st.columns(len(pairs))
    for n, (column, (k_a, k_b, _)) in enumerate(zip(buttons, pairs, strict=True), start=1):
        column.button(f"Pick #{n}", key=f"pick_{n}", on_click=pick, args=(k_a, k_b), width="stretch")
