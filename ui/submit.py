"""Queuing a run for this visitor: a new one from the Run form, or one a server restart interrupted
(offered with a one-click Relaunch); a reloaded tab takes back its visitor's queued and running jobs."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Final

import streamlit as st

from nst_core.errors import NSTError

from .links import RUN_PARAM
from .owner import owner_token
from .resources import get_executor
from .run_saver import get_store, run_saver
from .runs import CURRENT_KEY
from .state import PickedImage, register_run
from .visitors import keep_visit

if TYPE_CHECKING:
    from nst_core import InterruptedRun, Job, RunConfig

INTERRUPTED_ERROR_KEY: Final = "_relaunch_error"


def submit_run(config: RunConfig, content: PickedImage, style: PickedImage) -> Job:
    """Queue a run for this visitor and this session; its result is stored once it is done. Raises the
    queue's ``AdmissionError`` (``TooManyRunsError``, ``QueueFullError``) when the run is refused."""
    title = f"{image_title(content)} in the style of {image_title(style)}"
    return _submit(config, title, image_reference(content), image_reference(style))


def _submit(config: RunConfig, title: str, content: str, style: str) -> Job:
    keep_visit()
    job = get_executor().submit(config, owner=owner_token())
    run_saver().track(job, owner=owner_token(), title=title, content=content, style=style)
    register_run(job)
    return job


def image_reference(image: PickedImage) -> str:
    """What a stored config names: the example's name, or ``upload <image id>`` (never a file name)."""
    return f"upload {image.source}" if image.kind == "upload" else str(image.source)


def image_title(image: PickedImage) -> str:
    return "an upload" if image.kind == "upload" else image.label


def adopt_active_runs(session_runs: dict[str, Job]) -> None:
    for job in run_saver().active(owner_token()):
        session_runs.setdefault(job.id, job)


def relaunch(run_id: str) -> Job | None:
    """Queue an interrupted run of this visitor again (None when it is no longer on offer: another tab or
    process took it). Raises the queue's ``AdmissionError``, or ``NSTError`` when its images are gone;
    it then stays on offer."""
    store = get_store()
    if (interrupted := store.claim_interrupted(run_id, owner=owner_token())) is None:
        return None
    try:
        config = store.config_of(interrupted)
        return _submit(config, interrupted.title or "A relaunched run", interrupted.content, interrupted.style)
    except BaseException:
        store.release_interrupted(interrupted)
        raise


def _relaunch(run_id: str) -> None:
    try:
        job = relaunch(run_id)
    except NSTError as exc:
        st.session_state[INTERRUPTED_ERROR_KEY] = str(exc)
        return
    if job is not None:
        st.session_state[CURRENT_KEY] = job.id
        st.query_params.pop(RUN_PARAM, None)


def show_interrupted() -> None:
    """This visitor's runs that a server restart interrupted, each with a one-click Relaunch."""
    try:
        interrupted: list[InterruptedRun] = get_store().interrupted(owner=owner_token())
    except NSTError:  # the data folder is unreadable: the rest of the page still works
        return
    if error := st.session_state.pop(INTERRUPTED_ERROR_KEY, None):
        st.warning(error)
    for run in interrupted:
        text, button = st.columns([4, 1], vertical_alignment="center")
        when = time.strftime("%d %b %H:%M", time.localtime(run.created))
        text.warning(f"**{run.title or 'A run'}** (queued {when}) was interrupted by a server restart — relaunch it.")
        button.button(
            "Relaunch", key=f"relaunch_{run.id}", on_click=_relaunch, args=(run.id,), icon=":material/replay:"
        )
