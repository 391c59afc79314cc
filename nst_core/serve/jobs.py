"""A submitted run: the ``Job`` interface callers use, ``JobState`` (a job's state at one moment), and
``QueuedJob``, the job of every executor here: a place in a ``FairQueue``, a status, a cancel, the result
and done callbacks. What the run has done so far is its ``ProgressRecorder`` (``job.progress``)."""

from __future__ import annotations

import logging
import threading
import time
import uuid
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

import numpy as np

from ..errors import RunCancelled
from ..optim.config import RunConfig
from ..optim.estimate import RunEstimate
from ..optim.result import RunResult, Snapshot, StepRecord
from .progress import ProgressRecorder

if TYPE_CHECKING:
    from .fair_queue import FairQueue

_log = logging.getLogger(__name__)


class JobStatus(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    def __str__(self) -> str:
        return self.value

    @property
    def finished(self) -> bool:
        return self in (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)


@dataclass(frozen=True)
class JobState:
    """A consistent view of a job at one moment.

    ``history``: every step so far; ``preview``: the latest image, (H, W, 3) uint8, or None before the
    first step; ``elapsed_s``: seconds since the job started running (0 while queued); ``eta_s``:
    estimated seconds left (from the estimate before the first step, from the measured pace after;
    0 when done, None after a failure or a cancel); ``queue_position``: 1 for the next job to start,
    None unless queued; ``queue_eta_s``: estimated seconds until a queued job starts (the time left of
    the running jobs plus the estimates of the queued ones ahead, shared over the executor's slots), None
    unless queued; ``error``: the message of the failure or cancel. ``phase`` says what a running job is
    doing ("loading weights", "optimising"); ``snapshots``: the run's snapshots (``optim.result.Snapshot``)
    recorded so far; ``owner``: whom the job was submitted for.
    """

    status: JobStatus
    step: int
    steps: int
    history: tuple[StepRecord, ...]
    preview: np.ndarray | None
    elapsed_s: float
    eta_s: float | None
    queue_position: int | None
    error: str | None
    job_id: str = ""
    phase: str = ""
    snapshots: tuple[Snapshot, ...] = ()
    queue_eta_s: float | None = None
    owner: str | None = None


class Job(ABC):
    """A submitted run. Every method is thread-safe."""

    def __init__(self, config: RunConfig, owner: str | None = None) -> None:
        self.id = uuid.uuid4().hex
        self.config = config
        self.owner = owner

    @property
    @abstractmethod
    def status(self) -> JobStatus: ...

    @property
    @abstractmethod
    def queue_position(self) -> int | None:
        """1 for the next job to start, 2 for the one after it, ...; None when not queued."""

    @abstractmethod
    def state(self) -> JobState: ...

    def snapshot(self) -> JobState:
        """Deprecated name of ``state()`` (it is not a ``Snapshot`` of the run)."""
        warnings.warn("Job.snapshot() is now Job.state()", DeprecationWarning, stacklevel=2)
        return self.state()

    @abstractmethod
    def cancel(self) -> bool:
        """Stop the job: a queued job never starts, a running one stops within one step and frees its
        memory. False when it had already finished."""

    @abstractmethod
    def result(self, timeout: float | None = None) -> RunResult:
        """Wait for the end; return the result, or raise the run's typed error (``RunCancelled`` after a
        cancel). ``TimeoutError`` when ``timeout`` seconds pass first."""

    @abstractmethod
    def done(self) -> bool: ...

    @abstractmethod
    def add_done_callback(self, callback: Callable[[Job], None]) -> None:
        """Call ``callback(job)`` once the job has finished (at once if it already has)."""


class QueuedJob(Job):
    """A job waiting in ``queue`` until a worker ``start``s it and ends it with ``finish`` or ``fail``.

    ``progress`` records what the run does; ``cancel_event`` is set by ``cancel()`` for the run to see;
    ``estimate`` (None when none could be made) is the time the queue counts for it before it starts (and
    its peak, the memory a batch counts for it); ``batch_key`` (None: it runs alone) is what a queued job
    must share with it to be evaluated in one batch (``optim.batched.batch_key``).
    """

    def __init__(
        self,
        config: RunConfig,
        queue: FairQueue,
        estimate: RunEstimate | None,
        owner: str | None = None,
        batch_key: Hashable | None = None,
    ) -> None:
        super().__init__(config, owner)
        self.estimate = estimate
        self.batch_key = batch_key
        self.progress = ProgressRecorder(config.steps, estimate)
        self.cancel_event = threading.Event()
        self._queue = queue
        # The queue's lock is taken before this one (``state``), never while holding it.
        self._lock = threading.Lock()
        self._finished_event = threading.Event()
        self._status = JobStatus.QUEUED
        self._started: float | None = None
        self._ended: float | None = None
        self._result: RunResult | None = None
        self._error: BaseException | None = None
        self._callbacks: list[Callable[[Job], None]] = []

    @property
    def status(self) -> JobStatus:
        with self._lock:
            return self._status

    @property
    def queue_position(self) -> int | None:
        return self._queue.place(self)[0]

    def done(self) -> bool:
        return self._finished_event.is_set()

    def state(self) -> JobState:
        position, wait = self._queue.place(self)
        with self._lock:
            progress = self.progress.read()
            elapsed = 0.0 if self._started is None else (self._ended or time.perf_counter()) - self._started
            queued = self._status is JobStatus.QUEUED
            eta = 0.0 if self._status is JobStatus.DONE else None if self._status.finished else progress.eta_s
            return JobState(
                status=self._status,
                step=progress.step,
                steps=self.config.steps,
                history=progress.history,
                preview=progress.preview,
                elapsed_s=elapsed,
                eta_s=eta,
                queue_position=position if queued else None,
                error=None if self._error is None else str(self._error),
                job_id=self.id,
                phase=progress.phase,
                snapshots=progress.snapshots,
                queue_eta_s=wait if queued else None,
                owner=self.owner,
            )

    def cancel(self) -> bool:
        with self._lock:
            if self._status.finished:
                return False
            self.cancel_event.set()
            queued = self._status is JobStatus.QUEUED
        # A worker that took the job meanwhile sees the event when it starts it (or before the next step).
        if queued and self._queue.remove(self):
            self._cancelled_before_start()
        return True

    def result(self, timeout: float | None = None) -> RunResult:
        if not self._finished_event.wait(timeout):
            raise TimeoutError(f"job {self.id} is still {self.status} after {timeout} s")
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result

    def add_done_callback(self, callback: Callable[[Job], None]) -> None:
        with self._lock:
            if not self._status.finished:
                self._callbacks.append(callback)
                return
        _call(callback, self)

    # ------------------------------------------------------------- called by the worker that took the job

    def start(self) -> bool:
        """Mark the job running; False when it was cancelled in the meantime (then it is ended)."""
        if self.cancel_event.is_set():
            self._cancelled_before_start()
            return False
        with self._lock:
            if self._status is not JobStatus.QUEUED:
                return False
            self._status = JobStatus.RUNNING
            self._started = time.perf_counter()
            self.progress.set_phase("starting")
            return True

    def finish(self, result: RunResult) -> None:
        with self._lock:
            self._result = result
            self._end(JobStatus.DONE)
        self._notify()

    def fail(self, error: BaseException) -> None:
        """End the job with ``error``: cancelled if it is a ``RunCancelled`` or a cancel was asked, else failed."""
        with self._lock:
            cancelled = isinstance(error, RunCancelled) or self.cancel_event.is_set()
            self._end(JobStatus.CANCELLED if cancelled else JobStatus.FAILED, error=error)
        self._notify()

    def _cancelled_before_start(self) -> None:
        with self._lock:
            self._end(JobStatus.CANCELLED, error=RunCancelled("The job was cancelled before it started."))
        self._notify()

    def _end(self, status: JobStatus, error: BaseException | None = None) -> None:
        self._status = status
        self.progress.set_phase(str(status))
        self._error = error
        self._ended = time.perf_counter()
        if self._started is None:
            self._started = self._ended
        self._finished_event.set()

    def _notify(self) -> None:
        # Before the callbacks: one that launches the owner's next run finds this one no longer counted.
        self._queue.release(self)
        with self._lock:
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            _call(callback, self)


def _call(callback: Callable[[Job], None], job: Job) -> None:
    try:
        callback(job)
    except Exception:  # noqa: BLE001 - a caller's callback must not kill the worker
        _log.exception("a done callback of job %s failed", job.id)
