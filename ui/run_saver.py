"""The process-wide ``RunStore`` and the ``RunSaver`` that writes every finished run into it (and records
queued ones, offered for relaunch after a restart); uploads kept there for links and runs."""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from collections import OrderedDict
from functools import partial
from typing import TYPE_CHECKING, Final

import streamlit as st

from nst_core import JobStatus, RunStore, default_root
from nst_core.errors import NSTError, StoreUnavailableError

from .visitors import hold_upload, visitors

if TYPE_CHECKING:
    from collections.abc import Callable

    from nst_core import Job, RunResult

_log = logging.getLogger(__name__)

MAX_BYTES_ENV: Final = "STYLE_LENS_DATA_MAX_BYTES"
DEFAULT_MAX_BYTES: Final = 4 * 2**30
"""The store is pruned, oldest runs first, to stay under this (``$STYLE_LENS_DATA_MAX_BYTES`` overrides it)."""
MAX_RUNS: Final = 5000
SAVE_WAIT_S: Final = 10.0
"""How long a page waits for a just-finished run to be written before showing it without a link."""
SAVED_IDS_KEPT: Final = 10_000
"""Finished jobs whose stored id ``RunSaver`` remembers; a session showing an older job shows it without a link."""


class RunSaver:
    """Writes every finished run of the jobs it tracks into the store, from the executor's thread: a run
    launched from a tab that was closed meanwhile still lands there, and its link works. While a job is
    queued or running the store records it (``RunStore.record_pending``), so a restart finds it.

    ``keep_images`` gives the uploads live sessions hold: pruning keeps them."""

    def __init__(
        self,
        store: RunStore,
        max_bytes: int,
        remembered: int = SAVED_IDS_KEPT,
        keep_images: Callable[[], set[str]] = set,
    ) -> None:
        self.store = store
        self._max_bytes = max_bytes
        self._remembered = remembered
        self._keep_images = keep_images
        self._changed = threading.Condition()
        # job id -> stored id (None: could not be written), the ``remembered`` most recent: a server up for
        # months would otherwise keep one entry per run it ever served.
        self._saved: OrderedDict[str, str | None] = OrderedDict()
        self._errors: OrderedDict[str, str] = OrderedDict()  # job id -> why it could not be stored
        self._active: dict[str, list[Job]] = {}  # owner -> their queued or running jobs

    def track(self, job: Job, *, owner: str, title: str, content: str, style: str) -> None:
        """Save ``job``'s result once it is done, under ``owner``, with ``content`` / ``style`` naming its images."""
        with self._changed:
            self._active.setdefault(owner, []).append(job)
        try:
            self.store.record_pending(job.id, job.config, owner=owner, title=title, content=content, style=style)
        except NSTError:  # a full disk: the run still runs and shows; only a restart would lose it
            _log.exception("queued run %s could not be recorded", job.id)
        job.add_done_callback(partial(self._save, owner=owner, title=title, content=content, style=style))

    def prune(self) -> None:
        """Keep the store within its limits (runs and uploads), sparing the uploads live sessions hold."""
        self.store.prune(max_runs=MAX_RUNS, max_bytes=self._max_bytes, keep_images=self._keep_images())

    def save_error(self, job_id: str) -> str | None:
        """Why a finished job's run could not be stored (the store's sentence), if it could not."""
        with self._changed:
            return self._errors.get(job_id)

    def stored_id(self, job_id: str, wait_s: float = 0.0) -> str | None:
        """The stored id of a tracked job's run, waiting up to ``wait_s`` while its writing is under way."""
        with self._changed:
            if not self._tracked(job_id):
                return None
            self._changed.wait_for(lambda: job_id in self._saved, timeout=wait_s)
            return self._saved.get(job_id)

    def job_of(self, run_id: str, jobs: list[Job]) -> Job | None:
        with self._changed:
            return next((job for job in jobs if self._saved.get(job.id) == run_id), None)

    def active(self, owner: str) -> list[Job]:
        """``owner``'s queued and running jobs, oldest first: a reloaded tab picks them up again."""
        with self._changed:
            return [job for job in self._active.get(owner, []) if not job.status.finished]

    def _tracked(self, job_id: str) -> bool:
        return job_id in self._saved or any(job.id == job_id for jobs in self._active.values() for job in jobs)

    def _save(self, job: Job, *, owner: str, title: str, content: str, style: str) -> None:
        run_id = error = None
        try:
            if job.status == JobStatus.DONE:
                run_id = self.store.put(_described(job.result(), content, style), owner=owner, title=title)
                self.prune()
        except StoreUnavailableError as exc:  # a full disk: the session still shows the run, without a link
            error = str(exc)
            _log.warning("run %s could not be stored: %s", job.id, exc)
        except Exception:  # noqa: BLE001 - whatever fails, the session keeps its view of the run
            error = "This run could not be stored on the server, so it has no link."
            _log.exception("run %s could not be stored", job.id)
        finally:
            try:
                self.store.forget_pending(job.id)
            except NSTError:
                _log.exception("run %s stays recorded as pending", job.id)
            with self._changed:
                self._saved[job.id] = run_id
                if error is not None:
                    self._errors[job.id] = error
                for kept in (self._saved, self._errors):
                    while len(kept) > self._remembered:
                        kept.popitem(last=False)
                self._active[owner] = [j for j in self._active.get(owner, []) if j is not job]
                self._changed.notify_all()


def _described(result: RunResult, content: str, style: str) -> RunResult:
    """The result with its config's images named (an example, ``upload <image id>``), not given as pixels."""
    return dataclasses.replace(result, config=dataclasses.replace(result.config, content=content, style=style))


def _max_bytes() -> int:
    configured = os.environ.get(MAX_BYTES_ENV, "").strip()
    return int(configured) if configured.isdigit() else DEFAULT_MAX_BYTES


@st.cache_resource(show_spinner=False)
def _saver(root: str) -> RunSaver:
    return RunSaver(RunStore(root), _max_bytes(), keep_images=visitors().live_uploads)


def run_saver() -> RunSaver:
    """The saver of this process's data folder (``$STYLE_LENS_DATA``; one per folder)."""
    return _saver(str(default_root()))


def get_store() -> RunStore:
    return run_saver().store


def store_upload(data: bytes) -> str:
    """Keep an upload in the store (one file per distinct content) for links and runs, held by this session
    while it lives; returns its id. Raises ``StoreUnavailableError`` (``StoreFullError``: the disk refused it)."""
    image_id = get_store().put_image(data)
    hold_upload(image_id)
    try:
        run_saver().prune()
    except NSTError:  # the upload is kept; the next prune tries again
        _log.exception("the store could not be pruned")
    return image_id
