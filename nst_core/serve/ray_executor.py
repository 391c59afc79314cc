"""``RayExecutor``: the ``Executor`` / ``Job`` interface served by Ray, on this machine or on a cluster.

The queue stays in the driver (the app's process): ``RayExecutor`` is a ``ThreadExecutor`` whose slots
run their jobs on Ray workers instead of in the slot thread, so the FIFO order, queue positions, cancel,
snapshots and done callbacks are the same code. Each slot pairs a driver thread with one long-lived Ray
actor (a worker process) that asks for ``gpus_per_run`` GPUs, or for a whole node's CPUs on a CPU-only
cluster (a run already uses every core), and keeps its extractors in an ``ExtractorCache``: the weights
load once per worker, not once per run. The slot thread polls its actor for new steps and the newest
preview, and forwards a cancel; an actor that dies fails its job with ``WorkerLostError`` and is
replaced for the next job.

Ray is imported when an executor is made, never when ``nst_core`` is imported: it is an optional extra.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import queue
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch

from ..errors import (
    ExecutorUnavailableError,
    NSTError,
    QueueFullError,
    RunCancelled,
    WorkerLostError,
)
from ..extractor import resolve_device
from ..optim.config import ImageInput, RunConfig
from ..optim.engine import run
from ..optim.result import RunResult, Snapshot, StepRecord
from .jobs import (
    ExtractorCache,
    Job,
    ThreadExecutor,
    ThreadJob,
    _forget_frames,
    _free_memory,
)

_log = logging.getLogger(__name__)

POLL_INTERVAL_S = 0.1
"""How often a slot asks its worker for new steps (one small remote call; the app redraws every second)."""

REPLY_TIMEOUT_S = 60.0
"""A worker that does not answer a progress call within this time is taken for lost (its job fails)."""

WORKER_START_TIMEOUT_S = 600.0
"""A new worker that is not up within this time (no free resources, a broken node) fails its job."""

LOCAL_OBJECT_STORE_BYTES = 256 * 2**20
"""Object store of a local Ray started by ``RayExecutor``: results and previews are small, so keep it small."""

INSTALL_HINT = "pip install 'style-lens[ray]'"


def import_ray() -> ModuleType:
    """The ``ray`` module, or ``ExecutorUnavailableError`` saying how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise ExecutorUnavailableError(
            f"The Ray executor needs the 'ray' package, which is not installed ({exc}). Install it with "
            f"`{INSTALL_HINT}`, or use the thread executor (STYLE_LENS_EXECUTOR=thread)."
        ) from None
    return ray


