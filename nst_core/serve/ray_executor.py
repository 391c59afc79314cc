"""``RayExecutor``: the ``Executor`` interface served by Ray, on this machine or on a cluster.

The queue stays in the driver (the app's process): a ``QueueExecutor`` like ``ThreadExecutor``, so the
FIFO order, the admission rules, queue positions, cancel, job states and done callbacks are the same code.
Each slot pairs a driver thread with one long-lived Ray actor (a ``RunWorker`` process) that asks for
``gpus_per_run`` GPUs, or for a whole node's CPUs on a CPU-only cluster (a run already uses every core),
and keeps its extractors in an ``ExtractorCache``: the weights load once per worker, not once per run.
The slot thread polls its actor for new steps and the newest preview, and forwards a cancel; an actor
that dies fails its job with ``WorkerLostError`` and is replaced for the next job.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import warnings
from types import ModuleType
from typing import Any

from ..errors import ExecutorUnavailableError, NSTError, RunCancelled, WorkerLostError
from ..optim.result import RunResult
from .admission import AdmissionPolicy
from .executor import QueueExecutor
from .jobs import QueuedJob
from .progress import ProgressCursor
from .ray_cluster import cluster_address, connect, import_ray, smallest_node_cpus
from .ray_worker import RunWorker, portable

_log = logging.getLogger(__name__)

POLL_INTERVAL_S = 0.1
"""How often a slot asks its worker for new steps (one small remote call; the app redraws every second)."""

REPLY_TIMEOUT_S = 60.0
"""A worker that does not answer a progress call within this time is taken for lost (its job fails)."""

WORKER_START_TIMEOUT_S = 600.0
"""A new worker that is not up within this time (no free resources, a broken node) fails its job."""


class RayExecutor(QueueExecutor["_Slot"]):
    """Runs jobs on Ray workers: ``address`` None joins this process's Ray, or starts a local one (or
    joins ``RAY_ADDRESS`` when set); "auto" or "ray://host:10001" joins a cluster. Each run asks for
    ``gpus_per_run`` GPUs (0.5 packs two runs on a GPU) when the cluster has GPUs. ``policy``: the
    fair-queue limits (``AdmissionPolicy.from_env()`` by default), as in ``ThreadExecutor``. The workers
    are counted when the executor is made: a cluster that grows later needs a new executor to use the
    new nodes.

    ``max_pending``, the former second cap on waiting runs, is deprecated: it lowers ``policy.max_queue``
    to it when smaller.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        gpus_per_run: float = 1.0,
        policy: AdmissionPolicy | None = None,
        max_pending: int | None = None,
    ) -> None:
        if not gpus_per_run > 0:
            raise ValueError(f"gpus_per_run must be positive, got {gpus_per_run}")
        policy = policy or AdmissionPolicy.from_env()
        if max_pending is not None:
            message = "RayExecutor(max_pending=N) is now RayExecutor(policy=AdmissionPolicy(max_queue=N))"
            warnings.warn(message, DeprecationWarning, stacklevel=2)
            # As before it was merged into the policy: the smaller of the two caps holds.
            policy = dataclasses.replace(policy, max_queue=min(policy.max_queue, max_pending))
        ray = import_ray()
        connect(ray, address)
        self._ray = ray
        self.gpus_per_run = gpus_per_run
        self.address = cluster_address(ray, address)
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
            self.cpus_per_run = smallest_node_cpus(ray)
            workers = max(1, int(ray.cluster_resources().get("CPU", 1.0) // self.cpus_per_run))
            resources = {"num_cpus": self.cpus_per_run}
        # max_concurrency 2: one thread runs the job while the other answers the slot's polls and cancel.
        self._worker_class = ray.remote(RunWorker).options(max_concurrency=2, max_restarts=0, **resources)
        self._slots = [_Slot() for _ in range(workers)]
        super().__init__(policy, self._slots, name="nst-ray-slot")

    def describe(self) -> str:
        workers = _count(self.slots, "worker")
        if self.gpus:
            return f"Ray at {self.address}: {_count(self.gpus, 'GPU')}, {workers} ({self.gpus_per_run:g} GPU per run)"
        return f"Ray at {self.address}: CPU only, {workers} ({_count(self.cpus_per_run, 'CPU')} per run)"

    def shutdown(self, wait: bool = True, cancel: bool = False) -> None:
        super().shutdown(wait=wait, cancel=cancel)
        if wait:  # every slot thread has ended: no job needs a worker any more
            for slot in self._slots:
                slot.release(self._ray)

    def serve_job(self, job: QueuedJob, slot: _Slot) -> None:
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
            job.finish(dataclasses.replace(outcome, config=job.config))
            return
        if not isinstance(outcome, NSTError):
            _log.error("run of job %s failed unexpectedly on a Ray worker: %r", job.id, outcome)
        job.fail(outcome)

    def _follow(self, job: QueuedJob, slot: _Slot) -> RunResult | BaseException:
        """Start the job on the slot's worker and copy its progress into ``job`` until it ends."""
        ray = self._ray
        if slot.actor is None:
            job.progress.set_phase("starting a Ray worker")
            slot.actor = self._worker_class.remote()
            # Its own, longer wait: a new worker process imports torch, and waits for free resources.
            if not self._wait(job, slot.actor.ready.remote(), WORKER_START_TIMEOUT_S):
                return RunCancelled("The job was cancelled before it started.")
        actor = slot.actor
        finished = actor.run.remote(job.id, portable(job.config))
        cursor = ProgressCursor()
        while True:
            ready, _ = ray.wait([finished], timeout=POLL_INTERVAL_S)
            if job.cancel_event.is_set():  # sent again at every poll: it may overtake the run's start
                actor.cancel.remote(job.id)
            update = ray.get(actor.progress.remote(job.id, cursor), timeout=REPLY_TIMEOUT_S)
            job.progress.apply(update)
            cursor = update.cursor
            if ready:
                return ray.get(finished)

    def _wait(self, job: QueuedJob, pending: Any, timeout: float) -> bool:
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


def _count(number: float, noun: str) -> str:
    return f"{number:g} {noun}{'' if number == 1 else 's'}"
