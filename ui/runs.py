"""This session's runs as the Run and Style vs generated pages show them: labels, outcomes, the link
between the two pages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import streamlit as st

from nst_core import JobStatus

from .state import runs

if TYPE_CHECKING:
    from nst_core import Job, JobState

RUN_PAGE: Final = "app_pages/run.py"
COMPARE_PAGE: Final = "app_pages/style_vs_generated.py"
CURRENT_KEY: Final = "run_current"
"""Session key: id of the run the Run page shows (the latest launched unless another was picked)."""


def run_number(job_id: str) -> int:
    """The run's number in this session, from 1 in launch order."""
    return list(runs()).index(job_id) + 1


def is_active(job: Job) -> bool:
    """Queued or running: its page keeps polling it."""
    return not job.status.finished


def run_label(job_id: str) -> str:
    """The run's label in pickers and lists, e.g. "Run 2 · done · 128 px, 150 steps, lbfgs"."""
    job = runs()[job_id]
    config = job.config
    return f"Run {run_number(job_id)} · {job.status} · {config.size} px, {config.steps} steps, {config.optimizer}"


def finished_runs() -> list[str]:
    """Ids of this session's runs that are done, newest first."""
    return [job_id for job_id, job in reversed(runs().items()) if job.status == JobStatus.DONE]


def current_run() -> str | None:
    """Id of the run the Run page shows: the one picked, else the newest."""
    session_runs = runs()
    chosen = st.session_state.get(CURRENT_KEY)
    if chosen in session_runs:
        return chosen
    return next(reversed(session_runs), None)


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
