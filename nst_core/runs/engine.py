"""``run(config)``: optimise the generated image G for J(G), step by step, synchronously."""

from __future__ import annotations

import gc
import math
import os
import threading
import time
from collections.abc import Callable

import torch
from torch import Tensor

from ..errors import ConfigError, NonFiniteLossError, OutOfMemoryError, RunCancelled
from ..extractor import VGGExtractor, load_extractor, resolve_device
from ..layers import layer_shape
from .config import RunConfig
from .estimate import LBFGS_HISTORY, suggest_size
from .objective import Evaluation, Objective
from .precision import Precision, choose_precision
from .result import RunProgress, RunResult, Snapshot, StepRecord
from .sources import load_input

CancelToken = threading.Event | Callable[[], bool] | None
ProgressCallback = Callable[[RunProgress], None]

NON_FINITE_HINTS = {
    "adam": "Try a smaller learning rate (lr), smaller alpha or beta, or optimizer 'lbfgs', whose line search "
    "keeps its steps safe.",
    "lbfgs": "Try smaller alpha or beta, a smaller learning rate (lr), or optimizer 'adam' with its default lr.",
}


class _BudgetSpent(Exception):
    """L-BFGS asked for one evaluation more than the run's steps."""


def run(
    config: RunConfig,
    on_progress: ProgressCallback | None = None,
    cancel: CancelToken = None,
    *,
    extractor: VGGExtractor | None = None,
    precision: Precision | None = None,
) -> RunResult:
    """Run ``config`` to its last step and return the result.

    ``on_progress(RunProgress)`` is called after every step. ``cancel`` (a ``threading.Event`` or a
    callable returning True to stop) is checked before every evaluation of J, L-BFGS line-search
    evaluations included: the run raises ``RunCancelled`` within one step. ``extractor`` (its device is
    the run's) saves loading the weights; ``precision`` overrides ``choose_precision`` (for benchmarks).
    Raises ``ConfigError``, ``WeightsError``, ``NonFiniteLossError`` or ``OutOfMemoryError``.
    """
    config.validate()
    _check_cancel(cancel, 0, config.steps)
    if extractor is None:
        extractor = load_extractor(config.weights, resolve_device(config.device))
    device = extractor.device
    try:
        with torch.enable_grad():
            return _optimise(
                config, extractor, precision or choose_precision(device, config.optimizer), on_progress, cancel
            )
    except torch.OutOfMemoryError:
        pass
    except RuntimeError as exc:
        if not _is_cpu_out_of_memory(exc):
            raise
    # Only reached when memory ran out. Raising here, after the except block, lets the failed run's
    # frames (and every tensor they held) go before the memory left is measured.
    raise _out_of_memory(config, device)


def _optimise(
    config: RunConfig,
    extractor: VGGExtractor,
    precision: Precision,
    on_progress: ProgressCallback | None,
    cancel: CancelToken,
) -> RunResult:
    started = time.perf_counter()
    content = load_input("content", config.content, config.size)
    styles = [load_input("style", source, config.size) for source in config.styles]
    for image in (content, *styles):
        _check_positions(config, image)
    objective = Objective(
        extractor,
        content,
        styles,
        config.blend,
        dict(config.style_layers),
        config.content_layer,
        config.alpha,
        config.beta,
        config.recorded_layers,
        precision,
    )
    image = _initial_image(config, content).to(extractor.device).requires_grad_(True)
    steps = _Steps(config, objective, image, on_progress, cancel, started)
    if config.optimizer == "adam":
        steps.optimizer = torch.optim.Adam([image], lr=config.learning_rate)
        for _ in range(config.steps):
            steps.evaluate()
            if steps.step < config.steps:
                steps.optimizer.step()
    else:
        steps.optimizer = torch.optim.LBFGS(
            [image],
            lr=config.learning_rate,
            max_iter=config.steps,
            history_size=LBFGS_HISTORY,
            line_search_fn="strong_wolfe",
        )
        try:
            while steps.step < config.steps:  # L-BFGS may stop early on its tolerances: go on to the budget
                steps.optimizer.step(steps.evaluate)
        except _BudgetSpent:
            pass
    assert steps.final is not None
    return RunResult(
        image=steps.final,
        history=steps.history,
        snapshots=steps.snapshots,
        style_grams={layer: g.detach().to("cpu", torch.float32) for layer, g in objective.style_targets.items()},
        config=config,
        weights_source=extractor.weights_source,
        device=str(extractor.device),
        loss_scaling=objective.loss_scaling,
        precision=str(precision),
        seconds=time.perf_counter() - started,
    )


