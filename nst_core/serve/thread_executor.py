"""``ThreadExecutor``: the ``Executor`` that runs jobs in this process, one worker thread per slot: one per
GPU, or one on a CPU machine (a run already uses every core). A worker loads the weights it needs through
an ``ExtractorCache`` shared by all its runs, so submitting never blocks on a download."""

from __future__ import annotations

import os

import torch

from .admission import AdmissionPolicy
from .execution import execute_run
from .executor import QueueExecutor
from .extractor_cache import ExtractorCache
from .jobs import QueuedJob


class ThreadExecutor(QueueExecutor[torch.device]):
    """Runs jobs in worker threads of this process: one per GPU (``slots`` None), or one on CPU.

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
        self.gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
        slots = slots if slots is not None else max(1, self.gpus)
        if step_delay_s < 0:
            raise ValueError(f"step_delay_s must be 0 or more, got {step_delay_s}")
        self.model_cache = model_cache or ExtractorCache()
        self.step_delay_s = step_delay_s
        devices = [torch.device("cuda", i % self.gpus) if self.gpus else torch.device("cpu") for i in range(slots)]
        super().__init__(policy or AdmissionPolicy.from_env(), devices, name="nst-run-worker")

    @classmethod
    def from_env(cls, model_cache: ExtractorCache | None = None) -> ThreadExecutor:
        """The app's executor: ``AdmissionPolicy.from_env()`` and ``STYLE_LENS_TEST_STEP_DELAY_S`` (seconds,
        default 0; only the browser tests set it)."""
        text = os.environ.get("STYLE_LENS_TEST_STEP_DELAY_S", "").strip()
        return cls(model_cache=model_cache, step_delay_s=float(text) if text else 0.0)

    def describe(self) -> str:
        slots = self.slots
        where = f"{self.gpus} GPU(s)" if self.gpus else "CPU"
        return f"threads on this machine: {slots} slot{'s' if slots != 1 else ''}, {where}"

    def serve_job(self, job: QueuedJob, slot_device: torch.device) -> None:
        device = torch.device("cpu") if job.config.device == "cpu" else slot_device
        outcome = execute_run(
            job.config, device, self.model_cache, job.progress, job.cancel_event, step_delay_s=self.step_delay_s
        )
        if isinstance(outcome, Exception):
            job.fail(outcome)
        else:
            job.finish(outcome)
