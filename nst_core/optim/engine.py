"""``run(config)``: optimise the generated image G for J(G), step by step, synchronously."""

from __future__ import annotations

import gc
import math
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor

from .. import colors
from ..errors import ConfigError, NonFiniteLossError, OutOfMemoryError, RunCancelled
from ..extractor import VGGExtractor, load_extractor, resolve_device
from ..layers import layer_shape
from .canvas import Canvas
from .config import RunConfig
from .estimate import LBFGS_HISTORY, estimate_run, record_pace, suggest_size, usable_memory_bytes
from .objective import Evaluate, Evaluation, Objective, RunImages
from .precision import Precision, choose_precision
from .result import RunProgress, RunResult, Snapshot, StepRecord
from .sources import load_input

if TYPE_CHECKING:
    from .batched import BatchSeat

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
    evaluator: BatchSeat | None = None,
) -> RunResult:
    """Run ``config`` to its last step and return the result.

    ``on_progress(RunProgress)`` is called after every step. ``cancel`` (a ``threading.Event`` or a
    callable returning True to stop) is checked before every evaluation of J, L-BFGS line-search
    evaluations included: the run raises ``RunCancelled`` within one step. ``extractor`` (its device is
    the run's) saves loading the weights; ``precision`` overrides ``choose_precision`` (for benchmarks).
    ``evaluator``, a seat at a ``BatchedEvaluator`` (``nst_core.optim.batched``), evaluates J in one network
    pass with the other runs seated there; the run gives the seat up when it returns or raises.
    Raises ``ConfigError``, ``WeightsError``, ``NonFiniteLossError`` or ``OutOfMemoryError``.
    """
    with evaluator if evaluator is not None else nullcontext():
        evaluate = Objective.evaluate_backward if evaluator is None else evaluator.evaluate
        return _run(config, on_progress, cancel, extractor, precision, evaluate)


def _run(
    config: RunConfig,
    on_progress: ProgressCallback | None,
    cancel: CancelToken,
    extractor: VGGExtractor | None,
    precision: Precision | None,
    evaluate: Evaluate,
) -> RunResult:
    config.validate()
    _check_cancel(cancel, 0, config.steps)
    if extractor is None:
        extractor = load_extractor(config.weights, resolve_device(config.device))
    device = extractor.device
    try:
        precision = precision or choose_precision(device, config.optimizer, config.size)
        with torch.enable_grad():
            return _optimise(config, extractor, precision, on_progress, cancel, evaluate)
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
    evaluate: Evaluate,
) -> RunResult:
    started = time.perf_counter()
    final_shape = load_input("content", config.content, config.size).shape[-2:]
    steps = _Steps(config, on_progress, cancel, started, final_shape, evaluate)
    image: Tensor | None = None
    for scale, budget in zip(config.scales, config.scale_steps, strict=True):
        images, content = scale_images(config, scale)
        objective = Objective(extractor, precision, config, images)
        canvas = Canvas(config, content.to(extractor.device))
        initial = canvas.initial(config)
        objective.normalise(canvas.seen(initial))
        variable = canvas.encode(initial if image is None else canvas.upsampled(image))
        steps.run_scale(objective, canvas, variable.requires_grad_(True), budget, scale)
        image = canvas.decode(variable.detach())
    assert steps.final is not None and steps.objective is not None
    seconds = time.perf_counter() - started
    height, width = final_shape
    estimated = estimate_run(config, height, width, precision, measured_pace=False).seconds
    record_pace(str(extractor.device), str(precision), estimated, seconds)
    return RunResult(
        image=steps.final,
        history=steps.history,
        snapshots=steps.snapshots,
        style_grams={layer: g.detach().to("cpu", torch.float32) for layer, g in steps.objective.style_grams.items()},
        config=config,
        weights_source=extractor.weights_source,
        device=str(extractor.device),
        loss_scaling=steps.objective.loss_scaling,
        precision=str(precision),
        seconds=seconds,
    )


def scale_images(config: RunConfig, scale: int) -> tuple[RunImages, Tensor]:
    """The images the objective sees at ``scale`` (colour-matched or luminance-only as configured), and the content."""
    size_field = "size" if scale == config.size else "start_size"
    content = load_input("content", config.content, scale, size_field)
    styles = [load_input("style", source, scale, size_field) for source in config.resolved().style]
    for image in (content, *styles):
        _check_positions(config, image, size_field)
    masks = None
    if config.regions is not None:
        masks = [
            F.interpolate(
                load_input("regions", mask, scale, size_field).mean(dim=1, keepdim=True),
                size=tuple(content.shape[-2:]),
                mode="bilinear",
                antialias=True,
                align_corners=False,
            ).clamp(0.0, 1.0)
            for mask in config.regions
        ]
    if config.preserve_colors == "match":
        styles = [colors.match_colors(style, content) for style in styles]
    if config.preserve_colors == "luminance":
        y = colors.luminance(content)
        grey = [colors.grey(colors.match_luminance(colors.luminance(style), y)) for style in styles]
        return RunImages(colors.grey(y), grey, masks), content
    return RunImages(content, styles, masks), content


