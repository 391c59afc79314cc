"""Helpers of the executor tests (``ThreadExecutor``, ``RayExecutor``): small configurations and waiting for a state."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from nst_core import Job, RunConfig

WAIT_S = 60.0


def small_config(steps: int = 3, **changes: object) -> RunConfig:
    """A 32 px run on random weights and two shallow style layers; its images depend on ``steps`` only."""
    generator = torch.Generator().manual_seed(steps)
    fields: dict[str, object] = {
        "content": torch.rand(1, 3, 32, 32, generator=generator),
        "style": torch.rand(1, 3, 32, 32, generator=generator),
        "size": 32,
        "steps": steps,
        "weights": "random",
        "device": "cpu",
        "style_layers": {"relu1_1": 0.5, "relu2_1": 0.5},
        "content_layer": "relu2_2",
        "snapshot_every": 2,
    }
    return RunConfig(**{**fields, **changes})  # type: ignore[arg-type]


def wait_until(predicate: Callable[[], bool], timeout: float = WAIT_S) -> None:
    """Wait for a state, never for a duration: the tests must not depend on the machine's speed."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


def running(job: Job) -> bool:
    return job.snapshot().step >= 1
