"""The fair queue: per-owner and server-wide limits, dropping a departed owner's runs, queue estimates,
hosted limits and the test-only step throttle. Runs are fakes held at a gate the test opens."""

from __future__ import annotations

import queue
import re
import threading
import time
from collections.abc import Iterator

import pytest
import torch

from nst_core import (
    AdmissionError,
    ConfigError,
    JobStatus,
    NSTError,
    QueueFullError,
    RunCancelled,
    RunConfig,
    ThreadExecutor,
    TooManyRunsError,
)
from nst_core.optim.config import MAX_SIZE, MAX_STEPS
from nst_core.serve import AdmissionPolicy, ExtractorCache, HostedLimits, execution, hosted_limits
from nst_core.serve.admission import DEFAULT_BATCH_RUNS, batch_runs_from_env

WAIT_S = 60.0


def _config(steps: int = 3) -> RunConfig:
    generator = torch.Generator().manual_seed(steps)
    return RunConfig(
        content=torch.rand(1, 3, 32, 32, generator=generator),
        style=torch.rand(1, 3, 32, 32, generator=generator),
        size=32,
        steps=steps,
        weights="random",
        device="cpu",
        style_layers={"relu1_1": 1.0},
        content_layer="relu1_2",
        snapshot_every=0,
    )


class GatedRuns:
    """Stands in for ``engine.run``: each run reports its start, then holds until ``release()`` or a cancel."""

    def __init__(self) -> None:
        self.started: queue.Queue[RunConfig] = queue.Queue()
        self._gate = threading.Event()

    def __call__(self, config: RunConfig, on_progress=None, cancel=None, extractor=None, evaluator=None) -> str:
        self.started.put(config)
        while not self._gate.wait(0.01):
            if cancel is not None and cancel.is_set():
                raise RunCancelled("cancelled while held")
        return "result"

    def next_start(self) -> RunConfig:
        return self.started.get(timeout=WAIT_S)

    def release(self) -> None:
        self._gate.set()


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> GatedRuns:
    fake = GatedRuns()
    monkeypatch.setattr(execution, "run", fake)
    return fake


def _executor(runs: GatedRuns, **policy: int) -> ThreadExecutor:
    return ThreadExecutor(
        slots=1, model_cache=ExtractorCache(loader=lambda *args, **kwargs: object()), policy=AdmissionPolicy(**policy)
    )


@pytest.fixture
def make_executor(runs: GatedRuns) -> Iterator:
    made: list[ThreadExecutor] = []

    def make(**policy: int) -> ThreadExecutor:
        made.append(_executor(runs, **policy))
        return made[-1]

    yield make
    runs.release()
    for executor in made:
        executor.shutdown(wait=True, cancel=True)


def test_an_owner_may_not_exceed_max_active_runs(runs, make_executor) -> None:
    executor = make_executor(max_active=1)
    first = executor.submit(_config(), owner="ann")
    runs.next_start()
    with pytest.raises(TooManyRunsError) as refused:
        executor.submit(_config(), owner="ann")
    assert isinstance(refused.value, AdmissionError) and isinstance(refused.value, NSTError)
    assert (refused.value.active, refused.value.limit) == (1, 1)
    assert "already have 1 run queued or running" in str(refused.value)
    other = executor.submit(_config(), owner="bob")  # another visitor is not affected
    anonymous = [executor.submit(_config()) for _ in range(3)]  # no owner: no per-owner limit
    assert other.status is JobStatus.QUEUED and all(job.status is JobStatus.QUEUED for job in anonymous)
    runs.release()
    first.result(timeout=WAIT_S)
    again = executor.submit(_config(), owner="ann")  # once finished, the owner may launch again
    assert again.owner == "ann" and again.state().owner == "ann"


def test_max_active_counts_queued_and_running_runs(runs, make_executor) -> None:
    executor = make_executor(max_active=2)
    executor.submit(_config(), owner="ann")
    runs.next_start()
    queued = executor.submit(_config(), owner="ann")
    with pytest.raises(TooManyRunsError):
        executor.submit(_config(), owner="ann")
    queued.cancel()  # a cancelled run frees its place
    executor.submit(_config(), owner="ann")


def test_a_full_queue_refuses_with_the_wait_in_minutes(runs, make_executor) -> None:
    executor = make_executor(max_queue=2)
    executor.submit(_config(steps=50))
    runs.next_start()  # running: no longer waiting
    waiting = [executor.submit(_config(steps=50)) for _ in range(2)]
    with pytest.raises(QueueFullError) as refused:
        executor.submit(_config(steps=50), owner="new visitor")
    error = refused.value
    assert error.limit == 2 and error.wait_s > 0 and error.wait_minutes >= 1
    assert re.search(rf"the queue is full, about {error.wait_minutes} min", str(error), re.IGNORECASE)
    waiting[0].cancel()
    executor.submit(_config(steps=50), owner="new visitor")  # a place freed up


