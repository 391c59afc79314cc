"""Run: set up a style transfer, launch it on the shared queue, watch it converge, download the result."""

from __future__ import annotations

import dataclasses
from typing import Any, Final

import streamlit as st

from nst_core import ConfigError, Job, NSTError, RunConfig, estimate_run
from nst_core.images import to_pil, to_png_bytes
from nst_core.layers import (
    DEFAULT_CONTENT_LAYER,
    DEFAULT_STYLE_LAYERS,
    LAYER_CHANNELS,
    RELU_LAYERS,
)
from nst_core.runs.export import run_archive
from nst_core.figures import loss_curve_figure
from nst_core.runs import DEFAULT_LR, MAX_SIZE, MIN_SIZE
from ui.resources import get_executor
from ui.runs import (
    ACTIVE,
    COMPARE_PAGE,
    COMPARE_PARAM,
    CURRENT_KEY,
    current_run,
    duration,
    is_active,
    run_label,
    run_number,
    show_outcome,
)
from ui.state import (
    current_content,
    current_device,
    current_preset,
    current_style,
    current_weights,
    gpu_available,
    register_run,
    runs,
)

POLL_SECONDS: Final = 1.0
LAMBDAS_PER_ROW: Final = 5
# The form's label of each RunConfig field, to point at the one a ConfigError names.
FIELD_LABELS: Final = {
    "alpha": "α: content weight",
    "beta": "β: style weight",
    "content_layer": "Content layer",
    "size": "Size",
    "steps": "Steps",
    "optimizer": "Optimiser",
    "lr": "Learning rate",
    "seed": "Seed",
    "style_layers": "Style layers and their λ",
    "snapshot_layers": "Style layers",
    "snapshot_every": "Snapshot every",
    "device": "Device",
    "content": "the content image (sidebar)",
    "style": "the style image (sidebar)",
    "weights": "the weights (sidebar)",
}
# Session key of the form's last values: Streamlit forgets a widget's value once its page is left.
SAVED_FORM: Final = "_run_form"
_DEFAULTS: Final = {field.name: field.default for field in dataclasses.fields(RunConfig)}


def _key(name: str) -> str:
    return f"run_{name}"


def _lambda_key(layer: str) -> str:
    return _key(f"lambda_{layer}")


def _preset_values() -> dict[str, Any]:
    preset = current_preset()
    return {
        _key("size"): preset.size,
        _key("steps"): preset.steps,
        _key("optimizer"): preset.optimizer,
        _key("snapshot_every"): preset.snapshot_every,
        _key("device"): current_device(),
    }


def _seed_form() -> list[str]:
    """Give every form widget its value before it is drawn: the last one used on this page, or the
    preset's and the core's defaults. Choosing another preset resets the fields the preset sets.
    Returns the form's keys."""
    saved: dict[str, Any] = st.session_state.setdefault(SAVED_FORM, {})
    preset = _preset_values()
    fresh = saved.get("preset") != current_preset().title
    saved["preset"] = current_preset().title
    defaults = {
        _key("alpha"): float(_DEFAULTS["alpha"]),
        _key("beta"): float(_DEFAULTS["beta"]),
        _key("lr"): _DEFAULTS["lr"],
        _key("init"): _DEFAULTS["init"],
        _key("seed"): int(_DEFAULTS["seed"]),
        _key("content_layer"): DEFAULT_CONTENT_LAYER,
        _key("style_layers"): list(DEFAULT_STYLE_LAYERS),
        **{_lambda_key(layer): DEFAULT_STYLE_LAYERS.get(layer, 0.2) for layer in RELU_LAYERS},
        **preset,
    }
    for key, value in defaults.items():
        if fresh and key in preset:
            st.session_state[key] = value
        elif key not in st.session_state:
            st.session_state[key] = saved.get(key, value)
    return list(defaults)


def _save_form(keys: list[str]) -> None:
    st.session_state[SAVED_FORM].update({key: st.session_state[key] for key in keys})


