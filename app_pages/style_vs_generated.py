"""Style vs generated: a run's Gram matrices G_G against the style targets G_S, layer by layer, step by step."""

from __future__ import annotations

from typing import Final

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from nst_core.explain import compared_layers, gram_snapshots, record_at, relative_gram_difference
from nst_core.figures import gram_difference_figure, gram_pair_figure, gram_scatter_figure, style_layer_bars
from nst_core.images import to_pil
from nst_core.layers import LAYER_CHANNELS
from ui.gram_match import channel_rows, match_numbers
from ui.links import RUN_PARAM, copy_link
from ui.loss_views import show_loss_views, show_regions
from ui.pages import RUN, STYLE_VS_GENERATED
from ui.run_picker import pick_shown_run
from ui.runs import finished_runs, run_label
from ui.shown_runs import ShownRun
from ui.sizing import width_sized_chart
from ui.state import runs

INTRO: Final = (
    "The style cost compares, layer by layer, the Gram matrix of the style image G_S with the generated "
    "image's G_G. Where they agree, the generated image has the style's texture statistics."
)
# gram_pair_figure's height for its width: square panels of 44 % of the plot width (the width less 160 px of
# margins) and 110 px of margins.
PAIR_HEIGHT: Final = "calc(44cqw + 40px)"


def _no_run_yet() -> None:
    if waiting := [job_id for job_id, job in runs().items() if not job.status.finished]:
        st.info(f"{run_label(waiting[-1])}: its Gram matrices appear here as soon as it is done.")
    elif runs():
        st.info("None of this session's runs has finished: launch one on the Run page and let it end.")
    else:
        st.info(
            "No run yet in this session. Launch one on the Run page: a short one at the class-demo preset "
            "takes about a minute, then its Gram matrices appear here."
        )
    st.page_link(RUN.script, label="Go to the Run page", icon=RUN.icon)


def _show_run(shown: ShownRun, controls: list[DeltaGenerator]) -> None:
    """The run's G_S | G_G first, under its layer and step pickers (drawn in ``controls``), so that a
    projector shows both whole; then the picture, the numbers and the other views."""
    result, job_id = shown.result, shown.key
    if not (snapshots := gram_snapshots(result)):
        st.warning(f"{shown.label} recorded no Gram matrices: launch a run with snapshot layers to compare them.")
        return
    layer_weights = dict(result.config.style_layers)  # λ by style layer
    layer = controls[0].selectbox(
        "Layer",
        compared_layers(result),
        format_func=lambda name: f"{name} ({LAYER_CHANNELS[name]} channels)",
        key=f"svg_layer_{job_id}",
    )
    steps = [snapshot.step for snapshot in snapshots]
    step = controls[1].select_slider(
        "Step (scrub to watch G_G converge)",
        options=steps,
        value=steps[-1],
        key=f"svg_step_{job_id}",
        help="The steps at which the run recorded its Gram matrices; step 0 is the starting image, before "
        "any optimisation (its costs are those of step 1, which evaluates that same image).",
    )
    snapshot = snapshots[steps.index(step)]
    g_S = result.style_grams[layer].detach().cpu().numpy()
    g_G = snapshot.grams[layer].detach().cpu().numpy()
    record = record_at(result.history, step)
    width_sized_chart(gram_pair_figure(g_S, g_G, layer, step=snapshot.step, height=None), "svg_pair", PAIR_HEIGHT)
    st.markdown(INTRO)
    picture, numbers = st.columns([1, 2], gap="medium")
    picture.image(to_pil(snapshot.image), caption=f"{shown.label}, step {snapshot.step}", width="stretch")
    match_numbers(numbers, record, layer, layer_weights.get(layer, 0.0), relative_gram_difference(g_S, g_G))
    left, right = st.columns(2)
    left.plotly_chart(gram_difference_figure(g_S, g_G, layer), theme=None, key="svg_difference")
    right.plotly_chart(gram_scatter_figure(g_S, g_G, layer), theme=None, key="svg_scatter")
    left, right = st.columns(2)
    with left:
        channel_rows(g_S, g_G, layer, job_id)
    bars = style_layer_bars(record.J_style_layers, layer_weights, step=record.step)
    right.plotly_chart(bars, theme=None, key="svg_bars")
    show_loss_views(job_id, result, layer)
    show_regions(result, shown.label)


def main() -> None:
    st.title("Style vs generated")
    # One row of pickers, then G_S | G_G: both whole in the first screen of a 1280 × 720 projector.
    controls = st.columns([2, 1.2, 1.8])
    shown = pick_shown_run(finished_runs(), controls[0])
    if shown is not None:
        _show_run(shown, controls[1:])
        copy_link(shown.run_id, STYLE_VS_GENERATED, shown.unstored)
    elif RUN_PARAM not in st.query_params:
        st.markdown(INTRO)
        _no_run_yet()
    else:  # the link's run cannot be opened: its sentence is above
        st.page_link(RUN.script, label="Go to the Run page", icon=RUN.icon)


main()