def test_cancel_owner_drops_queued_runs_and_lets_the_running_one_finish(runs, make_executor) -> None:
    executor = make_executor(max_active=3)
    running = executor.submit(_config(), owner="gone")
    runs.next_start()
    queued = [executor.submit(_config(), owner="gone") for _ in range(2)]
    others = executor.submit(_config(), owner="stays")
    assert executor.cancel_owner("gone") == 2
    assert [job.status for job in queued] == [JobStatus.CANCELLED] * 2
    assert running.status is JobStatus.RUNNING and others.queue_position == 1
    assert executor.cancel_owner("gone") == 0 and executor.cancel_owner("nobody") == 0
    runs.release()
    assert running.result(timeout=WAIT_S) == "result"
    assert others.result(timeout=WAIT_S) == "result"


def test_cancel_owner_can_stop_the_running_run_too(runs, make_executor) -> None:
    executor = make_executor(max_active=2)
    running = executor.submit(_config(), owner="gone")
    runs.next_start()
    queued = executor.submit(_config(), owner="gone")
    assert executor.cancel_owner("gone", queued_only=False) == 2
    with pytest.raises(RunCancelled):
        running.result(timeout=WAIT_S)
    assert queued.status is JobStatus.CANCELLED and running.status is JobStatus.CANCELLED


def test_queued_snapshots_give_their_position_and_the_wait_before_them(runs, make_executor) -> None:
    executor = make_executor()
    running = executor.submit(_config(steps=40))
    runs.next_start()
    first, second = executor.submit(_config(steps=40)), executor.submit(_config(steps=40))
    a, b = first.state(), second.state()
    assert (a.queue_position, b.queue_position) == (1, 2)
    assert a.queue_eta_s is not None and b.queue_eta_s is not None
    assert a.queue_eta_s > 0  # the running run's time left
    assert b.queue_eta_s == pytest.approx(a.queue_eta_s + first.estimate.seconds, rel=0.05)
    assert running.state().queue_eta_s is None and running.state().queue_position is None
    first.cancel()
    assert second.state().queue_position == 1


def test_policy_and_limits_read_the_environment() -> None:
    assert AdmissionPolicy.from_env({}) == AdmissionPolicy(1, 20)
    env = {"STYLE_LENS_MAX_ACTIVE": "2", "STYLE_LENS_MAX_QUEUE": "5"}
    assert AdmissionPolicy.from_env(env) == AdmissionPolicy(max_active=2, max_queue=5)
    for bad in ({"STYLE_LENS_MAX_QUEUE": "0"}, {"STYLE_LENS_MAX_ACTIVE": "many"}):
        with pytest.raises(ConfigError) as error:
            AdmissionPolicy.from_env(bad)
        assert error.value.field == next(iter(bad))
    with pytest.raises(ValueError):
        AdmissionPolicy(max_active=0)
    assert hosted_limits({}, gpu=False) == HostedLimits(max_size=384, max_steps=300)
    assert hosted_limits({}, gpu=True) == HostedLimits(MAX_SIZE, MAX_STEPS)
    assert hosted_limits({"STYLE_LENS_MAX_SIZE": "256", "STYLE_LENS_MAX_STEPS": "100"}, gpu=True) == HostedLimits(
        256, 100
    )
    with pytest.raises(ConfigError, match="STYLE_LENS_MAX_SIZE"):
        hosted_limits({"STYLE_LENS_MAX_SIZE": "8"}, gpu=False)


def test_the_step_throttle_comes_from_the_environment_and_a_cancel_cuts_it_short(monkeypatch, random_extractor) -> None:
    monkeypatch.setenv("STYLE_LENS_TEST_STEP_DELAY_S", "600")
    executor = ThreadExecutor.from_env(model_cache=ExtractorCache(loader=lambda *args, **kwargs: random_extractor))
    try:
        assert executor.step_delay_s == 600.0
        job = executor.submit(_config(steps=3))
        deadline = time.monotonic() + WAIT_S
        while job.state().step < 1:  # the first step is recorded, then the worker pauses
            assert time.monotonic() < deadline, "the first step never came"
            time.sleep(0.01)
        assert job.state().step == 1 and job.status is JobStatus.RUNNING
        job.cancel()
        with pytest.raises(RunCancelled):
            job.result(timeout=WAIT_S)
    finally:
        executor.shutdown(wait=True, cancel=True)


def test_batch_runs_read_the_environment_and_default_by_device() -> None:
    assert (batch_runs_from_env("cpu", {}), batch_runs_from_env("cuda", {})) == (1, 4)
    for device in ("cpu", "cuda"):
        assert batch_runs_from_env(device, {"STYLE_LENS_BATCH_RUNS": "8"}) == 8
        assert batch_runs_from_env(device, {"STYLE_LENS_BATCH_RUNS": " "}) == DEFAULT_BATCH_RUNS[device]
    for bad in ("0", "two", "65", "1.5"):
        with pytest.raises(ConfigError, match="from 1 to 64") as error:
            batch_runs_from_env("cuda", {"STYLE_LENS_BATCH_RUNS": bad})
        assert error.value.field == "STYLE_LENS_BATCH_RUNS"