def _form() -> dict[str, Any]:
    """Draw the settings; returns RunConfig's fields (the images, weights and device aside)."""
    st.subheader("Settings")
    c1, c2, c3, c4 = st.columns(4)
    c1.number_input("α: content weight", key=_key("alpha"), format="%g", help="J = α·J_content + β·J_style")
    c2.number_input("β: style weight", key=_key("beta"), format="%g", help="J = α·J_content + β·J_style")
    c3.selectbox(
        "Content layer",
        RELU_LAYERS,
        key=_key("content_layer"),
        help="The layer whose activations J_content compares with the content image's.",
    )
    c4.radio(
        "Start from",
        ["content", "noise"],
        key=_key("init"),
        horizontal=True,
        format_func={"content": "content image", "noise": "noise"}.get,
    )
    c1, c2, c3, c4, c5 = st.columns(5)
    c1.number_input("Size (px, longest side)", min_value=MIN_SIZE, max_value=MAX_SIZE, step=16, key=_key("size"))
    c2.number_input("Steps", min_value=1, max_value=10_000, step=10, key=_key("steps"), help="Evaluations of J.")
    c3.radio("Optimiser", ["lbfgs", "adam"], key=_key("optimizer"), format_func={"lbfgs": "L-BFGS", "adam": "Adam"}.get)
    c4.number_input(
        "Learning rate",
        min_value=0.0,
        key=_key("lr"),
        format="%g",
        placeholder="default",
        help=(
            f"Empty: the optimiser's default ({DEFAULT_LR['lbfgs']:g} for L-BFGS, {DEFAULT_LR['adam']:g} for Adam). "
            "L-BFGS scales its steps by a line search; Adam moves pixels by ~lr."
        ),
    )
    c5.number_input("Seed", min_value=0, step=1, key=_key("seed"))
    layers = st.multiselect(
        "Style layers",
        RELU_LAYERS,
        key=_key("style_layers"),
        help="The layers whose Gram matrices J_style compares; each has its weight λ^[l].",
    )
    weights: dict[str, float] = {}
    for row in range(0, len(layers), LAMBDAS_PER_ROW):
        chosen = layers[row : row + LAMBDAS_PER_ROW]
        for column, layer in zip(st.columns(LAMBDAS_PER_ROW), chosen, strict=False):
            weights[layer] = column.number_input(
                f"λ {layer} ({LAYER_CHANNELS[layer]} ch)", key=_lambda_key(layer), format="%g", step=0.05
            )
    with st.expander("Device and snapshots"):
        left, right = st.columns(2)
        left.radio("Device", ["cuda", "cpu"] if gpu_available() else ["cpu"], key=_key("device"), horizontal=True)
        right.number_input(
            "Snapshot every (steps)",
            min_value=1,
            step=1,
            key=_key("snapshot_every"),
            help="How often the preview and the Gram matrices G_G of the style layers are recorded.",
        )
    state = st.session_state
    return {
        "alpha": state[_key("alpha")],
        "beta": state[_key("beta")],
        "content_layer": state[_key("content_layer")],
        "init": state[_key("init")],
        "size": int(state[_key("size")]),
        "steps": int(state[_key("steps")]),
        "optimizer": state[_key("optimizer")],
        "lr": state[_key("lr")],
        "seed": int(state[_key("seed")]),
        "style_layers": weights,
        "snapshot_layers": tuple(weights),
        "device": state[_key("device")],
        "snapshot_every": int(state[_key("snapshot_every")]),
    }


def _config(fields: dict[str, Any]) -> RunConfig:
    """The run's configuration, validated; raises ``ConfigError`` naming the bad field."""
    config = RunConfig(
        content=current_content().tensor, style=current_style().tensor, weights=current_weights(), **fields
    )
    config.validate()
    return config


def _launch_panel(fields: dict[str, Any]) -> None:
    """The estimate and the Launch button, or what is wrong with the settings."""
    try:
        config = _config(fields)
        estimate = estimate_run(config)
    except ConfigError as exc:
        reason = str(exc).removeprefix(f"{exc.field}: ")
        st.error(f"Check **{FIELD_LABELS.get(exc.field, exc.field)}**: {reason}")
        st.button("Launch", type="primary", disabled=True, key="run_launch_disabled")
        return
    left, middle, right = st.columns([1, 1, 2], vertical_alignment="center")
    left.metric("Estimated time", duration(estimate.seconds))
    middle.metric("Estimated peak memory", f"{estimate.peak_bytes / 2**20:,.0f} MB")
    with right:
        how = "calibrated by measurement" if estimate.calibrated else "a rough figure, not measured on this hardware"
        st.caption(
            f"On {estimate.device.upper()} ({estimate.precision}), {how}; {current_weights()} weights. "
            "Runs take turns in one queue shared by everyone using this server."
        )
        every, steps = config.snapshot_every, config.steps
        if every and steps % every:
            st.caption(f"Snapshots every {every} steps: the last is at step {steps - steps % every} of {steps}.")
        if st.button("Launch", type="primary", icon=":material/play_arrow:", key="run_launch"):
            try:
                job = get_executor().submit(config)
            except NSTError as exc:
                st.error(str(exc))
                return
            register_run(job)
            st.session_state[CURRENT_KEY] = job.id


def _remaining(eta_s: float | None) -> str:
    if eta_s is None:
        return "time left unknown"
    return "almost done" if eta_s < 1 else f"about {duration(eta_s)} left"


