"""Style vs generated: a run's Gram matrices G_G against the style targets G_S, layer by layer, step by step."""

from __future__ import annotations

from typing import Final

import numpy as np
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from nst_core.explain import record_at, relative_gram_difference
from nst_core.figures import (
    gram_difference_figure,
    gram_pair_figure,
    gram_row_figure,
    gram_scatter_figure,
    style_layer_bars,
)
from nst_core.gram import weighted_style_terms
from nst_core.gram_views import top_difference_pairs
from nst_core.images import to_pil
from nst_core.layers import LAYER_CHANNELS
from ui import latex
from ui.links import RUN_PARAM, copy_link
from ui.loss_views import show_loss_views, show_regions
from ui.pages import RUN, STYLE_VS_GENERATED
from ui.run_saver import run_saver
from ui.runs import finished_runs, is_active, run_label
from ui.shown_runs import ShownRun, open_linked_run, session_run
from ui.sizing import width_sized
from ui.state import runs

RUN_KEY: Final = "svg_run"
# A page script's bare strings are drawn by Streamlit's "magic": this note stays a comment.
LINKED_KEY: Final = "svg_linked"  # session key: the stored runs this session opened from links (id -> ShownRun)
INTRO: Final = (
    "The style cost compares, layer by layer, the Gram matrix of the style image G_S with the generated "
    "image's G_G. Where they agree, the generated image has the style's texture statistics."
)
# gram_pair_figure's height for its width: square panels of 44 % of the plot width (the width less 160 px of
# margins) and 110 px of margins.
PAIR_HEIGHT: Final = "calc(44cqw + 40px)"


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
    st.page_link(RUN.script, label="Go to the Run page", icon=RUN.icon)


def _linked_run(done: list[str]) -> None:
    """Take in a link's ``?run=``: a run of this session (by job id or stored id) is selected, a stored
    one joins the choices for the rest of the session; one that cannot be opened says why, once."""
    requested = st.query_params.get(RUN_PARAM)
    if requested is None:
        return
    job = run_saver().job_of(requested, [runs()[job_id] for job_id in done])
    if job is not None:
        requested = job.id
    elif requested not in done and requested not in st.session_state.setdefault(LINKED_KEY, {}):
        shown = open_linked_run(requested)
        if shown is None:
            return
        st.session_state[LINKED_KEY][requested] = shown
    st.session_state[RUN_KEY] = requested


def _pick_run(done: list[str], column: DeltaGenerator) -> ShownRun | None:
    """The run to show, picked in ``column``: the one a link named (``?run=``), else the one picked here,
    else the newest. The URL follows the choice: it names the run's stored id while it has one, so it can
    be shared."""
    _linked_run(done)
    linked: dict[str, ShownRun] = st.session_state.get(LINKED_KEY, {})
    labels = {**{key: f"{shown.label} (shared)" for key, shown in linked.items()}, **{j: run_label(j) for j in done}}
    if not labels:
        return None
    if st.session_state.get(RUN_KEY) not in labels:
        st.session_state[RUN_KEY] = done[0] if done else next(iter(labels))
    choice = column.selectbox("Run", list(labels), format_func=labels.__getitem__, key=RUN_KEY)
    shown = linked[choice] if choice in linked else session_run(choice)
    if shown.run_id is not None:
        st.query_params[RUN_PARAM] = shown.run_id
    else:
        st.query_params.pop(RUN_PARAM, None)
    return shown


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


def _show_run(shown: ShownRun, controls: list[DeltaGenerator]) -> None:
    """The run's G_S | G_G first, under its layer and step pickers (drawn in ``controls``), so that a
    projector shows both whole; then the picture, the numbers and the other views."""
    result, job_id = shown.result, shown.key
    snapshots = [snapshot for snapshot in result.snapshots if snapshot.grams]
    if not snapshots:
        st.warning(f"{shown.label} recorded no Gram matrices: launch a run with snapshot layers to compare them.")
        return
    lambdas = dict(result.config.style_layers)  # λ per style layer
    layers = [layer for layer in snapshots[-1].grams if layer in result.style_grams]
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
        help="The steps at which the run recorded its Gram matrices; step 0 is the starting image, before "
        "any optimisation (its costs are those of step 1, which evaluates that same image).",
    )
    snapshot = snapshots[steps.index(step)]
    g_S = result.style_grams[layer].detach().cpu().numpy()
    g_G = snapshot.grams[layer].detach().cpu().numpy()
    record = record_at(result.history, step)
    j_layer = record.J_style_layers.get(layer)
    relative = relative_gram_difference(g_S, g_G)
    with width_sized("svg_pair_box", PAIR_HEIGHT):
        st.plotly_chart(
            gram_pair_figure(g_S, g_G, layer, step=snapshot.step, height=None),
            theme=None,
            key="svg_pair",
            height="stretch",
        )
    st.markdown(INTRO)
    picture, numbers = st.columns([1, 2], gap="medium")
    picture.image(to_pil(snapshot.image), caption=f"{shown.label}, step {snapshot.step}", width="stretch")
    # A table, not st.metric: metric labels and values are cut short in a narrow column.
    rows = []
    if j_layer is not None:
        lam = lambdas.get(layer, 0.0)
        rows.append((f"$J_{{style}}^{{[l]}}$ at {layer}, step {record.step}", latex.number(j_layer)))
        weighted = rf"$\lambda^{{[l]}} J_{{style}}^{{[l]}}$ with $\lambda^{{[l]}}$ = {lam:g}"
        rows.append((weighted, latex.number(weighted_style_terms({layer: j_layer}, {layer: lam})[layer])))
    distance = r"$\lVert G_G - G_S \rVert_F \,/\, \lVert G_S \rVert_F$ (0 % when they agree)"
    rows.append((distance, f"{relative * 100:.1f} \\%"))
    numbers.markdown(
        f"| at step {record.step} | value |\n|:--|--:|\n" + "\n".join(f"| {name} | ${value}$ |" for name, value in rows)
    )

    left, right = st.columns(2)
    left.plotly_chart(gram_difference_figure(g_S, g_G, layer), theme=None, key="svg_difference")
    right.plotly_chart(gram_scatter_figure(g_S, g_G, layer), theme=None, key="svg_scatter")
    left, right = st.columns(2)
    with left:
        _channel_rows(g_S, g_G, layer, job_id)
    bars = style_layer_bars(record.J_style_layers, lambdas, step=record.step)
    right.plotly_chart(bars, theme=None, key="svg_bars")
    show_loss_views(job_id, result, layer)
    show_regions(result, shown.label)


def main() -> None:
    st.title("Style vs generated")
    # One row of pickers, then G_S | G_G: both whole in the first screen of a 1280 × 720 projector.
    controls = st.columns([2, 1.2, 1.8])
    shown = _pick_run(finished_runs(), controls[0])
    if shown is not None:
        _show_run(shown, controls[1:])
        copy_link(shown.run_id, STYLE_VS_GENERATED, shown.unstored)
    elif RUN_PARAM not in st.query_params:
        st.markdown(INTRO)
        _no_run_yet()
    else:  # the link's run cannot be opened: its sentence is above
        st.page_link(RUN.script, label="Go to the Run page", icon=RUN.icon)


main()
