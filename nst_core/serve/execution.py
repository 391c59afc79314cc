"""``execute_run``: one run of a job where it executes (a worker thread here, a Ray worker elsewhere):
load the extractor, run, report the error, free what a failed run held."""

from __future__ import annotations

import gc
import logging
import threading

import torch

from ..errors import NSTError, RunCancelled
from ..optim.batched import BatchSeat
from ..optim.config import RunConfig
from ..optim.engine import run
from ..optim.result import RunProgress, RunResult
from .extractor_cache import ExtractorCache
from .progress import ProgressRecorder

_log = logging.getLogger(__name__)


def execute_run(
    config: RunConfig,
    device: torch.device,
    extractors: ExtractorCache,
    progress: ProgressRecorder,
    cancel: threading.Event,
    *,
    step_delay_s: float = 0.0,
    evaluator: BatchSeat | None = None,
) -> RunResult | Exception:
    """Run ``config`` on ``device`` with an extractor from ``extractors``, recording into ``progress``
    and stopping when ``cancel`` is set. Returns the result or the run's error, never raises: every
    failure belongs to the run, not to the worker. ``step_delay_s``: a pause after every step (tests that
    watch a run in progress); a cancel cuts it short. ``evaluator``: the run's seat at a batch's
    ``BatchedEvaluator`` (``run`` takes it), given up however the run ends."""

    def downloading(done_bytes: int, total_bytes: int | None) -> None:
        if cancel.is_set():
            raise RunCancelled("The job was cancelled while the weights were downloading.")
        progress.downloading(done_bytes, total_bytes)

    def paced(step: RunProgress) -> None:
        progress.on_progress(step)
        cancel.wait(step_delay_s)

    try:
        progress.set_phase("loading weights")
        extractor = extractors.get(config.weights, device, progress=downloading)
        progress.set_phase("optimising")
        on_progress = paced if step_delay_s else progress.on_progress
        return run(config, on_progress=on_progress, cancel=cancel, extractor=extractor, evaluator=evaluator)
    except Exception as error:  # noqa: BLE001 - handed back to the job
        if evaluator is not None:  # failed before ``run`` took the seat: the batch must not wait for it
            evaluator.close()
        if not isinstance(error, NSTError):
            _log.error("a run failed unexpectedly", exc_info=error)
        _forget_frames(error)
        outcome = error
    _free_memory(device)
    return outcome


def _forget_frames(error: BaseException) -> None:
    """Drop the tracebacks of ``error`` and its causes: their frames hold the failed run's tensors."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        current.__traceback__ = None
        current = current.__cause__ or current.__context__


def _free_memory(device: torch.device) -> None:
    """After a failed or cancelled run, whose tensors are unreachable now: hand their memory back."""
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
