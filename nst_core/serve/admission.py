"""The fair-queue rules of a shared server, apart from any executor so that each one (threads, Ray) applies them.

``AdmissionPolicy``: at most ``max_active`` queued or running runs per owner (a visitor), at most
``max_queue`` runs waiting on the whole server. ``HostedLimits``: the largest size and step count the
app's form offers (on a CPU-only server, a 384 px run of 300 steps already takes minutes). The variables
that set them are in the README's "Hosting a shared server".
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

import torch

from ..errors import ConfigError, QueueFullError, TooManyRunsError
from ..optim.config import MAX_SIZE, MAX_STEPS, MIN_SIZE

DEFAULT_MAX_ACTIVE: Final = 1
DEFAULT_MAX_QUEUE: Final = 20
CPU_MAX_SIZE: Final = 384
CPU_MAX_STEPS: Final = 300
BATCH_RUNS_ENV: Final = "STYLE_LENS_BATCH_RUNS"
DEFAULT_BATCH_RUNS: Final = {"cpu": 1, "cuda": 4}
"""Measured on the CPU: a batch gains 1.01-1.13x runs/min (README, Performance), which does not pay for
every run of a batch ending with its last one. On a GPU a 256 px image leaves most of the chip idle, so
a batch of 4 is the reasoned default there; ``python bench/gpu_check.py`` (section 4) measures it."""
MAX_BATCH_RUNS: Final = 64


def _env_int(environ: Mapping[str, str], name: str, default: int, minimum: int, maximum: int | None = None) -> int:
    if not (text := environ.get(name, "").strip()):
        return default
    try:
        value = int(text)
    except ValueError:
        value = minimum - 1
    if value < minimum or (maximum is not None and value > maximum):
        upper = f" to {maximum}" if maximum is not None else " or more"
        raise ConfigError(name, f"must be a whole number from {minimum}{upper}, got {text!r}")
    return value


@dataclass(frozen=True)
class AdmissionPolicy:
    """Who may queue a run. An owner of None (a script, a notebook) has no per-owner limit."""

    max_active: int = DEFAULT_MAX_ACTIVE
    max_queue: int = DEFAULT_MAX_QUEUE

    def __post_init__(self) -> None:
        if self.max_active < 1 or self.max_queue < 1:
            raise ValueError(f"max_active and max_queue must be at least 1, got {self.max_active}, {self.max_queue}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> AdmissionPolicy:
        """``STYLE_LENS_MAX_ACTIVE`` and ``STYLE_LENS_MAX_QUEUE``; ``ConfigError`` naming a bad variable."""
        return cls(
            _env_int(environ, "STYLE_LENS_MAX_ACTIVE", DEFAULT_MAX_ACTIVE, 1),
            _env_int(environ, "STYLE_LENS_MAX_QUEUE", DEFAULT_MAX_QUEUE, 1),
        )

    def check(self, owner: str | None, owner_active: int, waiting: int, backlog_s: Callable[[], float]) -> None:
        """Raise ``TooManyRunsError`` when ``owner`` has ``max_active`` runs queued or running already,
        ``QueueFullError`` when ``max_queue`` runs are waiting; ``backlog_s()`` (the estimated seconds of
        work ahead, asked only then) goes into the latter's message."""
        if owner is not None and owner_active >= self.max_active:
            raise TooManyRunsError(owner_active, self.max_active)
        if waiting >= self.max_queue:
            raise QueueFullError(self.max_queue, backlog_s())


@dataclass(frozen=True)
class HostedLimits:
    """The largest ``size`` (px) and ``steps`` the app offers on this server."""

    max_size: int
    max_steps: int


def hosted_limits(environ: Mapping[str, str] = os.environ, gpu: bool | None = None) -> HostedLimits:
    """``STYLE_LENS_MAX_SIZE`` / ``STYLE_LENS_MAX_STEPS``, else 384 px / 300 steps without a GPU and the
    config's bounds with one (``gpu`` None: whether CUDA is available)."""
    if gpu is None:
        gpu = torch.cuda.is_available()
    size, steps = (MAX_SIZE, MAX_STEPS) if gpu else (CPU_MAX_SIZE, CPU_MAX_STEPS)
    return HostedLimits(
        _env_int(environ, "STYLE_LENS_MAX_SIZE", size, MIN_SIZE, MAX_SIZE),
        _env_int(environ, "STYLE_LENS_MAX_STEPS", steps, 1, MAX_STEPS),
    )


def batch_runs_from_env(device_type: str, environ: Mapping[str, str] = os.environ) -> int:
    """The most queued runs that one worker evaluates as one batch on a ``device_type`` ("cpu", "cuda")
    device: ``STYLE_LENS_BATCH_RUNS`` (1 to 64, for every device) if set, else ``DEFAULT_BATCH_RUNS``
    (1, no batching, on the CPU; 4 on a GPU). ``ConfigError`` names the variable when its value is bad."""
    default = DEFAULT_BATCH_RUNS.get(device_type, 1)
    return _env_int(environ, BATCH_RUNS_ENV, default, 1, MAX_BATCH_RUNS)
