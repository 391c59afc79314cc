"""Runs that outlive a browser tab: the process-wide ``RunStore``, the saving of every finished run (and the
record of queued ones, offered for relaunch after a restart), the visitor's owner token, the uploads live
sessions hold, share links and the runs a page shows (a live job of this session or a stored run).

Who owns a run: a random token (``new_id``, 128 bits) kept in the ``style_lens_owner`` cookie. Streamlit
reads cookies (``st.context.cookies``) but cannot set one, so the frame sets it once with a line of
JavaScript. A cookie survives reloads and new tabs of the same browser and is never part of a URL, so a
shared link carries only ``?run=<id>`` and cannot make its reader the owner. The trade-off: a visitor who
clears cookies or switches browser loses the list of "my runs" (every run still opens by its link).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Final

import streamlit as st

from nst_core import JobStatus, RunConfig, RunStore, StoredRun, default_root
from nst_core.errors import NSTError, RunNotFoundError, StoredRunError, StoreUnavailableError
from nst_core.serve.store import is_valid_id, new_id

from .resources import get_executor
from .runs import CURRENT_KEY, run_number
from .state import PickedImage, register_run, runs

if TYPE_CHECKING:
    from collections.abc import Callable

    from nst_core import Executor, InterruptedRun, Job, RunEntry, RunResult

_log = logging.getLogger(__name__)

RUN_PARAM: Final = "run"
"""Query parameter naming a stored run (both the Run and the Style vs generated page read it)."""
UPLOAD_PREFIX: Final = "upload:"
"""A link's ``content=`` / ``style=`` value for a stored upload: ``upload:<image id>``."""
OWNER_COOKIE: Final = "style_lens_owner"
OWNER_KEY: Final = "_owner"
GALLERY_ENV: Final = "STYLE_LENS_GALLERY"
MAX_BYTES_ENV: Final = "STYLE_LENS_DATA_MAX_BYTES"
DEFAULT_MAX_BYTES: Final = 4 * 2**30
"""The store is pruned, oldest runs first, to stay under this (``$STYLE_LENS_DATA_MAX_BYTES`` overrides it)."""
MAX_RUNS: Final = 5000
SAVE_WAIT_S: Final = 10.0
"""How long a page waits for a just-finished run to be written before showing it without a link."""
SAVED_IDS_KEPT: Final = 10_000
"""Finished jobs whose stored id ``RunSaver`` remembers; a session showing an older job shows it without a link."""
NOT_FOUND: Final = "This link names no run stored on this server: it may be mistyped, or the run was deleted."


# ---------------------------------------------------------------- the store and the saver


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
        """The job among ``jobs`` that was stored as ``run_id``."""
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
    """The process-wide store of finished runs and uploads."""
    return run_saver().store


def gallery_enabled() -> bool:
    return os.environ.get(GALLERY_ENV, "").strip().lower() in ("1", "true", "yes", "on")


# ---------------------------------------------------------------- the visitor


def owner_token() -> str:
    """This visitor's token: the cookie's, else a new one (which ``remember_owner`` writes into the cookie)."""
    token = st.session_state.get(OWNER_KEY)
    if token is None:
        cookie = st.context.cookies.get(OWNER_COOKIE)
        token = cookie if is_valid_id(cookie) else new_id()
        st.session_state[OWNER_KEY] = token
    return token


def remember_owner() -> None:
    """Write the visitor's token into its cookie, in every run of a session whose browser did not send it.
    The frame draws it before anything a visitor can click, so the browser has set the cookie before any
    Launch reaches the server: a run is never stored under a token a reload would forget. (Once per session
    was not enough: a run interrupted by the visitor's first click could drop the script unsent.)"""
    token = owner_token()
    if st.context.cookies.get(OWNER_COOKIE) == token:
        return
    st.html(
        f"<script>document.cookie = '{OWNER_COOKIE}={token}; path=/; max-age=31536000; SameSite=Lax';</script>",
        unsafe_allow_javascript=True,
    )


# ---------------------------------------------------------------- open tabs and the queue


class Visitors:
    """How many sessions (tabs) each visitor has open. The owner token is one cookie shared by all the tabs
    of a browser, so a visitor's queued runs are dropped only when their LAST tab ends: closing one of two
    tabs, or reloading one (the new session arrives before the old one is released), keeps them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: Counter[str] = Counter()
        self._uploads: list[set[str]] = []  # the uploads each open session holds

    def arrive(self, owner: str, uploads: set[str] | None = None) -> None:
        """A session of ``owner`` opened; ``uploads``: the set of upload ids it will hold (kept from pruning)."""
        with self._lock:
            self._open[owner] += 1
            if uploads is not None:
                self._uploads.append(uploads)

    def hold(self, uploads: set[str], image_id: str) -> None:
        """Add an upload to a session's set (under the lock: ``live_uploads`` may be reading it from a worker)."""
        with self._lock:
            uploads.add(image_id)

    def live_uploads(self) -> set[str]:
        """The uploads the open sessions hold."""
        with self._lock:
            return set().union(*self._uploads)

    def leave(self, owner: str, executor: Executor, uploads: set[str] | None = None) -> int:
        """One session of ``owner`` ended; when it was their last, cancel their queued runs (a running one
        finishes and is stored: its link works). Returns how many runs were dropped."""
        with self._lock:
            self._uploads = [held for held in self._uploads if held is not uploads]
            self._open[owner] -= 1
            if self._open[owner] > 0:
                return 0
            del self._open[owner]
        return executor.cancel_owner(owner, queued_only=True)

    def count(self, owner: str) -> int:
        with self._lock:
            return self._open[owner]