class _Steps:
    """The evaluation closure shared by both optimisers: one call is one step."""

    def __init__(
        self,
        config: RunConfig,
        objective: Objective,
        image: Tensor,
        on_progress: ProgressCallback | None,
        cancel: CancelToken,
        started: float,
    ) -> None:
        self.objective = objective
        self.image = image
        self.steps = config.steps
        self.optimizer_name = config.optimizer
        self.every = config.snapshot_every
        self.recorded = config.recorded_layers
        self.on_progress = on_progress
        self.cancel = cancel
        self.started = started
        self.optimizer: torch.optim.Optimizer | None = None
        self.step = 0
        self.history: list[StepRecord] = []
        self.snapshots: list[Snapshot] = []
        self.final: Tensor | None = None

    def evaluate(self) -> Tensor:
        if self.step >= self.steps:
            raise _BudgetSpent
        _check_cancel(self.cancel, self.step, self.steps)
        step = self.step + 1
        assert self.optimizer is not None
        self.optimizer.zero_grad(set_to_none=True)
        snapshot_now = self.every > 0 and step % self.every == 0
        # J is evaluated on the clamped image, a valid one, through a differentiable clamp: clamping the
        # variable in place (as the tutorial does) moves it behind L-BFGS's back and stalls it.
        shown = self.image.clamp(0.0, 1.0)
        evaluation = self.objective.evaluate(shown, self.recorded if snapshot_now else ())
        _check_finite(evaluation, step, self.optimizer_name)
        evaluation.objective.backward()
        self.step = step
        record = StepRecord(
            step=step,
            J=evaluation.J,
            J_content=evaluation.J_content,
            J_style=evaluation.J_style,
            J_style_layers=evaluation.J_style_layers,
            elapsed_s=time.perf_counter() - self.started,
            objective=evaluation.value,
        )
        self.history.append(record)
        snapshot = None
        if snapshot_now:
            snapshot = Snapshot(step, shown.detach().to("cpu", copy=True), evaluation.grams)
            self.snapshots.append(snapshot)
        if step == self.steps:
            self.final = shown.detach().to("cpu", copy=True)
        if self.on_progress is not None:
            self.on_progress(RunProgress(step, self.steps, record, shown.detach(), snapshot))
        return evaluation.objective.detach()


def _initial_image(config: RunConfig, content: Tensor) -> Tensor:
    if config.init == "noise":
        return torch.rand(content.shape, generator=torch.Generator().manual_seed(config.seed))
    return content.clone()


def _check_positions(config: RunConfig, image: Tensor) -> None:
    height, width = image.shape[-2:]
    for layer in [*config.style_layers, config.content_layer, *config.recorded_layers]:
        if 0 in layer_shape(layer, height, width)[1:]:
            raise ConfigError(
                "size",
                f"an image of {width}x{height} px leaves no positions at layer {layer}; "
                "use a larger size, a less elongated image or shallower layers",
            )


def _check_cancel(cancel: CancelToken, step: int, steps: int) -> None:
    if cancel is None:
        return
    if cancel.is_set() if isinstance(cancel, threading.Event) else cancel():
        raise RunCancelled(f"The run was cancelled after step {step} of {steps}.")


def _check_finite(evaluation: Evaluation, step: int, optimizer: str) -> None:
    # The most specific term first: it says where the overflow began.
    terms = {f"J_style^[{layer}]": value for layer, value in evaluation.J_style_layers.items()}
    terms.update(
        {
            "J_content": evaluation.J_content,
            "J_style": evaluation.J_style,
            "J": evaluation.J,
            "objective": evaluation.value,
        }
    )
    bad = {name: value for name, value in terms.items() if not math.isfinite(value)}
    if bad:
        name, value = next(iter(bad.items()))
        raise NonFiniteLossError(
            f"The loss stopped being a finite number at step {step}: {name} = {value}.", NON_FINITE_HINTS[optimizer]
        )


def _is_cpu_out_of_memory(exc: RuntimeError) -> bool:
    message = str(exc)
    return "can't allocate memory" in message or "not enough memory" in message


def _out_of_memory(config: RunConfig, device: torch.device) -> OutOfMemoryError:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
        free = torch.cuda.mem_get_info(device)[0]
    else:
        free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    # Leave room for what the estimate does not see (allocator fragmentation, other runs' growth).
    size = suggest_size(config, int(free * 0.8))
    where = f"{device.type.upper()} memory" if device.type == "cuda" else "memory"
    advice = f"Try size {size} or less" if size is not None else "Free memory or use a smaller size"
    if config.optimizer == "lbfgs":
        advice += "; the 'adam' optimizer also needs less memory than 'lbfgs'"
    return OutOfMemoryError(
        f"The run at {config.size} px ran out of {where}; what it held has been freed.",
        f"{advice}.",
        suggested_size=size,
    )
