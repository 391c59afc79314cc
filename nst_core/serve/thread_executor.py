"""``ThreadExecutor``: the ``Executor`` that runs jobs in this process, one worker thread per slot: one per
GPU, or one on a CPU machine (a run already uses every core). A worker loads the weights it needs through
an ``ExtractorCache`` shared by all its runs, so submitting never blocks on a download.

A worker may take several queued runs that share a ``batch_key`` at once (``batch_runs``): each runs in its
own thread with its own optimiser, progress, cancel and outcome, seated at one ``BatchedEvaluator`` that
evaluates their steps as one network pass (``nst_core.optim.batched``)."""

from __future__ import annotations

import os
import threading
from collections import Counter

import torch

from ..optim.batched import BatchedEvaluator, BatchSeat, batch_key
from ..optim.estimate import usable_memory_bytes
from .admission import AdmissionPolicy, batch_runs_from_env
from .execution import execute_run
from .executor import QueueExecutor
from .extractor_cache import ExtractorCache
from .fair_queue import BatchRoom
from .jobs import QueuedJob


class ThreadExecutor(QueueExecutor[torch.device]):
    """Runs jobs in worker threads of this process: one per GPU (``slots`` None), or one on CPU.

    ``model_cache`` shares loaded extractors with other parts of an application (a new one by default).
    ``policy``: the fair-queue limits (``AdmissionPolicy.from_env()`` by default). ``step_delay_s``: a
    pause after every step, for tests that must watch a run in progress whatever the machine's speed
    (``from_env`` reads it from ``STYLE_LENS_TEST_STEP_DELAY_S``); a cancel still stops the run at once.
    ``batch_runs``: the most queued runs a worker evaluates as one batch, on any device (None: per device,
    ``admission.batch_runs_from_env``: ``STYLE_LENS_BATCH_RUNS``, else 1 on the CPU and 4 on a GPU). A
    batch also fits in the memory its device has free: the runs' estimated peaks add up to at most
    ``usable_memory_bytes``, shared by the slots on that device. ``batch_sizes`` counts the batches its
    workers served by number of runs (1: a run alone).
    """

    def __init__(
        self,
        slots: int | None = None,
        model_cache: ExtractorCache | None = None,
        *,
        policy: AdmissionPolicy | None = None,
        step_delay_s: float = 0.0,
        batch_runs: int | None = None,
    ) -> None:
        self.gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
        slots = slots if slots is not None else max(1, self.gpus)
        if step_delay_s < 0:
            raise ValueError(f"step_delay_s must be 0 or more, got {step_delay_s}")
        if batch_runs is not None and batch_runs < 1:
            raise ValueError(f"batch_runs must be at least 1, got {batch_runs}")
        self.model_cache = model_cache or ExtractorCache()
        self.step_delay_s = step_delay_s
        self._batch_runs = {kind: batch_runs or batch_runs_from_env(kind) for kind in ("cpu", "cuda")}
        self._devices = [
            torch.device("cuda", i % self.gpus) if self.gpus else torch.device("cpu") for i in range(slots)
        ]
        self.batch_sizes: Counter[int] = Counter()
        self._lock = threading.Lock()
        batching = max(self._batch_runs.values()) > 1
        super().__init__(
            policy or AdmissionPolicy.from_env(), self._devices, "nst-run-worker", batch_key if batching else None
        )

    @classmethod
    def from_env(cls, model_cache: ExtractorCache | None = None) -> ThreadExecutor:
        """The app's executor: ``AdmissionPolicy.from_env()``, ``STYLE_LENS_BATCH_RUNS`` and
        ``STYLE_LENS_TEST_STEP_DELAY_S`` (seconds, default 0; only the browser tests set it)."""
        text = os.environ.get("STYLE_LENS_TEST_STEP_DELAY_S", "").strip()
        return cls(model_cache=model_cache, step_delay_s=float(text) if text else 0.0)

    @property
    def batch_runs(self) -> int:
        """The most runs one batch holds on this executor's slots (GPUs, or the CPU)."""
        return self._batch_runs[self._devices[0].type]

    def describe(self) -> str:
        slots = self.slots
        where = f"{self.gpus} GPU(s)" if self.gpus else "CPU"
        batches = f", batches of up to {self.batch_runs} runs" if self.batch_runs > 1 else ""
        return f"threads on this machine: {slots} slot{'s' if slots != 1 else ''}, {where}{batches}"

    def batch_room(self, head: QueuedJob, slot: torch.device) -> BatchRoom:
        device = _device(head, slot)
        if (runs := self._batch_runs[device.type]) == 1:
            return BatchRoom(1)
        # The other slots on this device may take a batch as large before this one's memory is in use.
        sharing = sum(d == device for d in self._devices) or len(self._devices)
        return BatchRoom(runs, usable_memory_bytes(device) // sharing)

    def serve_batch(self, jobs: list[QueuedJob], slot: torch.device) -> None:
        with self._lock:
            self.batch_sizes[len(jobs)] += 1
        if len(jobs) == 1:
            self.serve_job(jobs[0], slot)
            return
        evaluator = BatchedEvaluator()
        # Every seat is taken before any run starts, so that the first steps already share their passes.
        seats = [evaluator.seat() for _ in jobs]
        name = threading.current_thread().name
        threads = [
            threading.Thread(target=self.serve_job, args=(job, slot, seat), name=f"{name}-batch-{i}", daemon=True)
            for i, (job, seat) in enumerate(zip(jobs, seats, strict=True))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def serve_job(self, job: QueuedJob, slot_device: torch.device, seat: BatchSeat | None = None) -> None:
        outcome = execute_run(
            job.config,
            _device(job, slot_device),
            self.model_cache,
            job.progress,
            job.cancel_event,
            step_delay_s=self.step_delay_s,
            evaluator=seat,
        )
        if isinstance(outcome, Exception):
            job.fail(outcome)
        else:
            job.finish(outcome)


def _device(job: QueuedJob, slot_device: torch.device) -> torch.device:
    """Where ``job`` runs on a worker of ``slot_device``: there, unless its config asks for the CPU."""
    return torch.device("cpu") if job.config.device == "cpu" else slot_device