@st.cache_resource(show_spinner=False)
def visitors() -> Visitors:
    """The process's count of open sessions per visitor."""
    return Visitors()


@dataclass(frozen=True)
class _Visit:
    owner: str
    executor: Executor
    visitors: Visitors
    uploads: set[str]  # the stored uploads this session uses: pruning keeps them while it lives


def _end_visit(visit: _Visit) -> None:
    dropped = visit.visitors.leave(visit.owner, visit.executor, visit.uploads)
    if dropped:
        _log.info("a visitor left: %d queued run(s) dropped", dropped)


@st.cache_resource(scope="session", on_release=_end_visit, show_spinner=False)
def _visit(owner: str) -> _Visit:
    counter = visitors()
    uploads: set[str] = set()
    counter.arrive(owner, uploads)
    return _Visit(owner, get_executor(), counter, uploads)


def keep_visit() -> None:
    """Count this session as one of its visitor's open tabs until Streamlit releases it (the tab closed or
    lost its connection): a closed tab never holds the queue longer than its one running run."""
    _visit(owner_token())


def store_upload(data: bytes) -> str:
    """Keep an upload in the store (one file per distinct content) for links and runs, held by this session
    while it lives; returns its id. Raises ``StoreUnavailableError`` (``StoreFullError``: the disk refused it)."""
    image_id = get_store().put_image(data)
    visit = _visit(owner_token())
    visit.visitors.hold(visit.uploads, image_id)
    try:
        run_saver().prune()
    except NSTError:  # the upload is kept; the next prune tries again
        _log.exception("the store could not be pruned")
    return image_id


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


# ---------------------------------------------------------------- runs a server restart interrupted

INTERRUPTED_ERROR_KEY: Final = "_relaunch_error"


def relaunch(run_id: str) -> Job | None:
    """Queue an interrupted run of this visitor again (None when it is no longer on offer: another tab or
    process took it). Raises the queue's ``AdmissionError``, or ``NSTError`` when its images are gone;
    it then stays on offer."""
    store = get_store()
    interrupted = store.claim_interrupted(run_id, owner=owner_token())
    if interrupted is None:
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
    error = st.session_state.pop(INTERRUPTED_ERROR_KEY, None)
    if error:
        st.warning(error)
    for run in interrupted:
        text, button = st.columns([4, 1], vertical_alignment="center")
        when = time.strftime("%d %b %H:%M", time.localtime(run.created))
        text.warning(f"**{run.title or 'A run'}** (queued {when}) was interrupted by a server restart — relaunch it.")
        button.button(
            "Relaunch", key=f"relaunch_{run.id}", on_click=_relaunch, args=(run.id,), icon=":material/replay:"
        )


def image_reference(image: PickedImage) -> str:
    """What a stored config names: the example's name, or ``upload <image id>`` (never a file name)."""
    return f"upload {image.source}" if image.kind == "upload" else str(image.source)


def image_title(image: PickedImage) -> str:
    return "an upload" if image.kind == "upload" else image.label


def adopt_active_runs(session_runs: dict[str, Job]) -> None:
    """Put this visitor's queued and running jobs back into a reloaded session."""
    for job in run_saver().active(owner_token()):
        session_runs.setdefault(job.id, job)


# ---------------------------------------------------------------- what a page shows


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


def stored_run(run_id: str) -> ShownRun:
    """A stored run; ``RunNotFoundError`` / ``StoredRunError`` with the store's sentence if it cannot be opened."""
    run = get_store().get(run_id).load()
    owned = run.owner is not None and run.owner == owner_token()
    return ShownRun(run, run.title or "Shared run", run.id, run.id, run.id, owned)


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
        return stored_run(run_id)
    except StoredRunError:
        shown = run_id if is_valid_id(run_id) else "this link names"
        st.error(f"The run {shown} is damaged on this server and cannot be shown; the rest of the page works.")
    except RunNotFoundError:
        st.error(NOT_FOUND)
    except StoreUnavailableError as exc:
        st.error(str(exc))
    return None


def share_link(run_id: str, url_path: str) -> str:
    """The absolute link to ``run_id`` on the current page: built from the browser's own address
    (``st.context.url``), so it is right behind a proxy too; relative when that is unknown."""
    base = st.context.url or f"/{url_path}"
    return f"{base.rstrip('/')}?{RUN_PARAM}={run_id}"


def copy_link(run_id: str | None, url_path: str, unstored: str | None = None) -> None:
    """The run's share link, in a code block with a copy button (read-only for whoever opens it);
    ``unstored``: why a run has none (the store's sentence)."""
    if run_id is None:
        if unstored:
            st.warning(f"{unstored} This run has no link.")
        else:
            st.caption("This run could not be stored, so it has no link.")
        return
    st.caption("**Copy link**: anyone who opens it sees this run, read-only.")
    st.code(share_link(run_id, url_path), language=None)


def my_runs(limit: int = 20) -> list[RunEntry]:
    """This visitor's stored runs, newest first."""
    return get_store().list(owner=owner_token(), limit=limit)


def gallery_runs(limit: int = 12) -> list[RunEntry]:
    """Everyone's latest stored runs (only shown when the gallery is enabled)."""
    return get_store().list(limit=limit)
