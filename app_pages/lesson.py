"""Lesson: the style cost, step by step, with live numbers from the session's images."""

from __future__ import annotations

from typing import Final

import streamlit as st

from nst_core.layers import DEFAULT_STYLE_LAYERS
from nst_core.optim import DEFAULT_ALPHA, DEFAULT_BETA
from ui.layer_ladder import ladder_step
from ui.lesson_cost import generated_picker, lesson_breakdown, step_layer_cost, step_total, step_total_style
from ui.lesson_gram import step_correlation, step_formula, step_intuition
from ui.pickers import analysis_note
from ui.state import current_content, current_style

DEFAULT_LAYER: Final = "relu2_1"


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
        generated = generated_picker(content)
    alpha = right.number_input("α", min_value=0.0, value=float(DEFAULT_ALPHA), key="lesson_alpha")
    beta = far.number_input("β", min_value=0.0, value=float(DEFAULT_BETA), key="lesson_beta")

    step_correlation(style, layer)
    found = step_intuition(style, content, layer)
    step_formula(style, layer, found)
    breakdown = lesson_breakdown(style, generated, content, alpha, beta)
    step_layer_cost(breakdown, layer)
    step_total_style(breakdown)
    step_total(breakdown)
    ladder_step(style, 7)


main()
