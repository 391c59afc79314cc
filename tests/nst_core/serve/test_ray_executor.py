"""RayExecutor against a small local Ray (2 CPUs): the ThreadExecutor's contract, its results, and Ray's failures.

The jobs run in a Ray worker process that loads its own seeded random weights; every wait is for a state
(a step reached, a job finished), never for a duration, so the tests do not depend on the machine's speed.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from nst_core import (
    ConfigError,
    Executor,
    ExecutorUnavailableError,
    JobStatus,
    OutOfMemoryError,
    QueueFullError,
    RayExecutor,
    RunCancelled,
    RunConfig,
    ThreadExecutor,
    WeightsError,
    WorkerLostError,
)
from nst_core.images import to_pil
from nst_core.serve import AdmissionPolicy, executor_from_env
from nst_core.serve.ray_worker import portable
from tests.helpers import running, small_config, wait_until

WAIT_S = 120.0

MAX_QUEUE = 2


def _config(steps: int = 4, **changes: object) -> RunConfig:
    # L-BFGS runs float32 on every CPU (Adam runs bfloat16 on some): exact comparisons hold.
    return small_config(steps, optimizer="lbfgs", **changes)


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[object]:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, num_gpus=0, object_store_memory=100 * 2**20, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def executor(ray_cluster) -> Iterator[RayExecutor]:
    pool = RayExecutor(policy=AdmissionPolicy(max_queue=MAX_QUEUE))
    yield pool
    pool.shutdown(wait=True, cancel=True)


def test_a_run_gives_the_thread_executors_image_with_live_progress(executor) -> None:
    assert isinstance(executor, Executor) and not isinstance(executor, ThreadExecutor)
    assert executor.describe().endswith("CPU only, 1 worker (2 CPUs per run)")
    job = executor.submit(_config(steps=6))
    result = job.result(timeout=WAIT_S)
    with ThreadExecutor() as threads:
        expected = threads.submit(_config(steps=6)).result(timeout=WAIT_S)
    assert torch.equal(result.image, expected.image)
    assert [r.J for r in result.history] == [r.J for r in expected.history]
    assert result.precision == expected.precision and result.config is job.config
    snapshot = job.state()
    assert (snapshot.status, snapshot.step, snapshot.steps, snapshot.eta_s, snapshot.error) == ("done", 6, 6, 0.0, None)
    assert [r.step for r in snapshot.history] == list(range(1, 7)) and [s.step for s in snapshot.snapshots] == [2, 4, 6]
    assert snapshot.preview is not None and snapshot.preview.dtype == np.uint8 and snapshot.preview.flags.writeable
    assert np.array_equal(snapshot.preview, (result.image[0].permute(1, 2, 0) * 255).round().to(torch.uint8).numpy())


def test_progress_queue_positions_cancel_and_callbacks(executor) -> None:
    finished: list[str] = []
    running = executor.submit(_config(steps=100_000))
    wait_until(lambda: running.state().step >= 2)  # steps reach the driver while the run goes on
    live = running.state()
    assert live.status == "running" and live.phase == "optimising" and live.preview is not None
    queued, last = executor.submit(_config(steps=2)), executor.submit(_config(steps=3))
    with pytest.raises(QueueFullError, match="queue is full") as full:
        executor.submit(_config(steps=2))
    assert full.value.limit == MAX_QUEUE and full.value.wait_minutes >= 1
    for job in (running, queued, last):
        job.add_done_callback(lambda j: finished.append(j.id))
    assert (running.queue_position, queued.queue_position, last.queue_position) == (None, 1, 2)
    assert queued.state().status == "queued" and queued.state().eta_s is not None

    assert queued.cancel() is True  # at once: it never reaches a worker
    assert queued.status is JobStatus.CANCELLED and queued.done() and last.queue_position == 1
    with pytest.raises(RunCancelled, match="before it started"):
        queued.result(timeout=0)
    step_at_cancel = running.state().step
    assert running.cancel() is True
    with pytest.raises(RunCancelled):
        running.result(timeout=WAIT_S)
    assert running.status == "cancelled" and running.state().eta_s is None
    assert running.state().step < 100_000 and step_at_cancel <= running.state().step
    assert last.result(timeout=WAIT_S).image.shape == (1, 3, 32, 32)
    assert finished == [queued.id, running.id, last.id]
    late: list[str] = []
    last.add_done_callback(lambda j: late.append(j.id))  # already finished: called at once
    assert late == [last.id]


def test_a_worker_that_dies_fails_its_job_and_is_replaced(executor, ray_cluster) -> None:
    job = executor.submit(_config(steps=100_000))
    wait_until(lambda: running(job))
    (slot,) = executor._slots
    ray_cluster.kill(slot.actor)
    with pytest.raises(WorkerLostError, match="Ray worker running this job stopped"):
        job.result(timeout=WAIT_S)
    assert job.status is JobStatus.FAILED and "submit it again" in job.state().error
    assert slot.actor is None
    # The next job starts a new worker; cancelling it meanwhile ends it at once (or within a step).
    starting = executor.submit(_config(steps=100_000))
    wait_until(lambda: starting.state().phase != "queued")
    assert starting.cancel() is True
    with pytest.raises(RunCancelled):
        starting.result(timeout=WAIT_S)
    assert starting.status is JobStatus.CANCELLED
    assert len(executor.submit(_config(steps=2)).result(timeout=WAIT_S).history) == 2


def test_a_workers_typed_error_reaches_the_caller(executor, tmp_path: Path) -> None:
    junk = tmp_path / "not-vgg.pth"
    junk.write_bytes(b"not a state dict")
    job = executor.submit(_config(steps=2, weights=str(junk)))
    with pytest.raises(WeightsError):
        job.result(timeout=WAIT_S)
    assert job.status is JobStatus.FAILED and job.state().error


def test_image_files_travel_as_their_bytes(executor, tmp_path: Path) -> None:
    # A worker on another machine could not open the driver's path: it gets the file's bytes instead.
    content = tmp_path / "content.png"
    to_pil(small_config().content).save(content)
    config = _config(steps=2, content=str(content))
    assert portable(config).content == content.read_bytes() and portable(config).style is config.style
    result = executor.submit(config).result(timeout=WAIT_S)
    assert result.config is config and result.config.content == str(content)
    with ThreadExecutor() as threads:
        assert torch.equal(result.image, threads.submit(config).result(timeout=WAIT_S).image)


def test_region_masks_travel_as_their_bytes(executor, tmp_path: Path, monkeypatch) -> None:
    # Paths relative to a folder only the driver is in: the worker process, started elsewhere, cannot open them.
    monkeypatch.chdir(tmp_path)
    left = np.zeros((32, 32), dtype=np.uint8)
    left[:, :16] = 255
    Image.fromarray(left).save("left.png")
    Image.fromarray(255 - left).save("right.png")
    generator = torch.Generator().manual_seed(7)
    styles = [torch.rand(1, 3, 32, 32, generator=generator) for _ in range(2)]
    config = _config(steps=2, style=styles, regions=["left.png", "right.png"])
    assert portable(config).regions == [Path("left.png").read_bytes(), Path("right.png").read_bytes()]
    result = executor.submit(config).result(timeout=WAIT_S)
    assert result.config is config and result.config.regions == ["left.png", "right.png"]
    with ThreadExecutor() as threads:
        assert torch.equal(result.image, threads.submit(config).result(timeout=WAIT_S).image)


def test_max_pending_is_deprecated_and_lowers_the_one_queue_cap(ray_cluster) -> None:
    for policy, max_pending, cap in ((AdmissionPolicy(max_queue=20), 3, 3), (AdmissionPolicy(max_queue=2), 5, 2)):
        with pytest.warns(DeprecationWarning, match="max_queue"):
            pool = RayExecutor(policy=policy, max_pending=max_pending)
        with pool:
            assert pool.policy.max_queue == cap


def test_errors_with_extra_fields_survive_pickling() -> None:
    config_error = pickle.loads(pickle.dumps(ConfigError("size", "too small")))
    assert (type(config_error), config_error.field, str(config_error)) == (ConfigError, "size", "size: too small")
    oom = pickle.loads(pickle.dumps(OutOfMemoryError("Out of memory.", "Try 256.", suggested_size=256)))
    assert (oom.hint, oom.suggested_size, str(oom)) == ("Try 256.", 256, "Out of memory. Try 256.")
    full = pickle.loads(pickle.dumps(QueueFullError(20, 150.0)))
    assert (full.limit, full.wait_minutes, str(full)) == (20, 3, str(QueueFullError(20, 150.0)))


def test_without_ray_the_executor_says_how_to_install_it(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` raise ImportError
    with pytest.raises(ExecutorUnavailableError, match=r"pip install 'style-lens\[ray\]'"):
        RayExecutor()
    with pytest.raises(ExecutorUnavailableError, match="style-lens"):
        executor_from_env({"STYLE_LENS_EXECUTOR": "ray"})


def test_executor_from_env_chooses_and_describes() -> None:
    with executor_from_env({}) as default:
        assert type(default) is ThreadExecutor
        if not torch.cuda.is_available():
            assert default.describe() == "threads on this machine: 1 slot, CPU"
    with pytest.raises(ConfigError, match="STYLE_LENS_EXECUTOR"):
        executor_from_env({"STYLE_LENS_EXECUTOR": "celery"})
    with pytest.raises(ConfigError, match="STYLE_LENS_GPUS_PER_RUN"):
        executor_from_env({"STYLE_LENS_EXECUTOR": "ray", "STYLE_LENS_GPUS_PER_RUN": "half"})


def test_executor_from_env_joins_the_running_ray(ray_cluster) -> None:
    with executor_from_env({"STYLE_LENS_EXECUTOR": " Ray ", "STYLE_LENS_GPUS_PER_RUN": "0.5"}) as pool:
        assert isinstance(pool, RayExecutor) and pool.gpus_per_run == 0.5
        assert pool.describe().startswith("Ray at ") and "1 worker " in pool.describe()


_FROM_A_SHORT_LIVED_THREAD = """
import threading
from nst_core import RayExecutor
from tests.helpers import small_config

made = []
starter = threading.Thread(target=lambda: made.append(RayExecutor()))
starter.start()
starter.join()  # as a Streamlit script run ends after creating the app's executor
result = made[0].submit(small_config(2, optimizer="lbfgs")).result(timeout=180)
print("steps:", len(result.history))
made[0].shutdown(wait=True, cancel=True)
"""


def test_a_local_instance_started_from_a_thread_outlives_it() -> None:
    # Ray kills the daemons it starts when their starting thread ends; then it ends the whole process.
    # Its own process: the module's cluster must not be the one joined, and a failure must not end pytest.
    pytest.importorskip("ray")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3]), "RAY_ADDRESS": ""}
    done = subprocess.run(
        [sys.executable, "-c", _FROM_A_SHORT_LIVED_THREAD],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0 and "steps: 2" in done.stdout, done.stderr[-2000:]
