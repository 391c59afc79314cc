"""Run: set up a style transfer, launch it on the shared queue, watch it converge, download the result."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Final

import streamlit as st

from nst_core import ConfigError, Job, JobStatus, NSTError, estimate_run
from nst_core.errors import AdmissionError
from nst_core.figures import loss_curve_figure
from nst_core.images import to_pil, to_png_bytes
from nst_core.serve.files import run_archive
from ui.run_form import (
    SETTINGS_OPEN,
    config_problem,
    preset_picker,
    run_config,
    run_settings,
    settings_summary,
    use_settings,
)
from ui.runs import (
    COMPARE_PAGE,
    CURRENT_KEY,
    RUN_PAGE,
    current_run,
    duration,
    is_active,
    run_label,
    run_number,
    show_outcome,
    time_left,
)
from ui.state import current_content, current_style, current_weights, runs
from ui.store import (
    RUN_PARAM,
    ShownRun,
    adopt_active_runs,
    copy_link,
    gallery_enabled,
    gallery_runs,
    my_runs,
    open_linked_run,
    run_saver,
    session_run,
    show_interrupted,
    submit_run,
)

if TYPE_CHECKING:
    from nst_core import RunConfig, RunEntry, RunResult, StoredRun

URL_PATH: Final = "stylize"
POLL_SECONDS: Final = 1.0
PICTURE_MAX_PX: Final = 300  # the result's height at most, so that it and its numbers fit a 720 px screen
CURVES_PX: Final = 340
NEW_RUN_OPEN: Final = "run_new_open"  # session key: the "New run" fold's state below a shown run


def _launch_panel(fields: dict[str, Any]) -> None:
    """The preset, the estimate and the Launch button in one row, or what is wrong with the settings."""
    preset, time_column, memory_column, launch = st.columns([2, 1, 1, 1], vertical_alignment="bottom")
    with preset:
        preset_picker()
    try:
        config = run_config(fields)
        estimate = estimate_run(config)
    except ConfigError as exc:
        launch.button("Launch", type="primary", disabled=True, key="run_launch_disabled", width="stretch")
        st.error(config_problem(exc) + " (under Settings)")
        return
    time_column.metric("Estimated time", duration(estimate.seconds))
    # GB from 1 GiB on: "12,345 MB" would be cut short in a fifth of a projector's width.
    peak = estimate.peak_bytes
    memory_column.metric("Peak memory", f"{peak / 2**30:.1f} GB" if peak >= 2**30 else f"{peak / 2**20:.0f} MB")
    clicked = launch.button("Launch", type="primary", icon=":material/play_arrow:", key="run_launch", width="stretch")
    st.markdown(settings_summary(fields))
    how = "calibrated by measurement" if estimate.calibrated else "a rough figure, not measured on this hardware"
    st.caption(
        f"On {estimate.device.upper()} ({estimate.precision}), {how}; {current_weights()} weights. "
        "Runs take turns in one queue shared by everyone using this server."
    )
    every, steps = config.snapshot_every, config.steps
    if every and steps < every:
        st.caption(f"Snapshots every {every} steps: this run of {steps} records only its starting image (step 0).")
    elif every and steps % every:
        st.caption(f"Snapshots every {every} steps: the last is at step {steps - steps % every} of {steps}.")
    if clicked:
        try:
            job = submit_run(config, current_content(), current_style())
        except AdmissionError as exc:  # the fair queue's limits: why this visitor waits or is refused
            st.warning(str(exc), icon=":material/hourglass_top:")
            return
        except NSTError as exc:
            st.error(str(exc))
            return
        st.session_state[CURRENT_KEY] = job.id
        st.query_params.pop(RUN_PARAM, None)  # the page now shows the new run, not the linked one
        st.rerun()  # the run takes the form's place at the top; the form folds away below it


def _new_run() -> None:
    """What the run optimises, then the preset, the estimate and Launch; the settings fold away below them
    (the launch row is drawn after them, as it needs their values, but shown above)."""
    st.markdown(
        f"Starting from **{current_content().label}** in the style of **{current_style().label}** (the sidebar's "
        "images), the optimiser changes the pixels of the generated image G to lower the total cost:"
    )
    st.latex(r"J(G) = \alpha\, J_{content}(C, G) + \beta \sum_l \lambda^{[l]} J^{[l]}_{style}(S, G)")
    with st.container(border=True):
        launch_row = st.container()
        fields = run_settings()
        with launch_row:
            _launch_panel(fields)


def _open_new_run() -> None:
    """The "New run" fold below a shown run, opened on the settings (after "Use these settings")."""
    st.session_state[NEW_RUN_OPEN] = st.session_state[SETTINGS_OPEN] = True


def _live(job: Job) -> None:
    """Progress of a queued or running job, redrawn every second without rerunning the page."""

    @st.fragment(run_every=POLL_SECONDS)
    def live() -> None:
        snapshot = job.state()
        if snapshot.status.finished:
            st.rerun()  # the whole page: the result replaces this panel and the polling stops
        # Stop beside the progress, in the first screen with the preview: not under the curves.
        status, stop = st.columns([5, 1], vertical_alignment="bottom")
        if snapshot.status == JobStatus.QUEUED:
            position = snapshot.queue_position or 1
            after = (
                "the run in progress" if position == 1 else f"the run in progress and {position - 1} queued before it"
            )
            wait = "" if snapshot.queue_eta_s is None else f" Estimated wait: {duration(snapshot.queue_eta_s)}."
            status.info(f"Waiting in the queue (position {position}): it starts after {after}.{wait}")
        else:
            doing = f"Step {snapshot.step} of {snapshot.steps}" if snapshot.step else snapshot.phase.capitalize()
            text = f"{doing} · {duration(snapshot.elapsed_s)} elapsed · {time_left(snapshot)}"
            status.progress(min(1.0, snapshot.step / max(snapshot.steps, 1)), text=text)
        stop.button("Stop", icon=":material/stop:", on_click=job.cancel, key=f"stop_{job.id}", width="stretch")
        preview, curves = st.columns([1, 2])
        if snapshot.preview is not None:
            preview.image(snapshot.preview, caption=f"Step {snapshot.step}", width="stretch")
        if snapshot.history:
            curves.plotly_chart(
                loss_curve_figure(snapshot.history, height=CURVES_PX), theme=None, key=f"live_curves_{job.id}"
            )

    live()


def _finished(shown: ShownRun) -> None:
    """A finished run, live or stored: the same image, numbers and downloads either way; the image and the
    final costs first, so that a projector shows them without scrolling."""
    result = shown.result
    history = result.history
    if history:
        last = history[-1]
        # Four significant digits in three columns: longer values are cut short ("0.000707…") at 1280 px.
        for column, (label, value) in zip(
            st.columns(3),
            (("Final J", last.J), ("Final J_content", last.J_content), ("Final J_style", last.J_style)),
            strict=True,
        ):
            column.metric(label, f"{value:.4g}")
    picture, curves = st.columns([1, 2])
    image = to_pil(result.image)
    # No taller than PICTURE_MAX_PX: a portrait picture would push the rest of the result under the fold.
    width = round(PICTURE_MAX_PX * image.width / image.height) if image.height > image.width else "stretch"
    picture.image(image, caption=f"{shown.label}: the generated image", width=width)
    curves.plotly_chart(loss_curve_figure(history, height=CURVES_PX), theme=None, key=f"curves_{shown.key}")
    _summary(shown)
    png, data, link = st.columns(3)
    png.download_button(
        "Download the image (PNG)",
        to_png_bytes(result.image),
        file_name=f"style-lens-{shown.name}.png",
        mime="image/png",
        icon=":material/download:",
        on_click="ignore",
    )
    data.download_button(
        "Download the run's data (ZIP)",
        lambda: run_archive(result),
        file_name=f"style-lens-{shown.name}.zip",
        mime="application/zip",
        icon=":material/folder_zip:",
        on_click="ignore",
        help="history.json (every step's costs and the settings), grams.npz (G_S and G_G per layer), result.png",
    )
    link.page_link(
        COMPARE_PAGE,
        label="Compare Gram matrices",
        icon=":material/compare:",
        query_params={RUN_PARAM: shown.run_id or shown.key},
    )
    copy_link(shown.run_id, URL_PATH, shown.unstored)


def _took(result: RunResult | StoredRun) -> str:
    return f"{len(result.history)} steps in {duration(result.seconds)} on {result.device}"


def _summary(shown: ShownRun) -> None:
    result = shown.result
    st.caption(
        f"Weights: {result.weights_source}. Precision: {result.precision}. "
        f"The optimiser minimised a scaled objective ({result.loss_scaling}); every cost shown is the formula's own."
    )


def _use_settings(config: RunConfig) -> None:
    use_settings(config)
    _open_new_run()


def _stored(shown: ShownRun) -> None:
    """A run opened from its link: read-only, its image and numbers first; its settings can be copied into
    the form (folded below)."""
    result = shown.result
    st.subheader(shown.label)
    whose = "one of your runs" if shown.owned else "a shared run, read-only"
    note, use = st.columns([3, 1], vertical_alignment="center")
    note.info(f"Stored run, {whose}: {_took(result)}.")
    use.button(
        "Use these settings",
        icon=":material/tune:",
        on_click=_use_settings,
        args=(result.config,),
        key="run_use_settings",
        width="stretch",
        help='Copy this run\'s settings (and its images) into the form under "New run" below, to launch '
        "a run of your own.",
    )
    _finished(shown)


def _current(job: Job) -> None:
    if is_active(job):
        st.subheader(f"Run {run_number(job.id)}")
        _live(job)
    elif job.status == JobStatus.DONE:
        shown = session_run(job.id)
        st.success(f"Run {run_number(job.id)} is done: {_took(shown.result)}.")
        if shown.run_id is not None:
            st.query_params[RUN_PARAM] = shown.run_id  # a reload, or this URL shared, opens this run
        _finished(shown)
    else:
        st.subheader(f"Run {run_number(job.id)}")
        snapshot = job.state()
        show_outcome(snapshot)
        if snapshot.history:
            st.plotly_chart(loss_curve_figure(snapshot.history, height=380), theme=None, key=f"curves_{job.id}")


def _runs_table(session_runs: dict[str, Job]) -> None:
    """Every run's status and progress, kept current while one of them is queued or running."""
    active = any(is_active(job) for job in session_runs.values())
    drawn = {job_id: job.status for job_id, job in session_runs.items()}

    @st.fragment(run_every=POLL_SECONDS if active else None)
    def table() -> None:
        snapshots = {job_id: job.state() for job_id, job in session_runs.items()}
        if any(snapshot.status != drawn[job_id] for job_id, snapshot in snapshots.items()):
            st.rerun()  # a run changed status: redraw the page, its labels ("Show run") and its polling with it
        rows = [
            {
                "Run": run_number(job_id),
                "Status": str(snapshot.status),
                "Size (px)": session_runs[job_id].config.size,
                "Steps": f"{snapshot.step} of {snapshot.steps}",
                "Optimiser": session_runs[job_id].config.optimizer,
                # A finished run's time is the one its "done" message gives (the job's clock also counts set-up).
                "Time": duration(
                    session_runs[job_id].result().seconds if snapshot.status == JobStatus.DONE else snapshot.elapsed_s
                ),
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
        st.selectbox(
            "Show run",
            list(labels),
            format_func=labels.__getitem__,
            key=CURRENT_KEY,
            on_change=st.query_params.pop,
            args=(RUN_PARAM, None),
        )


def _run_links(title: str, entries: list[RunEntry]) -> None:
    if not entries:
        return
    st.subheader(title)
    for entry in entries:
        when = time.strftime("%d %b %H:%M", time.localtime(entry.created))
        label = f"{entry.title or 'Run'} · {entry.width}×{entry.height} px, {entry.steps} steps · {when}"
        st.page_link(RUN_PAGE, label=label, icon=":material/history:", query_params={RUN_PARAM: entry.id})


def _shown_run() -> bool:
    """Draw the run the page shows (the link's, else this session's current one), if any; says whether one
    was drawn."""
    requested = st.query_params.get(RUN_PARAM)
    job = run_saver().job_of(requested, list(runs().values())) if requested is not None else None
    if requested is not None and job is None:
        shown = open_linked_run(requested)
        if shown is None:
            return False
        _stored(shown)
        return True
    if job is not None:
        st.session_state[CURRENT_KEY] = job.id
    job_id = current_run()
    if job_id is None:
        return False
    _current(runs()[job_id])
    return True


def main() -> None:
    st.title("Run a style transfer")
    adopt_active_runs(runs())
    show_interrupted()
    # A run shown takes the form's place at the top of the page (the projector's first screen); the form,
    # Launch included, folds away below it.
    if _shown_run():
        with st.expander(
            "New run: preset, settings and Launch", key=NEW_RUN_OPEN, on_change="rerun", icon=":material/add_circle:"
        ):
            _new_run()
    else:
        _new_run()
    _session_runs()
    _run_links("My runs", my_runs())
    if gallery_enabled():
        _run_links("Class gallery: everyone's latest runs", gallery_runs())


main()
