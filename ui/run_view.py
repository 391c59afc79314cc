"""A run on the Run page: a queued or running job's live progress, a finished run's image, numbers,
downloads and links (the same whether it is this session's or a stored one), a failed run's outcome."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import streamlit as st

from nst_core import JobStatus
from nst_core.figures import loss_curve_figure
from nst_core.images import to_pil, to_png_bytes
from nst_core.serve.files import run_archive

from .links import RUN_PARAM, copy_link
from .pages import RUN, STYLE_VS_GENERATED
from .runs import POLL_SECONDS, duration, run_number, show_outcome, time_left
from .shown_runs import ShownRun, session_run

if TYPE_CHECKING:
    from collections.abc import Callable

    from nst_core import Job, RunConfig, RunResult, StoredRun

PICTURE_MAX_PX: Final = 300  # the result's height at most, so that it and its numbers fit a 720 px screen
CURVES_PX: Final = 340


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
            after = "the run in progress" + ("" if position == 1 else f" and {position - 1} queued before it")
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
        finals = {"Final J": last.J, "Final J_content": last.J_content, "Final J_style": last.J_style}
        for column, (label, value) in zip(st.columns(3), finals.items(), strict=True):
            column.metric(label, f"{value:.4g}")
    picture, curves = st.columns([1, 2])
    image = to_pil(result.image)
    # No taller than PICTURE_MAX_PX: a portrait picture would push the rest of the result under the fold.
    width = round(PICTURE_MAX_PX * image.width / image.height) if image.height > image.width else "stretch"
    picture.image(image, caption=f"{shown.label}: the generated image", width=width)
    curves.plotly_chart(loss_curve_figure(history, height=CURVES_PX), theme=None, key=f"curves_{shown.key}")
    st.caption(
        f"Weights: {result.weights_source}. Precision: {result.precision}. "
        f"The optimiser minimised a scaled objective ({result.loss_scaling}); every cost shown is the formula's own."
    )
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
        STYLE_VS_GENERATED.script,
        label="Compare Gram matrices",
        icon=STYLE_VS_GENERATED.icon,
        query_params={RUN_PARAM: shown.run_id or shown.key},
    )
    copy_link(shown.run_id, RUN, shown.unstored)


def _took(result: RunResult | StoredRun) -> str:
    return f"{len(result.history)} steps in {duration(result.seconds)} on {result.device}"


def stored_run_view(shown: ShownRun, use_settings: Callable[[RunConfig], None]) -> None:
    """A run opened from its link: read-only, its image and numbers first; "Use these settings" calls
    ``use_settings`` with its config."""
    result = shown.result
    st.subheader(shown.label)
    whose = "one of your runs" if shown.owned else "a shared run, read-only"
    note, use = st.columns([3, 1], vertical_alignment="center")
    note.info(f"Stored run, {whose}: {_took(result)}.")
    use.button(
        "Use these settings",
        icon=":material/tune:",
        on_click=use_settings,
        args=(result.config,),
        key="run_use_settings",
        width="stretch",
        help='Copy this run\'s settings (and its images) into the form under "New run" below, to launch '
        "a run of your own.",
    )
    _finished(shown)


def session_run_view(job: Job) -> None:
    """A run of this session: live while queued or running, then its result, or why it ended early."""
    if not job.status.finished:
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