def _live(job: Job) -> None:
    """Progress of a queued or running job, redrawn every second without rerunning the page."""

    @st.fragment(run_every=POLL_SECONDS)
    def live() -> None:
        snapshot = job.snapshot()
        if snapshot.status not in ACTIVE:
            st.rerun()  # the whole page: the result replaces this panel and the polling stops
        if snapshot.status == "queued":
            position = snapshot.queue_position or 1
            after = (
                "the run in progress" if position == 1 else f"the run in progress and {position - 1} queued before it"
            )
            st.info(f"Waiting in the queue (position {position}): it starts after {after}.")
        else:
            doing = f"Step {snapshot.step} of {snapshot.steps}" if snapshot.step else snapshot.phase.capitalize()
            text = f"{doing} · {duration(snapshot.elapsed_s)} elapsed · {_remaining(snapshot.eta_s)}"
            st.progress(min(1.0, snapshot.step / max(snapshot.steps, 1)), text=text)
        preview, curves = st.columns([1, 2])
        if snapshot.preview is not None:
            preview.image(snapshot.preview, caption=f"Step {snapshot.step}", width="stretch")
        if snapshot.history:
            curves.plotly_chart(loss_curve_figure(snapshot.history, height=380), theme=None, key=f"live_curves_{job.id}")
        st.button("Stop", icon=":material/stop:", on_click=job.cancel, key=f"stop_{job.id}")

    live()


def _finished(job: Job) -> None:
    result = job.result()
    number = run_number(job.id)
    history = result.history
    st.success(f"Run {number} is done: {len(history)} steps in {duration(result.seconds)} on {result.device}.")
    st.caption(
        f"Weights: {result.weights_source}. Precision: {result.precision}. "
        f"The optimiser minimised a scaled objective ({result.loss_scaling}); every cost shown is the formula's own."
    )
    picture, curves = st.columns([1, 2])
    picture.image(to_pil(result.image), caption=f"Run {number}: the generated image", width="stretch")
    curves.plotly_chart(loss_curve_figure(history, height=420), theme=None, key=f"curves_{job.id}")
    png, data, link = st.columns(3)
    png.download_button(
        "Download the image (PNG)",
        to_png_bytes(result.image),
        file_name=f"style-lens-run-{number}.png",
        mime="image/png",
        icon=":material/download:",
        on_click="ignore",
    )
    data.download_button(
        "Download the run's data (ZIP)",
        lambda: run_archive(result),
        file_name=f"style-lens-run-{number}.zip",
        mime="application/zip",
        icon=":material/folder_zip:",
        on_click="ignore",
        help="history.json (every step's costs and the settings), grams.npz (G_S and G_G per layer), result.png",
    )
    link.page_link(
        COMPARE_PAGE,
        label="Compare Gram matrices",
        icon=":material/compare:",
        query_params={COMPARE_PARAM: job.id},
    )


def _current(job: Job) -> None:
    st.subheader(f"Run {run_number(job.id)}")
    if is_active(job):
        _live(job)
    elif job.status == "done":
        _finished(job)
    else:
        snapshot = job.snapshot()
        show_outcome(snapshot)
        if snapshot.history:
            st.plotly_chart(loss_curve_figure(snapshot.history, height=380), theme=None, key=f"curves_{job.id}")


def _runs_table(session_runs: dict[str, Job]) -> None:
    """Every run's status and progress, kept current while one of them is queued or running."""
    active = any(is_active(job) for job in session_runs.values())

    @st.fragment(run_every=POLL_SECONDS if active else None)
    def table() -> None:
        snapshots = {job_id: job.snapshot() for job_id, job in session_runs.items()}
        if active and all(snapshot.status not in ACTIVE for snapshot in snapshots.values()):
            st.rerun()  # all finished: redraw the page once, without polling
        rows = [
            {
                "Run": run_number(job_id),
                "Status": str(snapshot.status),
                "Size (px)": session_runs[job_id].config.size,
                "Steps": f"{snapshot.step} of {snapshot.steps}",
                "Optimiser": session_runs[job_id].config.optimizer,
                "Time": duration(snapshot.elapsed_s),
            }
            for job_id, snapshot in snapshots.items()
        ]
        st.dataframe(rows, hide_index=True)

    table()


def _session_runs() -> None:
    session_runs = runs()
    if not session_runs:
        return
    st.subheader("This session's runs")
    _runs_table(session_runs)
    if len(session_runs) > 1:
        labels = {job_id: run_label(job_id) for job_id in reversed(session_runs)}
        st.selectbox("Show run", list(labels), format_func=labels.__getitem__, key=CURRENT_KEY)


st.title("Run a style transfer")
st.markdown(
    f"Starting from **{current_content().label}** in the style of **{current_style().label}** (the sidebar's "
    "images), the optimiser changes the pixels of the generated image G to lower "
    "J(G) = α·J_content(C, G) + β·Σ_l λ^[l]·J_style^[l](S, G). The settings start from the sidebar's preset."
)

form_keys = _seed_form()
with st.container(border=True):
    _launch_panel(_form())
_save_form(form_keys)

job_id = current_run()
if job_id is not None:
    _current(runs()[job_id])
_session_runs()
