"""How closely a run's generated Gram matrix G_G matches the style's G_S at one layer and step: the numbers
beside the picture, and row k of both matrices."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from nst_core.figures import gram_row_figure
from nst_core.gram import weighted_style_terms
from nst_core.gram_views import top_difference_pairs

from .latex import number

if TYPE_CHECKING:
    from streamlit.delta_generator import DeltaGenerator

    from nst_core.optim.result import StepRecord


def match_numbers(column: DeltaGenerator, record: StepRecord, layer: str, layer_weight: float, relative: float) -> None:
    """In ``column``, a table: J_style at ``layer`` and step, λ times it, and the relative distance of the
    matrices (``relative``: ‖G_G − G_S‖_F / ‖G_S‖_F)."""
    # A table, not st.metric: metric labels and values are cut short in a narrow column.
    rows = []
    if (j_layer := record.J_style_layers.get(layer)) is not None:
        rows.append((f"$J_{{style}}^{{[l]}}$ at {layer}, step {record.step}", number(j_layer)))
        weighted = rf"$\lambda^{{[l]}} J_{{style}}^{{[l]}}$ with $\lambda^{{[l]}}$ = {layer_weight:g}"
        rows.append((weighted, number(weighted_style_terms({layer: j_layer}, {layer: layer_weight})[layer])))
    distance = r"$\lVert G_G - G_S \rVert_F \,/\, \lVert G_S \rVert_F$ (0 % when they agree)"
    rows.append((distance, f"{relative * 100:.1f} \\%"))
    column.markdown(
        f"| at step {record.step} | value |\n|:--|--:|\n" + "\n".join(f"| {name} | ${value}$ |" for name, value in rows)
    )


@st.fragment
def channel_rows(g_S: np.ndarray, g_G: np.ndarray, layer: str, job_id: str) -> None:
    """Row k of both matrices; a fragment, so picking another channel redraws this chart only."""
    k = st.number_input(
        "Channel k",
        min_value=0,
        max_value=g_S.shape[0] - 1,
        value=top_difference_pairs(g_S, g_G, 1)[0][0],  # the row of the largest mismatch
        step=1,
        key=f"svg_k_{job_id}_{layer}",
        help="Starts at the channel of the largest mismatch |G_S − G_G| at this step.",
    )
    st.plotly_chart(gram_row_figure(g_S, g_G, int(k), layer), theme=None, key="svg_row")
