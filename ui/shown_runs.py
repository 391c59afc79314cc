"""The finished run a page shows, from this session (a live job) or from the store (a link's run), in one
shape: ``ShownRun``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import streamlit as st

from nst_core.errors import RunNotFoundError, StoredRunError, StoreUnavailableError
from nst_core.serve.store import is_valid_id

from .owner import owner_token
from .run_saver import SAVE_WAIT_S, get_store, run_saver
from .runs import run_number
from .state import runs

if TYPE_CHECKING:
    from nst_core import RunResult, StoredRun

NOT_FOUND: Final = "This link names no run stored on this server: it may be mistyped, or the run was deleted."


@dataclass(frozen=True)
class ShownRun:
    """A finished run as the pages show it, live from this session or stored: ``result`` has a
    ``RunResult``'s attributes either way."""

    result: RunResult | StoredRun
    label: str  # "Run 2", or a stored run's title
    key: str  # the job id of a live run, the stored id of a stored one: suffix of its widgets' keys
    name: str  # for file names: "run-2", or the stored id
    run_id: str | None  # the stored id its link names; None until it is stored
    owned: bool  # launched by this visitor
    unstored: str | None = None  # why a finished run of this session has no stored id (a full disk)


def session_run(job_id: str) -> ShownRun:
    """A finished run of this session (its result must be ready), with its stored id once it is written."""
    number = run_number(job_id)
    result = runs()[job_id].result()
    saver = run_saver()
    run_id = saver.stored_id(job_id, SAVE_WAIT_S)
    return ShownRun(result, f"Run {number}", job_id, f"run-{number}", run_id, True, saver.save_error(job_id))


def open_linked_run(run_id: str) -> ShownRun | None:
    """The stored run a link names, or None after one sentence saying why it cannot be shown (naming the run)."""
    try:
        run = get_store().get(run_id).load()
        owned = run.owner is not None and run.owner == owner_token()
        return ShownRun(run, run.title or "Shared run", run.id, run.id, run.id, owned)
    except StoredRunError:
        shown = run_id if is_valid_id(run_id) else "this link names"
        st.error(f"The run {shown} is damaged on this server and cannot be shown; the rest of the page works.")
    except RunNotFoundError:
        st.error(NOT_FOUND)
    except StoreUnavailableError as exc:
        st.error(str(exc))
    return None