class _Steps:
    """The evaluation closure shared by both optimisers: one call is one step, counted across scales.
    ``evaluate`` computes J and ∇J (alone, or in a batch with other runs)."""

    def __init__(
        self,
        config: RunConfig,
        on_progress: ProgressCallback | None,
        cancel: CancelToken,
        started: float,
        final_shape: torch.Size,
        evaluate: Evaluate,
    ) -> None:
        self.config = config
        self.evaluate_image = evaluate
        self.steps = config.steps
        self.every = config.snapshot_every
        self.recorded = config.resolved().snapshot_layers
        self.on_progress = on_progress
        self.cancel = cancel
        self.started = started
        self.final_shape = tuple(final_shape)
        self.objective: Objective | None = None
        self.canvas: Canvas | None = None
        self.variable: Tensor | None = None
        self.optimizer: torch.optim.Optimizer | None = None
        self.scale = config.size
        self.scale_end = 0
        self.step = 0
        self.history: list[StepRecord] = []
        self.snapshots: list[Snapshot] = []
        self.final: Tensor | None = None

    def run_scale(self, objective: Objective, canvas: Canvas, variable: Tensor, budget: int, scale: int) -> None:
        """``budget`` steps at one scale, with a fresh optimiser (the variable's shape changed)."""
        self.objective, self.canvas, self.variable, self.scale = objective, canvas, variable, scale
        self.scale_end = self.step + budget
        if self.step == 0 and self.every > 0:
            self._record_start()
        lr = self.config.resolved().lr
        if self.config.optimizer == "adam":
            self.optimizer = torch.optim.Adam([variable], lr=lr)
            while self.step < self.scale_end:
                self.evaluate()
                if self.step < self.steps:
                    self.optimizer.step()
            return
        self.optimizer = torch.optim.LBFGS(
            [variable], lr=lr, max_iter=budget, history_size=LBFGS_HISTORY, line_search_fn="strong_wolfe"
        )
        try:
            while self.step < self.scale_end:  # L-BFGS may stop early on its tolerances: go on to the budget
                self.optimizer.step(self.evaluate)
        except _BudgetSpent:
            pass

    def evaluate(self) -> Tensor:
        if self.step >= self.scale_end:
            raise _BudgetSpent
        _check_cancel(self.cancel, self.step, self.steps)
        step = self.step + 1
        assert self.optimizer is not None and self.objective is not None and self.canvas is not None
        assert self.variable is not None
        self.optimizer.zero_grad(set_to_none=True)
        snapshot_now = self.every > 0 and step % self.every == 0
        evaluated = self.canvas.evaluated(self.variable)
        evaluation = self.evaluate_image(self.objective, evaluated, self.recorded if snapshot_now else ())
        _check_finite(evaluation, step, self.config.optimizer)
        self.step = step
        record = StepRecord(
            step=step,
            J=evaluation.J,
            J_content=evaluation.J_content,
            J_style=evaluation.J_style,
            J_style_layers=evaluation.J_style_layers,
            elapsed_s=time.perf_counter() - self.started,
            objective=evaluation.value,
            J_tv=evaluation.J_tv,
            loss_layers=evaluation.loss_layers,
            scale=self.scale,
        )
        self.history.append(record)
        shown = self.canvas.shown(evaluated.detach())
        snapshot = None
        if snapshot_now:
            snapshot = Snapshot(step, self._at_final_size(shown).to("cpu", copy=True), evaluation.grams)
            self.snapshots.append(snapshot)
        if step == self.steps:
            self.final = shown.to("cpu", copy=True)
        if self.on_progress is not None:
            self.on_progress(RunProgress(step, self.steps, record, shown, snapshot))
        return evaluation.objective.detach()

    def _record_start(self) -> None:
        """Snapshot 0: the starting image and its Gram matrices, so a step slider can begin where the run did.
        Step 1 evaluates this same image, so its record holds step 0's costs (and the loss scales set here
        are the ones step 1 would set)."""
        assert self.objective is not None and self.canvas is not None and self.variable is not None
        with torch.no_grad():
            evaluated = self.canvas.evaluated(self.variable)
            grams = self.objective.evaluate(evaluated, self.recorded).grams
            shown = self._at_final_size(self.canvas.shown(evaluated))
        self.snapshots.append(Snapshot(0, shown.to("cpu", copy=True), grams))

    def _at_final_size(self, image: Tensor) -> Tensor:
        if tuple(image.shape[-2:]) == self.final_shape:
            return image
        return F.interpolate(image, size=self.final_shape, mode="bilinear", align_corners=False).clamp(0.0, 1.0)


def _check_positions(config: RunConfig, image: Tensor, field: str) -> None:
    height, width = image.shape[-2:]
    for layer in [*config.style_layers, config.content_layer, *config.resolved().snapshot_layers]:
        if 0 in layer_shape(layer, height, width)[1:]:
            raise ConfigError(
                field,
                f"an image of {width}x{height} px leaves no positions at layer {layer}; "
                f"use a larger {field}, a less elongated image or shallower layers",
            )


def _check_cancel(cancel: CancelToken, step: int, steps: int) -> None:
    if cancel is None:
        return
    if cancel.is_set() if isinstance(cancel, threading.Event) else cancel():
        raise RunCancelled(f"The run was cancelled after step {step} of {steps}.")


def _check_finite(evaluation: Evaluation, step: int, optimizer: str) -> None:
    # The most specific term first: it says where the overflow began.
    bad = {name: value for name, value in evaluation.named_values().items() if not math.isfinite(value)}
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
    size = suggest_size(config, usable_memory_bytes(device))
    where = f"{device.type.upper()} memory" if device.type == "cuda" else "memory"
    advice = f"Try size {size} or less" if size is not None else "Free memory or use a smaller size"
    if config.optimizer == "lbfgs":
        advice += "; the 'adam' optimizer also needs less memory than 'lbfgs'"
    return OutOfMemoryError(
        f"The run at {config.size} px ran out of {where}; what it held has been freed.",
        f"{advice}.",
        suggested_size=size,
    )
