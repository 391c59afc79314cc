"""Background jobs: FIFO order, live states, prompt cancel, typed failures, done callbacks."""

from __future__ import annotations

import gc
import time
import weakref
from collections.abc import Iterator

import numpy as np
import pytest
import torch

from nst_core import (
    ConfigError,
    Executor,
    Job,
    JobState,
    JobStatus,
    RunCancelled,
    RunResult,
    ThreadExecutor,
    WeightsError,
)
from nst_core.extractor import VGGExtractor
from nst_core.optim.canvas import Canvas
from nst_core.serve import ExtractorCache
from tests.helpers import WAIT_S
from tests.helpers import running as _running
from tests.helpers import small_config as _config
from tests.helpers import wait_until as _wait_until


@pytest.fixture
def executor(random_extractor: VGGExtractor) -> Iterator[ThreadExecutor]:
    pool = ThreadExecutor(model_cache=ExtractorCache(loader=lambda *args, **kwargs: random_extractor))
    yield pool
    pool.shutdown(wait=True, cancel=True)


def test_a_job_runs_to_its_result_with_live_snapshots(executor) -> None:
    job = executor.submit(_config(steps=5))
    assert isinstance(job, Job) and len(job.id) == 32 and isinstance(executor, Executor)
    result = job.result(timeout=WAIT_S)
    assert isinstance(result, RunResult) and len(result.history) == 5
    snapshot = job.state()
    assert isinstance(snapshot, JobState)
    assert snapshot.status == JobStatus.DONE == "done" and job.status is JobStatus.DONE and job.done()
    assert (snapshot.step, snapshot.steps, snapshot.eta_s, snapshot.queue_position, snapshot.error) == (
        5,
        5,
        0.0,
        None,
        None,
    )
    assert [r.step for r in snapshot.history] == [1, 2, 3, 4, 5] and snapshot.elapsed_s > 0
    assert snapshot.preview is not None and snapshot.preview.shape == (32, 32, 3) and snapshot.preview.dtype == np.uint8
    assert np.array_equal(snapshot.preview, (result.image[0].permute(1, 2, 0) * 255).round().to(torch.uint8).numpy())
    assert [s.step for s in snapshot.snapshots] == [2, 4]


def test_jobs_run_in_submission_order_and_report_queue_positions(executor) -> None:
    finished: list[str] = []
    first = executor.submit(_config(steps=10_000))
    _wait_until(lambda: _running(first))
    second, third = executor.submit(_config(steps=3)), executor.submit(_config(steps=2))
    for job in (first, second, third):
        job.add_done_callback(lambda j: finished.append(j.id))
    assert (first.queue_position, second.queue_position, third.queue_position) == (None, 1, 2)
    assert second.state().status == "queued" and second.state().queue_position == 1
    assert second.state().eta_s is not None  # the estimate, before any step
    first.cancel()
    third.result(timeout=WAIT_S)
    assert finished == [first.id, second.id, third.id]
    assert second.state().status == third.state().status == "done"


def test_cancel_stops_a_running_job_promptly_and_a_queued_job_never_starts(executor) -> None:
    running = executor.submit(_config(steps=10_000))
    queued = executor.submit(_config(steps=3))
    _wait_until(lambda: _running(running))
    assert queued.cancel() is True
    assert queued.status == "cancelled" and queued.done() and queued.queue_position is None
    per_step = running.state().history[-1].elapsed_s / running.state().step
    asked = time.monotonic()
    assert running.cancel() is True
    with pytest.raises(RunCancelled):
        running.result(timeout=WAIT_S)
    assert time.monotonic() - asked < 5.0 + 3 * per_step
    assert running.status == "cancelled" and running.state().error and running.state().eta_s is None
    with pytest.raises(RunCancelled, match="before it started"):
        queued.result(timeout=0)
    never = queued.state()
    assert (never.step, never.history, never.preview, never.elapsed_s) == (0, (), None, 0.0)
    assert running.cancel() is False  # already finished
    assert executor.submit(_config(steps=2)).result(timeout=WAIT_S).history  # the worker is still alive


def test_a_cancelled_run_releases_its_tensors(executor, monkeypatch) -> None:
    images: list[weakref.ref[torch.Tensor]] = []
    original = Canvas.encode

    def tracked(canvas: Canvas, image: torch.Tensor) -> torch.Tensor:
        variable = original(canvas, image)
        images.append(weakref.ref(variable))
        return variable

    monkeypatch.setattr(Canvas, "encode", tracked)
    job = executor.submit(_config(steps=10_000))
    _wait_until(lambda: _running(job))
    job.cancel()
    with pytest.raises(RunCancelled):
        job.result(timeout=WAIT_S)
    gc.collect()
    assert images and images[0]() is None


def test_failures_are_typed_and_reach_the_caller(tmp_path) -> None:
    junk = tmp_path / "weights.pth"
    junk.write_bytes(b"not a state dict")
    with ThreadExecutor() as pool:
        job = pool.submit(_config(weights=str(junk)))  # loaded in the worker: submit does not block on it
        with pytest.raises(WeightsError):
            job.result(timeout=WAIT_S)
        assert job.status == "failed" and job.state().error
        with pytest.raises(ConfigError) as info:
            pool.submit(_config(steps=0))
        assert info.value.field == "steps"


def test_result_times_out_while_the_job_runs(executor) -> None:
    job = executor.submit(_config(steps=10_000))
    with pytest.raises(TimeoutError):
        job.result(timeout=0.05)
    job.cancel()


def test_done_callbacks_run_once_even_when_added_late(executor) -> None:
    calls: list[Job] = []
    job = executor.submit(_config(steps=2))
    job.add_done_callback(calls.append)
    job.result(timeout=WAIT_S)
    _wait_until(lambda: len(calls) == 1)
    job.add_done_callback(calls.append)
    assert calls == [job, job]


def test_shutdown_refuses_new_jobs_and_can_cancel_the_rest(random_extractor) -> None:
    pool = ThreadExecutor(model_cache=ExtractorCache(loader=lambda *args, **kwargs: random_extractor))
    running, queued = pool.submit(_config(steps=10_000)), pool.submit(_config(steps=3))
    _wait_until(lambda: _running(running))
    pool.shutdown(wait=True, cancel=True)
    assert running.status == queued.status == "cancelled"
    with pytest.raises(RuntimeError, match="shut down"):
        pool.submit(_config())


def test_snapshot_is_the_deprecated_name_of_state(executor) -> None:
    job = executor.submit(_config(steps=2))
    job.result(timeout=WAIT_S)
    with pytest.warns(DeprecationWarning, match=r"Job\.state\(\)"):
        old = job.snapshot()
    assert isinstance(old, JobState) and (old.step, old.history) == (job.state().step, job.state().history)
