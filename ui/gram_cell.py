"""The Gram explorer's selected cell G[k, k']: its inputs (kept in the link), its values, the sum it is
written out, and the magnifier of the cells around it for a matrix whose cells are smaller than a pixel."""

from __future__ import annotations

from typing import Final

import numpy as np
import streamlit as st
from torch import Tensor

from nst_core.explain import PairSummary
from nst_core.figures import click_block, gram_window, view_colours
from nst_core.gram_views import VIEW_LABELS, neighbourhood

from .channel_detail import largest_product_note
from .clicks import picks_cell
from .latex import escaped, number
from .url_params import index_from_link, keep_in_link

MAGNIFIER_CELLS: Final = 16
SMALL_CELLS_FROM: Final = 128  # more channels than this: a cell of the matrix is about a pixel on a projector


def click_hint(n_c: int) -> None:
    """How to pick one cell where cells are about a screen pixel or smaller."""
    if (block := click_block(n_c)) > 1:
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


def cell_formula(layer: str, a: Tensor, pair: PairSummary) -> None:
    """G[k, k'] written out as its sum, with its first and last terms from the activations ``a``."""
    n_h, n_w = a.shape[-2:]
    k, k2 = pair.k, pair.k2
    last = (n_h - 1, n_w - 1)
    terms = [(0, 0), (0, 1), last] if n_w > 1 else [(0, 0), last]
    shown = [f"{number(float(a[k, i, j]), 3)} \\cdot {number(float(a[k2, i, j]), 3)}" for i, j in terms]
    name = escaped(layer)
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


def cell_inputs(n_c: int, layer: str) -> tuple[int, int]:
    """The inputs of k and k' (a click on a matrix sets them too), from the link at first; returns them."""
    # k and k' follow the URL by hand, not by ``bind``: Streamlit's binding raises on ?k=1e309 and silently
    # drops an out-of-range value; here a link's value is checked against this layer's channels first.
    defaults = {"k": 0, "k2": min(1, n_c - 1)}
    for key, name in (("k", "k"), ("k2", "k′")):
        index_from_link(key, name, n_c, defaults[key], f"{layer} has channels 0 to {n_c - 1}")
        value = st.session_state.setdefault(key, defaults[key])
        # Into this layer's range, and said so: an out-of-range input would silently show its default.
        if value is not None and value > n_c - 1:
            st.session_state[key] = n_c - 1
            st.info(f"{layer} has {n_c} channels (0 to {n_c - 1}): {name} = {value} is shown as {name} = {n_c - 1}.")
    st.markdown("**Selected cell** (click the heatmap, or type)")
    left, right = st.columns(2)
    k = left.number_input("k (row)", min_value=0, max_value=n_c - 1, step=1, key="k")
    k2 = right.number_input("k′ (column)", min_value=0, max_value=n_c - 1, step=1, key="k2")
    for key, value in (("k", k), ("k2", k2)):
        keep_in_link(key, int(value), defaults[key])
    return int(k), int(k2)


def cell_values(matrix: np.ndarray, view: str, pair: PairSummary) -> None:
    """The selected entry: the raw G[k, k'] the cost uses, the shown view's entry, the channels' correlation."""
    k, k2 = pair.k, pair.k2
    st.metric(f"G[{k}, {k2}] (raw Gram, as in the cost)", f"{pair.g:.6g}")
    if view != "raw":
        st.metric(f"{VIEW_LABELS[view]} [{k}, {k2}]", f"{float(matrix[k, k2]):.4g}")
    st.markdown(f"Correlation of channels {k} and {k2} over the image: **{pair.correlation:+.3f}**")


def magnifier(matrix: np.ndarray, view: str, order: np.ndarray, k: int, k2: int) -> None:
    """The cells around (k, k') one by one: in a large matrix a cell is smaller than a screen pixel."""
    st.markdown(f"**Around G[{k}, {k2}]** (click a cell)")
    windows = (neighbourhood(order, k, MAGNIFIER_CELLS), neighbourhood(order, k2, MAGNIFIER_CELLS))
    figure = gram_window(matrix, view, *windows, (k, k2), view_colours(matrix, view))
    st.plotly_chart(figure, theme=None, key="gram_window", **picks_cell("gram_window", "k", "k2"))
