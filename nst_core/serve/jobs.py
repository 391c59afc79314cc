"""Background runs: the ``Executor`` / ``Job`` interface, and ``ThreadExecutor``, its in-process implementation.

Callers (the app, a notebook) only use ``Executor.submit(config, owner=...) -> Job``,
``Executor.cancel_owner`` and the ``Job`` methods, so another engine (a cluster scheduler such as Ray) can
implement both interfaces without changing them. The fair-queue rules live in ``admission.AdmissionPolicy``,
which every executor applies at submit.

``ThreadExecutor`` keeps one FIFO queue and one worker thread per slot: one per GPU, or one on a CPU
machine (a run already uses every core). A worker loads the weights it needs through an
``ExtractorCache`` shared by all its runs, so submitting never blocks on a download.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..errors import NSTError, RunCancelled
from ..extractor import Pooling, VGGExtractor, load_extractor
from ..images import to_pil
from ..optim.config import RunConfig
from ..optim.engine import run
from ..optim.estimate import RunEstimate, estimate_run
from ..optim.result import RunProgress, RunResult, Snapshot, StepRecord
from .admission import AdmissionPolicy

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self needs Python 3.11

_log = logging.getLogger(__name__)

PREVIEW_INTERVAL_S = 0.5
"""Between snapshots, the live preview is refreshed at most this often (each refresh copies the image)."""


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
class JobSnapshot:
    """A consistent view of a job at one moment.

    ``history``: every step so far; ``preview``: the latest image, (H, W, 3) uint8, or None before the
    first step; ``elapsed_s``: seconds since the job started running (0 while queued); ``eta_s``:
    estimated seconds left (from the estimate before the first step, from the measured pace after;
    0 when done, None after a failure or a cancel); ``queue_position``: 1 for the next job to start,
    None unless queued; ``queue_eta_s``: estimated seconds until a queued job starts (the time left of
    the running jobs plus the estimates of the queued ones ahead, shared over the executor's slots), None
    unless queued; ``error``: the message of the failure or cancel. ``phase`` says what a running job is
    doing ("loading weights", "optimising"); ``snapshots``: the snapshots recorded so far; ``owner``: whom
    the job was submitted for.
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
    def snapshot(self) -> JobSnapshot: ...

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


class Executor(ABC):
    """Runs submitted configurations in the background."""

    @abstractmethod
    def submit(self, config: RunConfig, *, owner: str | None = None) -> Job:
        """Validate ``config`` (``ConfigError`` at once if invalid) and queue it for ``owner`` (a visitor's
        id; None: no per-owner limit). Raises ``TooManyRunsError`` when ``owner`` already has the
        policy's ``max_active`` runs queued or running, ``QueueFullError`` when ``max_queue`` runs wait."""

    @abstractmethod
    def cancel_owner(self, owner: str, queued_only: bool = True) -> int:
        """Cancel ``owner``'s queued jobs (and running ones unless ``queued_only``), for a visitor who left;
        return how many were cancelled."""

    @abstractmethod
    def shutdown(self, wait: bool = True, cancel: bool = False) -> None:
        """Accept no more jobs; queued jobs still run unless ``cancel``, which also stops running ones."""

    def describe(self) -> str:
        """One line for a status display: where the runs execute and how many run at once."""
        return type(self).__name__

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.shutdown(wait=True, cancel=exc is not None)


class ExtractorCache:
    """Extractors by (weights, device, pooling), loaded once each; thread-safe. Loading one key does not
    block using or loading another."""

    def __init__(self, loader: Callable[..., VGGExtractor] = load_extractor) -> None:
        self._loader = loader
        self._lock = threading.Lock()
        self._extractors: dict[tuple[str, str, str], VGGExtractor] = {}
        self._loading: dict[tuple[str, str, str], threading.Lock] = {}

    def get(
        self,
        weights: str | os.PathLike[str],
        device: str | torch.device,
        pooling: Pooling = "max",
        progress: Callable[[int, int | None], None] | None = None,
    ) -> VGGExtractor:
        name = weights if weights in ("imagenet", "random") else str(Path(weights).expanduser().resolve())
        key = (str(name), str(torch.device(device)), pooling)
        with self._lock:
            if key in self._extractors:
                return self._extractors[key]
            key_lock = self._loading.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._extractors:
                    return self._extractors[key]
            extractor = self._loader(weights, device=device, pooling=pooling, progress=progress)
            with self._lock:
                self._extractors[key] = extractor
            return extractor


class ThreadJob(Job):
    """A job of ``ThreadExecutor``; its worker thread drives the private methods."""

    def __init__(
        self, config: RunConfig, executor: ThreadExecutor, estimate: RunEstimate | None, owner: str | None = None
    ) -> None:
        super().__init__(config, owner)
        self.estimate = estimate
        self._executor = executor
        self._lock = threading.Lock()
        self._finished_event = threading.Event()
        self.cancel_event = threading.Event()
        self._status = JobStatus.QUEUED
        self._phase = "queued"
        self._history: list[StepRecord] = []
        self._snapshots: list[Snapshot] = []
        self._preview: np.ndarray | None = None
        self._preview_at = 0.0
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
        return self._executor._queue_position(self)

    def done(self) -> bool:
        return self._finished_event.is_set()

    def snapshot(self) -> JobSnapshot:
        # The queue's figures first, without this job's lock: the executor takes its lock before a job's.
        position, wait = self._executor._queue_place(self)
        with self._lock:
            now = time.perf_counter()
            started, ended = self._started, self._ended
            elapsed = 0.0 if started is None else (ended or now) - started
            step = self._history[-1].step if self._history else 0
            return JobSnapshot(
                status=self._status,
                step=step,
                steps=self.config.steps,
                history=tuple(self._history),
                preview=self._preview,
                elapsed_s=elapsed,
                eta_s=self._eta(step),
                queue_position=position if self._status is JobStatus.QUEUED else None,
                error=None if self._error is None else str(self._error),
                job_id=self.id,
                phase=self._phase,
                snapshots=tuple(self._snapshots),
                queue_eta_s=wait if self._status is JobStatus.QUEUED else None,
                owner=self.owner,
            )

    def _remaining_s(self) -> float:
        """Estimated seconds until this job ends (0 when finished or unknown): for the queue's estimates."""
        with self._lock:
            step = self._history[-1].step if self._history else 0
            return self._eta(step) or 0.0

    def _eta(self, step: int) -> float | None:
        if self._status is JobStatus.DONE:
            return 0.0
        if self._status.finished:
            return None
        if step >= 2:  # the pace of the steps, setup excluded
            first, last = self._history[0].elapsed_s, self._history[-1].elapsed_s
            return (last - first) / (step - 1) * (self.config.steps - step)
        if self.estimate is None:
            return None
        if step == 1:
            return self.estimate.seconds_per_step * (self.config.steps - 1)
        return self.estimate.seconds

    def cancel(self) -> bool:
        with self._lock:
            if self._status.finished:
                return False
            self.cancel_event.set()
            queued = self._status is JobStatus.QUEUED
        # A worker that took the job meanwhile sees the event when it starts it (or before the next step).
        if queued and self._executor._dequeue(self):
            self._cancelled_before_start()
        return True

    def _cancelled_before_start(self) -> None:
        with self._lock:
            self._end(JobStatus.CANCELLED, error=RunCancelled("The job was cancelled before it started."))
        self._notify()

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

    # ------------------------------------------------------------- driven by the worker thread

    def _start(self) -> bool:
        """Mark the job running; False when it was cancelled in the meantime."""
        if self.cancel_event.is_set():
            self._cancelled_before_start()
            return False
        with self._lock:
            if self._status is not JobStatus.QUEUED:
                return False
            self._status = JobStatus.RUNNING
            self._phase = "loading weights"
            self._started = time.perf_counter()
            return True

    def _set_phase(self, phase: str) -> None:
        with self._lock:
            self._phase = phase

    def _download_progress(self, done_bytes: int, total_bytes: int | None) -> None:
        if self.cancel_event.is_set():
            raise RunCancelled("The job was cancelled while the weights were downloading.")
        with self._lock:
            total = f" of {total_bytes / 2**20:.0f} MB" if total_bytes else ""
            self._phase = f"downloading weights: {done_bytes / 2**20:.0f} MB{total}"

    def _on_progress(self, progress: RunProgress) -> None:
        now = time.perf_counter()
        preview = None
        if progress.snapshot is not None:
            preview = np.asarray(to_pil(progress.snapshot.image))
        elif now - self._preview_at >= PREVIEW_INTERVAL_S or progress.step == progress.steps:
            preview = np.asarray(to_pil(progress.image))
        self._record([progress.record], [] if progress.snapshot is None else [progress.snapshot], preview, now)

    def _record(
        self, records: list[StepRecord], snapshots: list[Snapshot], preview: np.ndarray | None, now: float
    ) -> None:
        """Append steps made elsewhere (this thread's run, or a remote worker's) and the newest preview."""
        with self._lock:
            self._history.extend(records)
            self._snapshots.extend(snapshots)
            if preview is not None:
                self._preview, self._preview_at = preview, now

    def _finish(self, result: RunResult) -> None:
        with self._lock:
            self._result = result
            self._end(JobStatus.DONE)
        self._notify()

    def _fail(self, error: BaseException) -> None:
        with self._lock:
            cancelled = isinstance(error, RunCancelled) or self.cancel_event.is_set()
            self._end(JobStatus.CANCELLED if cancelled else JobStatus.FAILED, error=error)
        self._notify()

    def _end(self, status: JobStatus, error: BaseException | None = None) -> None:
        self._status = status
        self._phase = str(status)
        self._error = error
        self._ended = time.perf_counter()
        if self._started is None:
            self._started = self._ended
        self._finished_event.set()

    def _notify(self) -> None:
        with self._lock:
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            _call(callback, self)


def _call(callback: Callable[[Job], None], job: Job) -> None:
    try:
        callback(job)
    except Exception:  # noqa: BLE001 - a caller's callback must not kill the worker
        _log.exception("a done callback of job %s failed", job.id)


def _forget_frames(error: BaseException) -> None:
    """Drop the tracebacks of ``error`` and its causes: their frames hold the failed run's tensors."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        current.__traceback__ = None
        current = current.__cause__ or current.__context__


class ThreadExecutor(Executor):
    """A FIFO queue served by daemon worker threads: one per GPU (``slots`` None), or one on CPU.

    ``model_cache`` shares loaded extractors with other parts of an application (a new one by default).
    ``policy``: the fair-queue limits (``AdmissionPolicy.from_env()`` by default). ``step_delay_s``: a
    pause after every step, for tests that must watch a run in progress whatever the machine's speed
    (``from_env`` reads it from ``STYLE_LENS_TEST_STEP_DELAY_S``); a cancel still stops the run at once.
    """

    def __init__(
        self,
        slots: int | None = None,
        model_cache: ExtractorCache | None = None,
        *,
        policy: AdmissionPolicy | None = None,
        step_delay_s: float = 0.0,
    ) -> None:
        gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
        slots = slots if slots is not None else max(1, gpus)
        if slots < 1:
            raise ValueError(f"slots must be at least 1, got {slots}")
        if step_delay_s < 0:
            raise ValueError(f"step_delay_s must be 0 or more, got {step_delay_s}")
        self.model_cache = model_cache or ExtractorCache()
        self.policy = policy or AdmissionPolicy.from_env()
        self.step_delay_s = step_delay_s
        self._cond = threading.Condition()
        self._pending: deque[ThreadJob] = deque()
        self._running: set[ThreadJob] = set()
        self._closed = False
        self._workers = [
            threading.Thread(target=self._work, args=(slot,), name=f"nst-run-worker-{i}", daemon=True)
            for i, slot in enumerate(self._make_slots(slots, gpus))
        ]
        for worker in self._workers:
            worker.start()

    def _make_slots(self, slots: int, gpus: int) -> list[Any]:
        """What each worker thread hands to ``_run``: its device here; a subclass that runs jobs elsewhere
        (``RayExecutor``) gives its own handles and overrides ``_run``."""
        return [torch.device("cuda", i % gpus) if gpus else torch.device("cpu") for i in range(slots)]

    def describe(self) -> str:
        gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
        slots = len(self._workers)
        return (
            f"threads on this machine: {slots} slot{'s' if slots != 1 else ''}, {f'{gpus} GPU(s)' if gpus else 'CPU'}"
        )

    @classmethod
    def from_env(cls, model_cache: ExtractorCache | None = None) -> ThreadExecutor:
        """The app's executor: ``AdmissionPolicy.from_env()`` and ``STYLE_LENS_TEST_STEP_DELAY_S`` (seconds,
        default 0; only the browser tests set it)."""
        text = os.environ.get("STYLE_LENS_TEST_STEP_DELAY_S", "").strip()
        return cls(model_cache=model_cache, step_delay_s=float(text) if text else 0.0)

    def submit(self, config: RunConfig, *, owner: str | None = None) -> Job:
        config.validate()
        try:
            estimate = estimate_run(config)
        except NSTError:
            estimate = None
        job = ThreadJob(config, self, estimate, owner)
        with self._cond:
            if self._closed:
                raise RuntimeError("this executor is shut down; it accepts no more jobs")
            active = [*self._running, *self._pending]
            owner_active = 0 if owner is None else sum(other.owner == owner for other in active)
            self.policy.check(owner, owner_active, len(self._pending), lambda: self._backlog_s(list(self._pending)))
            self._pending.append(job)
            self._cond.notify()
        return job

    def cancel_owner(self, owner: str, queued_only: bool = True) -> int:
        with self._cond:
            jobs = [job for job in self._pending if job.owner == owner]
            if not queued_only:
                jobs += [job for job in self._running if job.owner == owner]
        return sum(job.cancel() for job in jobs)

    def shutdown(self, wait: bool = True, cancel: bool = False) -> None:
        with self._cond:
            self._closed = True
            to_cancel = [*self._pending, *self._running] if cancel else []
            self._cond.notify_all()
        for job in to_cancel:
            job.cancel()
        if wait:
            for worker in self._workers:
                if worker is not threading.current_thread():
                    worker.join()

    def _queue_place(self, job: ThreadJob) -> tuple[int | None, float | None]:
        """(position, estimated seconds until it starts) of a queued job; (None, None) otherwise."""
        with self._cond:
            try:
                index = self._pending.index(job)
            except ValueError:
                return None, None
            return index + 1, self._backlog_s(list(self._pending)[:index])

    def _backlog_s(self, ahead: list[ThreadJob]) -> float:
        """Seconds of work before the jobs ``ahead`` are all done, shared over the slots (under ``_cond``)."""
        work = sum(job._remaining_s() for job in self._running)
        work += sum(job.estimate.seconds if job.estimate else 0.0 for job in ahead)
        return work / len(self._workers)

    def _queue_position(self, job: ThreadJob) -> int | None:
        return self._queue_place(job)[0]

    def _dequeue(self, job: ThreadJob) -> bool:
        """Take ``job`` out of the queue; False when a worker had already taken it."""
        with self._cond:
            if job in self._pending:
                self._pending.remove(job)
                return True
            return False

    def _take(self) -> ThreadJob | None:
        with self._cond:
            while not self._pending and not self._closed:
                self._cond.wait()
            if not self._pending:
                return None
            job = self._pending.popleft()
            self._running.add(job)
            return job

    def _work(self, slot: Any) -> None:
        while (job := self._take()) is not None:
            try:
                if job._start():
                    self._run(job, slot)
            finally:
                with self._cond:
                    self._running.discard(job)

    def _run(self, job: ThreadJob, slot_device: torch.device) -> None:
        config = job.config
        device = torch.device("cpu") if config.device == "cpu" else slot_device
        try:
            extractor = self.model_cache.get(config.weights, device, progress=job._download_progress)
            job._set_phase("optimising")
            result = run(config, on_progress=self._progress_of(job), cancel=job.cancel_event, extractor=extractor)
        except Exception as error:  # noqa: BLE001 - every failure belongs to the job, never to the worker
            if not isinstance(error, NSTError):
                _log.error("run of job %s failed unexpectedly", job.id, exc_info=error)
            _forget_frames(error)
            job._fail(error)
        else:
            job._finish(result)
            return
        _free_memory(device)

    def _progress_of(self, job: ThreadJob) -> Callable[[RunProgress], None]:
        if not self.step_delay_s:
            return job._on_progress

        def throttled(progress: RunProgress) -> None:
            job._on_progress(progress)
            job.cancel_event.wait(self.step_delay_s)

        return throttled


def _free_memory(device: torch.device) -> None:
    """After a failed or cancelled run, whose tensors are unreachable now: hand their memory back."""
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
