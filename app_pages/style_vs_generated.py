"""Style vs generated: a run's Gram matrices G_G against the style targets G_S, layer by layer, step by step."""

from __future__ import annotations

from typing import Final

import numpy as np
import streamlit as st

from nst_core.explain import record_at, relative_gram_difference
from nst_core.figures import (
    gram_difference_figure,
    gram_pair_figure,
    gram_row_figure,
    gram_scatter_figure,
    style_layer_bars,
)
from nst_core.gram_views import top_difference_pairs
from nst_core.images import to_pil
from nst_core.layers import LAYER_CHANNELS
from ui.loss_views import show_loss_views, show_regions
from ui.runs import (
    COMPARE_PARAM,
    RUN_PAGE,
    finished_runs,
    is_active,
    run_label,
    run_number,
)
from ui.state import runs

RUN_KEY: Final = "svg_run"


def _no_run_yet() -> None:
    waiting = [job_id for job_id, job in runs().items() if is_active(job)]
    if waiting:
        st.info(f"{run_label(waiting[-1])}: its Gram matrices appear here as soon as it is done.")
    elif runs():
        st.info("None of this session's runs has finished: launch one on the Run page and let it end.")
    else:
        st.info(
            "No run yet in this session. Launch one on the Run page: a short one at the class-demo preset "
            "takes about a minute, then its Gram matrices appear here."
        )
    st.page_link(RUN_PAGE, label="Go to the Run page", icon=":material/play_circle:")


def _pick_run(done: list[str]) -> str:
    """The run to show: the one a link named (``?run=``), else the one picked here, else the newest."""
    requested = st.query_params.get(COMPARE_PARAM)
    if requested is not None:
        if requested in done:
            st.session_state[RUN_KEY] = requested
        del st.query_params[COMPARE_PARAM]  # a one-time request: later picks must not be overridden
    if st.session_state.get(RUN_KEY) not in done:
        st.session_state[RUN_KEY] = done[0]
    labels = {job_id: run_label(job_id) for job_id in done}
    return st.selectbox("Run", done, format_func=labels.__getitem__, key=RUN_KEY)


def _largest_difference_channel(g_S: np.ndarray, g_G: np.ndarray) -> int:
    k, _, _ = top_difference_pairs(g_S, g_G, 1)[0]
    return k


@st.fragment
def _channel_rows(g_S: np.ndarray, g_G: np.ndarray, layer: str, job_id: str) -> None:
    """Row k of both matrices; a fragment, so picking another channel redraws this chart only."""
    k = st.number_input(
        "Channel k",
        min_value=0,
        max_value=g_S.shape[0] - 1,
        value=_largest_difference_channel(g_S, g_G),
        step=1,
        key=f"svg_k_{job_id}_{layer}",
        help="Starts at the channel of the largest mismatch |G_S − G_G| at this step.",
    )
    st.plotly_chart(gram_row_figure(g_S, g_G, int(k), layer), theme=None, key="svg_row")


def _show_run(job_id: str) -> None:
    result = runs()[job_id].result()
    number = run_number(job_id)
    snapshots = [snapshot for snapshot in result.snapshots if snapshot.grams]
    if not snapshots:
        st.warning(f"Run {number} recorded no Gram matrices: launch a run with snapshot layers to compare them.")
        return
    layer_weights = dict(result.config.style_layers)
    layers = [layer for layer in snapshots[-1].grams if layer in result.style_grams]
    controls = st.columns([1, 3])
    layer = controls[0].selectbox(
        "Layer",
        layers,
        format_func=lambda name: f"{name} ({LAYER_CHANNELS[name]} channels)",
        key=f"svg_layer_{job_id}",
    )
    steps = [snapshot.step for snapshot in snapshots]
    step = controls[1].select_slider(
        "Step (scrub to watch G_G converge)",
        options=steps,
        value=steps[-1],
        key=f"svg_step_{job_id}",
    )
    snapshot = snapshots[steps.index(step)]
    g_S = result.style_grams[layer].detach().cpu().numpy()
    g_G = snapshot.grams[layer].detach().cpu().numpy()
    record = record_at(result.history, step)
    j_layer = record.J_style_layers.get(layer)
    relative = relative_gram_difference(g_S, g_G)
    figures = st.columns([1, 4])
    with figures[0]:
        st.image(to_pil(snapshot.image), caption=f"Run {number}, step {snapshot.step}", width="stretch")
        if j_layer is not None:
            weight = layer_weights.get(layer, 0.0)
            st.metric(f"$J_{{style}}^{{[l]}}$ at {layer}, step {record.step}", f"{j_layer:.4g}")
            st.metric(rf"$\lambda^{{[l]}} J_{{style}}^{{[l]}}$ with λ = {weight:g}", f"{weight * j_layer:.4g}")
        st.metric(r"$\|G_G - G_S\|_F \,/\, \|G_S\|_F$", f"{relative:.1%}")
    figures[1].plotly_chart(gram_pair_figure(g_S, g_G, layer, step=snapshot.step), theme=None, key="svg_pair")

    left, right = st.columns(2)
    left.plotly_chart(gram_difference_figure(g_S, g_G, layer), theme=None, key="svg_difference")
    right.plotly_chart(gram_scatter_figure(g_S, g_G, layer), theme=None, key="svg_scatter")
    left, right = st.columns(2)
    with left:
        _channel_rows(g_S, g_G, layer, job_id)
    bars = style_layer_bars(record.J_style_layers, layer_weights, step=record.step)
    right.plotly_chart(bars, theme=None, key="svg_bars")
    show_loss_views(job_id, result, layer)
    show_regions(result, number)


def main() -> None:
    st.title("Style vs generated")
    st.markdown(
        "The style cost compares, layer by layer, the Gram matrix of the style image G_S with the generated "
        "image's G_G. Where they agree, the generated image has the style's texture statistics."
    )
    done = finished_runs()
    if done:
        _show_run(_pick_run(done))
    else:
        _no_run_yet()


main()
