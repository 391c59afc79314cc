"""Compare runs: two finished runs side by side (images, per-layer costs, Gram matrices), to see what a
different style loss or setting changes."""

from __future__ import annotations

from typing import Final

import streamlit as st

from nst_core.explain import common_final_grams, common_style_layers, config_differences
from nst_core.figures import run_gram_pair_figure, run_pair_bars
from nst_core.images import to_pil
from nst_core.layers import LAYER_CHANNELS
from ui.pages import RUN
from ui.runs import finished_runs, run_label, run_number
from ui.state import runs

PICK_KEYS: Final = ("cmp_a", "cmp_b")


def _pick(done: list[str]) -> tuple[str, str]:
    labels = {job_id: run_label(job_id) for job_id in done}
    picked = []
    for column, key, default in zip(st.columns(2), PICK_KEYS, (done[1], done[0]), strict=True):
        if st.session_state.get(key) not in done:
            st.session_state[key] = default
        picked.append(column.selectbox(f"Run {'AB'[len(picked)]}", done, format_func=labels.__getitem__, key=key))
    return picked[0], picked[1]


def _show(a: str, b: str) -> None:
    results = [runs()[job_id].result() for job_id in (a, b)]
    names = tuple(f"run {run_number(job_id)}" for job_id in (a, b))
    if differences := config_differences(results[0].config, results[1].config):
        st.dataframe(
            [{"Setting": field, names[0]: str(x), names[1]: str(y)} for field, (x, y) in differences.items()],
            hide_index=True,
        )
    else:
        st.caption("The two runs have the same settings.")
    for column, result, name in zip(st.columns(2), results, names, strict=True):
        last = result.history[-1]
        column.image(
            to_pil(result.image), caption=f"{name.capitalize()}: {result.config.style_loss} loss", width="stretch"
        )
        column.caption(f"J_style {last.J_style:.4g} · J_content {last.J_content:.4g} · {result.seconds:.0f} s")
    layers = common_style_layers(results[0].config, results[1].config)
    per_layer = [dict(result.history[-1].J_style_layers) for result in results]
    st.plotly_chart(run_pair_bars(per_layer, names, layers), theme=None, key="cmp_bars")
    if not (grams := common_final_grams(results[0], results[1])):
        st.info("These runs recorded no Gram matrices of a common layer (snapshots off?).")
        return
    layer = st.selectbox(
        "Layer", list(grams), format_func=lambda name: f"{name} ({LAYER_CHANNELS[name]} channels)", key="cmp_layer"
    )
    st.plotly_chart(run_gram_pair_figure(*grams[layer], layer, names), theme=None, key="cmp_grams")


def main() -> None:
    st.title("Compare runs")
    st.markdown(
        "Two finished runs side by side: the images, the per-layer style costs (the Gram formula, whatever loss "
        "each run minimised) and the generated Gram matrices at their last snapshot. Same content and style, "
        "another loss or setting: what does W2 change compared with the Gram cost?"
    )
    done = finished_runs()
    if len(done) < 2:
        st.info(f"This needs two finished runs; this session has {len(done)}. Launch another on the Run page.")
        st.page_link(RUN.script, label="Go to the Run page", icon=RUN.icon)
        return
    _show(*_pick(done))


main()