class RayExecutor(ThreadExecutor):
    """Runs jobs on Ray workers: ``address`` None joins this process's Ray, or starts a local one (or
    joins ``RAY_ADDRESS`` when set); "auto" or "ray://host:10001" joins a cluster. Each run asks for
    ``gpus_per_run`` GPUs (0.5 packs two runs on a GPU) when the cluster has GPUs. ``submit`` raises
    ``QueueFullError`` when ``max_pending`` jobs already wait. The workers are counted when the executor
    is made: a cluster that grows later needs a new executor to use the new nodes.
    """

    def __init__(
        self, address: str | None = None, *, gpus_per_run: float = 1.0, max_pending: int | None = None
    ) -> None:
        if not gpus_per_run > 0:
            raise ValueError(f"gpus_per_run must be positive, got {gpus_per_run}")
        if max_pending is not None and max_pending < 0:
            raise ValueError(f"max_pending must be 0 or more, got {max_pending}")
        ray = import_ray()
        _connect(ray, address)
        self._ray = ray
        self.gpus_per_run = gpus_per_run
        self.max_pending = max_pending
        self.address = _address(ray, address)
        self.gpus = float(ray.cluster_resources().get("GPU", 0.0))
        if self.gpus:
            workers = int(self.gpus / gpus_per_run + 1e-9)
            if workers < 1:
                raise ExecutorUnavailableError(
                    f"Each run asks for {gpus_per_run:g} GPU but the Ray cluster at {self.address} has "
                    f"{self.gpus:g}; use a smaller gpus_per_run."
                )
            # The CPU work of a GPU run is small: asking for none lets many fractional runs share a node.
            self.cpus_per_run = 0.0
            resources: dict[str, float] = {"num_gpus": gpus_per_run, "num_cpus": self.cpus_per_run}
        else:
            self.cpus_per_run = _smallest_node_cpus(ray)
            workers = max(1, int(ray.cluster_resources().get("CPU", 1.0) // self.cpus_per_run))
            resources = {"num_cpus": self.cpus_per_run}
        # max_concurrency 2: one thread runs the job while the other answers the slot's polls and cancel.
        self._worker_class = ray.remote(_RunWorker).options(max_concurrency=2, max_restarts=0, **resources)
        super().__init__(slots=workers)

    def describe(self) -> str:
        workers = _count(len(self._workers), "worker")
        if self.gpus:
            return f"Ray at {self.address}: {_count(self.gpus, 'GPU')}, {workers} ({self.gpus_per_run:g} GPU per run)"
        return f"Ray at {self.address}: CPU only, {workers} ({_count(self.cpus_per_run, 'CPU')} per run)"

    def submit(self, config: RunConfig, **options: Any) -> Job:
        with self._cond:  # a re-entrant lock: the base class's submit takes it again
            if self.max_pending is not None and len(self._pending) >= self.max_pending:
                waiting = sum(job.estimate.seconds for job in self._pending if job.estimate is not None)
                raise QueueFullError(self.max_pending, waiting / len(self._workers))
            return super().submit(config, **options)

    def shutdown(self, wait: bool = True, cancel: bool = False) -> None:
        super().shutdown(wait=wait, cancel=cancel)
        if wait:  # every slot thread has ended: no job needs a worker any more
            for slot in self._slots:
                slot.release(self._ray)

    def _make_slots(self, slots: int, gpus: int) -> list[Any]:
        self._slots = [_Slot() for _ in range(slots)]
        return list(self._slots)

    def _run(self, job: ThreadJob, slot: _Slot) -> None:  # type: ignore[override]
        ray = self._ray
        try:
            outcome = self._follow(job, slot)
        except ray.exceptions.RayError as error:  # the worker process or its node died, or stopped answering
            slot.release(ray)
            outcome = WorkerLostError(
                f"The Ray worker running this job stopped before the end ({type(error).__name__}).",
                "The run was lost with it; submit it again.",
            )
        except WorkerLostError as error:
            slot.release(ray)
            outcome = error
        if isinstance(outcome, RunResult):
            job._finish(dataclasses.replace(outcome, config=job.config))
            return
        if not isinstance(outcome, NSTError):
            _log.error("run of job %s failed unexpectedly on a Ray worker: %r", job.id, outcome)
        job._fail(outcome)

    def _follow(self, job: ThreadJob, slot: _Slot) -> RunResult | BaseException:
        """Start the job on the slot's worker and copy its progress into ``job`` until it ends."""
        ray = self._ray
        if slot.actor is None:
            job._set_phase("starting a Ray worker")
            slot.actor = self._worker_class.remote()
            # Its own, longer wait: a new worker process imports torch, and waits for free resources.
            if not self._wait(job, slot.actor.ready.remote(), WORKER_START_TIMEOUT_S):
                return RunCancelled("The job was cancelled before it started.")
        actor = slot.actor
        finished = actor.run.remote(job.id, _portable(job.config))
        seen = _Seen()
        while True:
            ready, _ = ray.wait([finished], timeout=POLL_INTERVAL_S)
            if job.cancel_event.is_set():  # sent again at every poll: it may overtake the run's start
                actor.cancel.remote(job.id)
            seen.apply(job, ray.get(actor.progress.remote(job.id, *seen.counts()), timeout=REPLY_TIMEOUT_S))
            if ready:
                return ray.get(finished)

    def _wait(self, job: ThreadJob, pending: Any, timeout: float) -> bool:
        """Wait for ``pending``; False as soon as ``job`` is cancelled, ``WorkerLostError`` after ``timeout``."""
        deadline = time.monotonic() + timeout
        while not self._ray.wait([pending], timeout=POLL_INTERVAL_S)[0]:
            if job.cancel_event.is_set():
                return False
            if time.monotonic() > deadline:
                raise WorkerLostError(
                    f"No Ray worker started for this job within {timeout:.0f} s.",
                    "The cluster may lack free GPUs or CPUs; check `ray status`, then submit it again.",
                )
        self._ray.get(pending)  # raises if the worker died while starting
        return True


class _Slot:
    """One slot's Ray actor, made when its first job starts and again after a worker was lost."""

    def __init__(self) -> None:
        self.actor: Any = None

    def release(self, ray: ModuleType) -> None:
        if self.actor is not None:
            ray.kill(self.actor, no_restart=True)
            self.actor = None


class _Seen:
    """What the driver has copied from the worker so far."""

    def __init__(self) -> None:
        self.records = self.snapshots = 0
        self.preview_at = 0.0

    def counts(self) -> tuple[int, int, float]:
        return self.records, self.snapshots, self.preview_at

    def apply(self, job: ThreadJob, update: _Update) -> None:
        self.records += len(update.records)
        self.snapshots += len(update.snapshots)
        self.preview_at = update.preview_at
        # Ray hands large arrays back as read-only views of its shared memory: keep a copy instead.
        preview = None if update.preview is None else np.array(update.preview)
        job._record(update.records, update.snapshots, preview, time.perf_counter())
        if update.phase:
            job._set_phase(update.phase)


@dataclasses.dataclass(frozen=True)
class _Update:
    phase: str
    records: list[StepRecord]
    snapshots: list[Snapshot]
    preview: np.ndarray | None
    preview_at: float


_worker_cache = ExtractorCache()
"""The extractors of this process: in a Ray worker, shared by every run the worker does."""


class _RunWorker:
    """A Ray actor running one job at a time; ``progress`` and ``cancel`` are answered by its second thread.

    A ``ThreadJob`` records the run here as it does in a ``ThreadExecutor`` (steps, snapshots, throttled
    previews, phases, cancel); the driver copies what is new. Calls carry the driver's job id because the
    two threads may take them in any order: a poll or cancel may arrive before its run starts.
    """

    def __init__(self) -> None:
        self._job: ThreadJob | None = None

    def ready(self) -> None:
        """Answered once the worker process is up."""

    def run(self, job_id: str, config: RunConfig) -> RunResult | BaseException:
        """The result, or the run's error returned (not raised, so Ray passes it on as it is)."""
        job = ThreadJob(config, None, None)  # type: ignore[arg-type]  # never queued here: needs no executor
        job.id = job_id
        job._start()
        self._job = job
        device = torch.device("cpu") if config.device == "cpu" else resolve_device("auto")
        try:
            extractor = _worker_cache.get(config.weights, device, progress=job._download_progress)
            job._set_phase("optimising")
            return run(config, on_progress=job._on_progress, cancel=job.cancel_event, extractor=extractor)
        except Exception as error:  # noqa: BLE001 - every failure belongs to the job, never to the worker
            if not isinstance(error, NSTError):
                _log.error("a run failed unexpectedly", exc_info=error)
            _forget_frames(error)
            outcome: BaseException = error
        _free_memory(device)
        return outcome

    def progress(self, job_id: str, records: int, snapshots: int, preview_at: float) -> _Update:
        """What happened since the caller's counts: new steps, new snapshots, the preview if newer."""
        job = self._job
        if job is None or job.id != job_id:
            return _Update("", [], [], None, preview_at)
        with job._lock:
            newer = job._preview_at != preview_at
            return _Update(
                job._phase,
                job._history[records:],
                job._snapshots[snapshots:],
                job._preview if newer else None,
                job._preview_at,
            )

    def cancel(self, job_id: str) -> None:
        job = self._job
        if job is not None and job.id == job_id:
            job.cancel_event.set()


def _connect(ray: ModuleType, address: str | None) -> None:
    if ray.is_initialized():  # this process already joined a Ray instance (a notebook's, a test's)
        return
    try:
        if address is None and not os.environ.get("RAY_ADDRESS"):
            _start_local(ray)
        else:
            ray.init(address=address)  # None: RAY_ADDRESS
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = address or os.environ.get("RAY_ADDRESS") or "this machine"
        raise ExecutorUnavailableError(f"Cannot start or join Ray at {where}: {exc}") from None


def _start_local(ray: ModuleType) -> None:
    """Start a local Ray instance from a thread that lives as long as this process.

    Ray ties the daemons it starts (GCS, raylet) to the thread that starts them (``PR_SET_PDEATHSIG``):
    started from a short-lived thread, a Streamlit script run for one, they are killed when it ends, and
    a minute later Ray ends this whole process, the web server with it."""
    started: queue.Queue[BaseException | None] = queue.Queue(maxsize=1)

    def host() -> None:
        try:
            ray.init(include_dashboard=False, object_store_memory=LOCAL_OBJECT_STORE_BYTES)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, which raises it
            started.put(exc)
            return
        started.put(None)
        threading.Event().wait()  # never set: the daemons' parent thread must not end

    threading.Thread(target=host, name="ray-local-instance", daemon=True).start()
    error = started.get()
    if error is not None:
        raise error


def _address(ray: ModuleType, address: str | None) -> str:
    try:
        return str(ray.get_runtime_context().gcs_address)
    except Exception:  # noqa: BLE001 - Ray Client connections have no GCS address to show
        return address or os.environ.get("RAY_ADDRESS") or "a local instance"


def _count(number: float, noun: str) -> str:
    return f"{number:g} {noun}{'' if number == 1 else 's'}"


def _smallest_node_cpus(ray: ModuleType) -> float:
    cpus = [node["Resources"].get("CPU", 0.0) for node in ray.nodes() if node.get("Alive")]
    return min((c for c in cpus if c > 0), default=1.0)


def _portable(config: RunConfig) -> RunConfig:
    """``config`` with its image files replaced by their bytes: a worker on another machine cannot read them."""

    def portable(source: ImageInput) -> ImageInput:
        if isinstance(source, (str, os.PathLike)) and Path(source).expanduser().is_file():
            return Path(source).expanduser().read_bytes()
        return source

    style = config.style
    styles = [portable(s) for s in style] if isinstance(style, (list, tuple)) else portable(style)  # type: ignore[arg-type]
    return dataclasses.replace(config, content=portable(config.content), style=styles)  # type: ignore[arg-type]
