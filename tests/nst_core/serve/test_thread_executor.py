"""ThreadExecutor's batches: queued runs of one batch key run as one batch, each with its own result (equal to its
solo run), progress, cancel and failure; a batch fits in the memory its device has; ``batch_runs`` and
``STYLE_LENS_BATCH_RUNS``.

Nothing here waits on timing. A worker is held on a long run of another key while the batch is queued, so the
worker takes the whole batch once that run is cancelled; a run held in its progress callback holds every run of
its batch (a round waits for every seated run), which lets a test act while a batch is surely in progress.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
import torch

from nst_core import ConfigError, JobStatus, RunCancelled, RunConfig, ThreadExecutor, run
from nst_core.extractor import VGGExtractor
from nst_core.optim.estimate import estimate_run
from nst_core.serve import ExtractorCache, execution, thread_executor
from nst_core.serve.jobs import QueuedJob
from tests.helpers import CORRUPT_PNG, WAIT_S, assert_same_run, running, small_config, smooth_image, wait_until

# Float32 (or float32 channels-last, as the policy picks for a 32 px L-BFGS run on this CPU): whole L-BFGS runs
# agree within the float32 floor (tests/nst_core/optim/test_batched.py).
RUN_TOLERANCE = 2e-3


@pytest.fixture
def make_executor(random_extractor: VGGExtractor) -> Iterator[Callable[..., ThreadExecutor]]:
    made: list[ThreadExecutor] = []

    def make(**options: object) -> ThreadExecutor:
        cache = ExtractorCache(loader=lambda *args, **kwargs: random_extractor)
        made.append(ThreadExecutor(slots=1, model_cache=cache, **options))  # type: ignore[arg-type]
        return made[-1]

    yield make
    for executor in made:
        executor.shutdown(wait=True, cancel=True)


def _config(seed: int, steps: int = 4, **changes: object) -> RunConfig:
    """A 32 px L-BFGS run with its own content (every seed's runs share one batch key)."""
    return small_config(steps=steps, content=smooth_image(32, 32, seed=seed), **changes)


def _hold_worker(executor: ThreadExecutor) -> QueuedJob:
    """A long run of another batch key, running: the worker takes nothing else until it is cancelled."""
    blocker = executor.submit(small_config(steps=10_000, size=48, content=smooth_image(48, 48, seed=99)))
    wait_until(lambda: running(blocker))
    return blocker


def _submit_as_one_batch(executor: ThreadExecutor, configs: list[RunConfig]) -> list[QueuedJob]:
    blocker = _hold_worker(executor)
    jobs = [executor.submit(config) for config in configs]
    blocker.cancel()
    return jobs


class HeldRuns:
    """Wraps ``engine.run`` where the executor calls it: the runs of ``held`` configs stop in their progress
    callback after step ``at`` until ``release()``; ``statuses`` records the jobs' statuses as each run starts."""

    def __init__(self, at: int) -> None:
        self.at = at
        self.held: list[RunConfig] = []
        self.jobs: list[QueuedJob] = []
        self.statuses: list[list[JobStatus]] = []
        self.waiting = threading.Semaphore(0)
        self._gate = threading.Event()

    def __call__(self, config: RunConfig, on_progress=None, cancel=None, **options: object):
        self.statuses.append([job.status for job in self.jobs])

        def step(progress) -> None:
            on_progress(progress)
            if progress.step == self.at and any(config is held for held in self.held):
                self.waiting.release()
                self._gate.wait()

        return run(config, step, cancel, **options)

    def wait_for_held(self) -> None:
        for _ in self.held:
            assert self.waiting.acquire(timeout=WAIT_S), "a held run never reached its step"

    def release(self) -> None:
        self._gate.set()


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldRuns]:
    runs = HeldRuns(at=2)
    monkeypatch.setattr(execution, "run", runs)
    yield runs
    runs.release()


