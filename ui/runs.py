"""This session's runs as the pages show them: labels, progress and outcomes in words, the table of them all."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import streamlit as st

from nst_core import JobStatus

from .links import RUN_PARAM
from .state import runs

if TYPE_CHECKING:
    from nst_core import Job, JobState

POLL_SECONDS: Final = 1.0
CURRENT_KEY: Final = "run_current"
"""Session key: id of the run the Run page shows (the latest launched unless another was picked)."""


def run_number(job_id: str) -> int:
    """The run's number in this session, from 1 in launch order."""
    return list(runs()).index(job_id) + 1


def run_label(job_id: str) -> str:
    """The run's label in pickers and lists, e.g. "Run 2 · done · 128 px, 150 steps, lbfgs"."""
    job = runs()[job_id]
    config = job.config
    return f"Run {run_number(job_id)} · {job.status} · {config.size} px, {config.steps} steps, {config.optimizer}"


def finished_runs() -> list[str]:
    return [job_id for job_id, job in reversed(runs().items()) if job.status == JobStatus.DONE]


def current_run() -> str | None:
    """Id of the run the Run page shows: the one picked, else the newest."""
    session_runs = runs()
    chosen = st.session_state.get(CURRENT_KEY)
    return chosen if chosen in session_runs else next(reversed(session_runs), None)


def duration(seconds: float | None) -> str:
    """A duration as people say it: "45 s", "3 min 05 s", "under 1 s"; "unknown" without a figure."""
    if seconds is None:
        return "unknown"
    whole = round(seconds)
    if whole < 1:
        return "under 1 s"
    return f"{whole} s" if whole < 60 else f"{whole // 60} min {whole % 60:02d} s"


def time_left(snapshot: JobState) -> str:
    """What remains of a running job, in words. Before its first step the estimate counts the steps only,
    not the set-up under way (loading weights, starting a Ray worker), so it is not a time left."""
    if snapshot.eta_s is None:
        return "time left unknown"
    if not snapshot.step:
        return f"its steps estimated at {duration(snapshot.eta_s)}"
    return "almost done" if snapshot.eta_s < 1 else f"about {duration(snapshot.eta_s)} left"


def show_outcome(snapshot: JobState) -> None:
    """A failed or cancelled run's message as a sentence (never a traceback)."""
    if snapshot.status == JobStatus.CANCELLED:
        st.warning(f"This run was stopped at step {snapshot.step} of {snapshot.steps}.")
    elif snapshot.status == JobStatus.FAILED:
        st.error(f"This run failed at step {snapshot.step} of {snapshot.steps}. {snapshot.error or ''}".strip())


def _runs_table(session_runs: dict[str, Job]) -> None:
    """Every run's status and progress, kept current while one of them is queued or running."""
    active = any(not job.status.finished for job in session_runs.values())
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


def show_session_runs() -> None:
    """The "This session's runs" section: their table and, with more than one, the picker of the run the Run
    page shows."""
    if not (session_runs := runs()):
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
