"""The lesson's step "what each layer's Gram matrix keeps": five style-only runs from noise, relu1_1 alone up
to relu1_1 … relu5_1, run in the background and shown as they grow.

The ladder of a style image is shared by the whole process (``st.cache_resource`` keyed by the image's
digest, the weights and the device): a class that reloads, or a second visitor with the same style, sees
the textures already made. Each poll of a viewer's page submits the next rung under that viewer's owner
token, so a ladder is one run at a time in the fair queue.
"""

from __future__ import annotations

from typing import Final

import streamlit as st

from nst_core.errors import AdmissionError
from nst_core.explain import LADDER_SIZE, LayerLadder, Rung, ladder_configs

from .owner import owner_token
from .resources import get_executor
from .runs import duration
from .state import PickedImage, current_device, current_weights

POLL_SECONDS: Final = 1.0
STARTED_KEY: Final = "ladder_started"
"""Session key: the ladders (style digest, weights, device) this visitor asked for."""


@st.cache_resource(show_spinner=False, max_entries=32)
def _ladder(digest: str, weights: str, device: str, _style: PickedImage) -> LayerLadder:
    del digest  # cache key only
    return LayerLadder(ladder_configs(_style.run_input, weights=weights, device=device))


def _caption(rung: Rung) -> str:
    layers = f"{rung.layers[0]}" if len(rung.layers) == 1 else f"{rung.layers[0]} … {rung.layers[-1]}"
    if rung.status == "waiting":
        return f"{layers}: waiting"
    if rung.status == "failed":
        return f"{layers}: failed. {rung.error or ''}".strip()
    progress = "" if rung.status == "done" else f" · step {rung.step} of {rung.steps}"
    if rung.cost is None or rung.start_cost is None:
        return f"{layers}: {rung.status}{progress}"
    return f"{layers}{progress} · J_style {rung.start_cost:.3g} → {rung.cost:.3g}"


def _draw(ladder: LayerLadder) -> None:
    for column, rung in zip(st.columns(len(ladder.configs)), ladder.rungs(), strict=True):
        if rung.image is not None:
            column.image(rung.image, width="stretch")
        column.markdown(_caption(rung))  # 16 px: the costs are numbers the lesson talks about


def _live(ladder: LayerLadder) -> None:
    @st.fragment(run_every=POLL_SECONDS)
    def live() -> None:
        if ladder.finished:
            st.rerun()  # the whole page: the finished ladder is drawn once, without polling
        try:
            ladder.advance(get_executor(), owner_token())
        except AdmissionError as exc:
            st.info(f"The next texture waits for a place in the queue: {exc}", icon=":material/hourglass_top:")
        _draw(ladder)

    live()


def ladder_step(style: PickedImage, number: int) -> None:
    """The lesson's step ``number``: the ladder of ``style``, started by a button, live while it runs."""
    st.header(f"{number} · What each layer's Gram matrix keeps")
    st.markdown(
        "Start from white noise and change its pixels until its Gram matrices match the style image's, with "
        "the **style term only** (α = 0): first at **relu1_1** alone, then relu1_1 and relu2_1, … up to all "
        "five layers (Gatys et al. 2016, Fig. 1). Early layers keep colours and fine grain; each deeper layer "
        "adds structure at a larger scale, because its positions see larger parts of the image."
    )
    which = (style.digest, current_weights(), current_device())
    ladder = _ladder(*which, style)
    asked = st.session_state.setdefault(STARTED_KEY, set())
    if all(rung.status == "waiting" for rung in ladder.rungs()) and which not in asked:
        st.button(
            "Grow the five textures",
            icon=":material/play_arrow:",
            key="ladder_start",
            on_click=asked.add,
            args=(which,),
            help=f"Five background runs of {ladder.configs[0].steps} L-BFGS steps at {LADDER_SIZE} px, one after "
            "another.",
        )
        return
    if ladder.finished:
        _draw(ladder)
        seconds = sum(result.seconds for result in ladder.results() if result is not None)
        st.caption(f"{LADDER_SIZE} px, {current_weights()} weights, {duration(seconds)} of runs in all.")
    else:
        _live(ladder)