def test_queued_runs_of_one_key_run_as_one_batch_each_equal_to_its_solo_run(make_executor, random_extractor) -> None:
    executor = make_executor(batch_runs=3)
    configs = [_config(1), _config(2, steps=3), _config(3, snapshot_every=1)]
    jobs = _submit_as_one_batch(executor, configs)
    results = [job.result(timeout=WAIT_S) for job in jobs]
    assert executor.batch_sizes == Counter({1: 1, 3: 1})  # the blocker alone, then the three together
    for job, result, config in zip(jobs, results, configs, strict=True):
        assert_same_run(result, run(config, extractor=random_extractor), RUN_TOLERANCE)
        state = job.state()  # each job's own progress
        assert state.status is JobStatus.DONE and (state.step, state.steps) == (config.steps, config.steps)
        assert [r.step for r in state.history] == list(range(1, config.steps + 1))
        assert [r.J for r in state.history] == [r.J for r in result.history]
        assert [s.step for s in state.snapshots] == [s.step for s in result.snapshots if s.step]  # not the start
        expected = (result.image[0].permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
        assert state.preview is not None and (state.preview == expected).all()
    assert [len(state.history) for state in (job.state() for job in jobs)] == [4, 3, 4]


def test_every_job_of_a_batch_is_running_before_it_starts_and_one_cancel_stops_only_its_run(
    make_executor, held, random_extractor
) -> None:
    executor = make_executor(batch_runs=3)
    configs = [_config(1, steps=5), _config(2, steps=10_000), _config(3, steps=5)]
    held.held = [configs[0], configs[2]]
    blocker = _hold_worker(executor)
    held.jobs = [executor.submit(config) for config in configs]
    first, cancelled, last = held.jobs
    blocker.cancel()
    held.wait_for_held()  # the batch is in progress: the other run cannot get past the round of step 3
    assert all(job.status is JobStatus.RUNNING for job in held.jobs)
    assert held.statuses[-3:] == [[JobStatus.RUNNING] * 3] * 3  # as each of the three runs started
    assert cancelled.cancel() is True
    held.release()
    with pytest.raises(RunCancelled):
        cancelled.result(timeout=WAIT_S)
    assert cancelled.status is JobStatus.CANCELLED and cancelled.state().step <= 3
    for job, config in ((first, configs[0]), (last, configs[2])):
        result = job.result(timeout=WAIT_S)
        assert job.status is JobStatus.DONE and len(result.history) == 5
        assert_same_run(result, run(config, extractor=random_extractor), RUN_TOLERANCE)
    assert executor.batch_sizes[3] == 1


def test_a_run_that_fails_to_load_fails_alone(make_executor, random_extractor) -> None:
    executor = make_executor(batch_runs=3)
    configs = [_config(1), _config(2, style=CORRUPT_PNG), _config(3)]  # queued: only its loading fails
    jobs = _submit_as_one_batch(executor, configs)
    with pytest.raises(ConfigError) as info:
        jobs[1].result(timeout=WAIT_S)
    assert info.value.field == "style" and jobs[1].status is JobStatus.FAILED and jobs[1].state().error
    for index in (0, 2):
        assert_same_run(jobs[index].result(timeout=WAIT_S), run(configs[index], extractor=random_extractor), 2e-3)
    assert executor.batch_sizes == Counter({1: 1, 3: 1})


def test_a_batch_fits_in_the_memory_its_device_has_free(make_executor, monkeypatch) -> None:
    executor = make_executor(batch_runs=4)
    configs = [_config(seed, steps=2) for seed in range(3)]
    peak = estimate_run(configs[0]).peak_bytes  # the same for the three: one shape, the same layers
    monkeypatch.setattr(thread_executor, "usable_memory_bytes", lambda device: int(2.5 * peak))
    jobs = _submit_as_one_batch(executor, configs)
    for job in jobs:
        job.result(timeout=WAIT_S)
    assert executor.batch_sizes == Counter({1: 2, 2: 1})  # the blocker; two runs that fit; the third alone


def test_shutdown_with_cancel_stops_every_run_of_a_batch(make_executor) -> None:
    executor = make_executor(batch_runs=2)
    jobs = _submit_as_one_batch(executor, [_config(1, steps=10_000), _config(2, steps=10_000)])
    wait_until(lambda: all(running(job) for job in jobs))
    executor.shutdown(wait=True, cancel=True)
    assert [job.status for job in jobs] == [JobStatus.CANCELLED] * 2


def test_batch_runs_is_one_on_the_cpu_unless_set(make_executor, monkeypatch) -> None:
    monkeypatch.delenv("STYLE_LENS_BATCH_RUNS", raising=False)
    on_cpu = make_executor()
    assert on_cpu.batch_runs == (4 if on_cpu.gpus else 1)
    if not on_cpu.gpus:
        jobs = _submit_as_one_batch(on_cpu, [_config(1, steps=2), _config(2, steps=2)])
        for job in jobs:
            job.result(timeout=WAIT_S)
        assert on_cpu.batch_sizes == Counter({1: 3})  # one at a time
        assert "batches" not in on_cpu.describe()
    monkeypatch.setenv("STYLE_LENS_BATCH_RUNS", "5")
    assert make_executor().batch_runs == 5 and "batches of up to 5 runs" in make_executor().describe()
    assert make_executor(batch_runs=2).batch_runs == 2  # the argument wins over the environment
    monkeypatch.setenv("STYLE_LENS_BATCH_RUNS", "lots")
    with pytest.raises(ConfigError) as info:
        make_executor()
    assert info.value.field == "STYLE_LENS_BATCH_RUNS"
    with pytest.raises(ValueError, match="batch_runs"):
        make_executor(batch_runs=0)
