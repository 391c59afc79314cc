"""The Style vs generated page's run picker: this session's finished runs and the stored runs its links
opened; the URL names the run shown."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import streamlit as st

from .links import RUN_PARAM
from .run_saver import run_saver
from .runs import run_label
from .shown_runs import ShownRun, open_linked_run, session_run
from .state import runs

if TYPE_CHECKING:
    from streamlit.delta_generator import DeltaGenerator

RUN_KEY: Final = "svg_run"
"""Session key: the picked run (a job id, or the stored id of a run a link opened)."""
LINKED_KEY: Final = "svg_linked"
"""Session key: the stored runs this session opened from links (id -> ShownRun)."""


def _linked_run(done: list[str]) -> None:
    """Take in a link's ``?run=``: a run of this session (by job id or stored id) is selected, a stored
    one joins the choices for the rest of the session; one that cannot be opened says why, once."""
    if (requested := st.query_params.get(RUN_PARAM)) is None:
        return
    job = run_saver().job_of(requested, [runs()[job_id] for job_id in done])
    if job is not None:
        requested = job.id
    elif requested not in done and requested not in st.session_state.setdefault(LINKED_KEY, {}):
        if (shown := open_linked_run(requested)) is None:
            return
        st.session_state[LINKED_KEY][requested] = shown
    st.session_state[RUN_KEY] = requested


def pick_shown_run(done: list[str], column: DeltaGenerator) -> ShownRun | None:
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
