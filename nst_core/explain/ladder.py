"""What each layer's Gram matrix keeps (Gatys et al. 2016, Fig. 1): the style synthesised from noise with
the style term only, matching relu1_1 alone, then relu1_1 and relu2_1, ... up to relu1_1 ... relu5_1.

Each rung is an ordinary run (``RunConfig`` with alpha = 0, starting from noise), submitted to an
``Executor`` like any other run. The rungs go one at a time, and only when someone asks (``advance``,
which a page calls while it polls): on a shared server a ladder then costs its visitor one run at a time,
under the same fair-queue rules as the Run page.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from ..images import to_pil
from ..layers import DEFAULT_STYLE_LAYERS
from ..optim import RunConfig, RunResult
from ..optim.config import ImageInput
from ..serve import Executor, Job, JobStatus

LADDER_LAYERS: Final[tuple[str, ...]] = tuple(DEFAULT_STYLE_LAYERS)
LADDER_SIZE: Final = 128
LADDER_STEPS: Final = 80
"""L-BFGS evaluations per rung: at 128 px the texture has settled by then (random and ImageNet weights)."""


def ladder_configs(
    style: ImageInput,
    weights: str = "imagenet",
    device: str = "auto",
    size: int = LADDER_SIZE,
    steps: int = LADDER_STEPS,
    seed: int = 0,
) -> list[RunConfig]:
    """One style-only run per rung: rung n matches the Gram matrices of the first n of ``LADDER_LAYERS``
    (equal weights λ = 1/n), from the same noise (``seed``), at ``size`` px."""
    return [
        RunConfig(
            content=style,  # sets the canvas' shape only: alpha = 0 leaves the content term out
            style=style,
            size=size,
            style_layers=dict.fromkeys(LADDER_LAYERS[:n], 1.0 / n),
            alpha=0.0,
            beta=1.0,
            init="noise",
            steps=steps,
            seed=seed,
            device=device,
            weights=weights,
            snapshot_every=0,
            # From noise with the style term only, spectral coordinates let L-BFGS drive whole regions to
            # black (measured at 128 px, random weights); on the pixels the texture fills the canvas.
            parameterization="pixels",
        )
        for n in range(1, len(LADDER_LAYERS) + 1)
    ]


@dataclass(frozen=True)
class Rung:
    """One rung as a page shows it. ``status``: "waiting" before it is submitted, else its job's status.
    ``image``: (H, W, 3) uint8, the latest preview or the result. ``start_cost`` / ``cost``: J_style over
    the rung's own layers at the first and at the latest step."""

    layers: tuple[str, ...]
    status: str
    step: int
    steps: int
    image: np.ndarray | None
    start_cost: float | None
    cost: float | None
    error: str | None = None


class LayerLadder:
    """The rungs of one style image and weights, run one after another. Thread-safe: every visitor
    looking at the same style can share one ladder."""

    def __init__(self, configs: Sequence[RunConfig]) -> None:
        if not configs:
            raise ValueError("a ladder needs at least one rung")
        self.configs = list(configs)
        self._jobs: list[Job | None] = [None] * len(self.configs)
        self._lock = threading.Lock()

    def advance(self, executor: Executor, owner: str | None = None) -> bool:
        """Submit the next rung for ``owner`` unless one is queued or running; True when one was submitted.

        A rung that was cancelled (its visitor left) is submitted again; one that failed stays failed.
        Raises the executor's ``AdmissionError`` when the fair queue refuses: call again later.
        """
        with self._lock:
            if any(job is not None and not job.status.finished for job in self._jobs):
                return False
            for index, job in enumerate(self._jobs):
                if job is None or job.status is JobStatus.CANCELLED:
                    self._jobs[index] = executor.submit(self.configs[index], owner=owner)
                    return True
            return False

    @property
    def finished(self) -> bool:
        """Every rung done or failed."""
        with self._lock:
            return all(job is not None and job.status in (JobStatus.DONE, JobStatus.FAILED) for job in self._jobs)

    def cancel(self) -> None:
        with self._lock:
            jobs = [job for job in self._jobs if job is not None]
        for job in jobs:
            job.cancel()

    def results(self) -> list[RunResult | None]:
        """Each rung's result, None while it is not done."""
        with self._lock:
            jobs = list(self._jobs)
        return [job.result() if job is not None and job.status is JobStatus.DONE else None for job in jobs]

    def rungs(self) -> list[Rung]:
        with self._lock:
            jobs = list(self._jobs)
        return [_rung(config, job) for config, job in zip(self.configs, jobs, strict=True)]


def _rung(config: RunConfig, job: Job | None) -> Rung:
    layers = tuple(config.style_layers)
    if job is None:
        return Rung(layers, "waiting", 0, config.steps, None, None, None)
    snapshot = job.state()
    image = np.asarray(to_pil(job.result().image)) if snapshot.status is JobStatus.DONE else snapshot.preview
    costs = (snapshot.history[0].J_style, snapshot.history[-1].J_style) if snapshot.history else (None, None)
    return Rung(layers, str(snapshot.status), snapshot.step, snapshot.steps, image, *costs, snapshot.error)
