"""Time and peak memory of a run before it starts, from the work its layers imply and measured constants.

Time: a step costs ``seconds_per_gflop * gflop + seconds_overhead``, where gflop counts the truncated
VGG19's convolutions forward and backward (input gradients only: the weights are frozen) and the Gram
matrices of the style layers forward and backward. Setup adds one forward pass per content and style
image. Weights loading is not included.

Memory: the trunk's parameters, every layer output up to the deepest layer (what autograd keeps for
the backward pass, plus its temporaries), pool indices, the optimiser's state (L-BFGS keeps
``LBFGS_HISTORY`` pairs of image-sized vectors) and the Gram targets.

The constants are a prior: every finished run reports its measured time (``record_pace``, called by the
engine), and later estimates for the same device and precision are scaled by how far off the earlier ones
were (``pace_factor``). That follows what the table cannot know: another CPU (the bfloat16 and
channels-last rows are derived from another machine's ratios), the machine's load, runs sharing a GPU.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, replace
from typing import Final

import torch

from ..extractor import resolve_device
from ..layers import LAYER_CHANNELS, LAYER_INDEX, LAYER_NAMES, layer_shape
from .config import MIN_SIZE, RunConfig
from .precision import Precision, choose_precision

LBFGS_HISTORY: Final = 100
"""History pairs kept by L-BFGS (torch's default, as in the PyTorch tutorial and jcjohnson/neural-style)."""

BYTES_FLOAT32: Final = 4

MEMORY_HEADROOM: Final = 0.8
"""The share of the free memory that estimated peaks may fill: the estimate does not see allocator
fragmentation, nor the growth of the runs already on the device."""


@dataclass(frozen=True)
class Calibration:
    """``seconds_per_gflop`` and ``seconds_overhead`` per step; on CPU, measured with ``threads`` torch
    threads and scaled linearly to the threads a run has (optimistic beyond a few cores)."""

    seconds_per_gflop: float
    seconds_overhead: float
    activation_factor: float
    threads: int
    measured: bool
    note: str


# Keyed by (device type, precision string). CPU float32: measured on 2 cores of an AMD EPYC (Milan, AVX2)
# with `python bench/optimize.py --calibrate` (the fastest step of each size, 64-256 px, 70-110 GFLOP/s).
# CPU float32 channels-last (L-BFGS's precision on CPUs with native bf16): measured the same way on 2 cores
# of an AMD EPYC with AVX512-BF16, quiet machine (64-256 px, 0.049-0.38 s a step). The bf16 row is not
# measured on this project's machines: it applies the ratio measured on a Xeon with AMX (bf16 0.41x float32);
# CUDA assumes ~25 TFLOP/s effective in bf16 and ~8 TFLOP/s in float32/TF32. Re-calibrate there.
CALIBRATION: Final[dict[tuple[str, str], Calibration]] = {
    ("cpu", "float32"): Calibration(0.00883, 0.027, 1.0, 2, True, "measured: AMD EPYC, 2 cores, AVX2, float32"),
    ("cpu", "float32, channels-last"): Calibration(
        0.005209, 0.0326, 1.0, 2, True, "measured: AMD EPYC, 2 cores, AVX512-BF16, float32 channels-last"
    ),
    ("cpu", "bfloat16 autocast, channels-last"): Calibration(
        0.00883 * 0.41, 0.027, 0.6, 2, False, "derived: the float32 CPU figure x 0.41 (measured on a Xeon with AMX)"
    ),
    ("cuda", "bfloat16 autocast, channels-last"): Calibration(
        4e-5, 0.004, 0.6, 0, False, "assumed: ~25 TFLOP/s effective"
    ),
    ("cuda", "float32, channels-last"): Calibration(1.25e-4, 0.004, 1.0, 0, False, "assumed: ~8 TFLOP/s effective"),
}
_FALLBACK: Final = CALIBRATION[("cpu", "float32")]

PACE_WEIGHT: Final = 0.5
"""Weight of the newest run in the measured pace (an exponential average): the machine's load changes."""
PACE_BOUNDS: Final = (0.1, 50.0)
"""The measured ÷ estimated ratio kept within these, so one odd run (a throttled test run) cannot swamp it."""
PACE_MIN_ESTIMATE_S: Final = 1.0
"""Runs estimated under this are mostly fixed costs (first calls, set-up): they teach nothing about the pace."""
_pace: dict[tuple[str, str], float] = {}
_pace_lock = threading.Lock()


def record_pace(device: str, precision: str, estimated_s: float, measured_s: float) -> None:
    """A run estimated at ``estimated_s`` took ``measured_s`` on ``device`` ("cpu", "cuda:0"...) in
    ``precision``: later estimates for them follow (thread-safe; per process)."""
    if estimated_s < PACE_MIN_ESTIMATE_S or measured_s <= 0:
        return
    low, high = PACE_BOUNDS
    ratio = min(high, max(low, measured_s / estimated_s))
    key = (device.split(":")[0], precision)
    with _pace_lock:
        previous = _pace.get(key)
        _pace[key] = ratio if previous is None else (1 - PACE_WEIGHT) * previous + PACE_WEIGHT * ratio


def pace_factor(device: str, precision: str) -> float | None:
    """Measured ÷ estimated time of this process's recent runs on ``device`` in ``precision``; None before any."""
    with _pace_lock:
        return _pace.get((device.split(":")[0], str(precision)))


def forget_pace() -> None:
    """Back to the table's constants alone (tests)."""
    with _pace_lock:
        _pace.clear()


@dataclass(frozen=True)
class RunEstimate:
    """``seconds`` for the whole run (setup + steps), ``peak_bytes`` of tensor memory on ``device``."""

    seconds: float
    peak_bytes: int
    device: str
    seconds_per_step: float
    setup_seconds: float
    precision: str
    calibrated: bool
    note: str


@dataclass(frozen=True)
class Work:
    """What one step of a run implies: floating-point work and the bytes the estimate adds up."""

    step_gflop: float
    forward_gflop: float
    activation_bytes: int
    parameter_bytes: int
    gram_bytes: int
    image_numel: int


def estimate_work(config: RunConfig, height: int, width: int) -> Work:
    layers = [*config.style_layers, config.content_layer, *config.resolved().snapshot_layers]
    deepest = max(LAYER_INDEX[layer] for layer in layers)
    conv_flop = activations = parameters = 0.0
    pool_indices = 0.0
    in_channels = 3
    for name in LAYER_NAMES[: deepest + 1]:
        n_C, n_H, n_W = layer_shape(name, height, width)
        activations += n_C * n_H * n_W
        if name.startswith("conv"):
            conv_flop += 2 * 9 * in_channels * n_C * n_H * n_W
            parameters += 9 * in_channels * n_C + n_C
            in_channels = n_C
        elif name.startswith("pool"):
            pool_indices += n_C * n_H * n_W
    gram_flop = 0.0
    gram_bytes = 0
    for layer in config.style_layers:
        n_C, n_H, n_W = layer_shape(layer, height, width)
        gram_flop += 2 * 2 * n_C * n_C * n_H * n_W  # G forward, then its gradient: one product (activation_style_cost)
    for layer in set(config.style_layers) | set(config.resolved().snapshot_layers):
        gram_bytes += 2 * LAYER_CHANNELS[layer] ** 2 * BYTES_FLOAT32  # G_S target and the step's G_G
    return Work(
        step_gflop=(2 * conv_flop + gram_flop) / 1e9,
        forward_gflop=conv_flop / 1e9,
        activation_bytes=int(activations * BYTES_FLOAT32 + pool_indices * 8),
        parameter_bytes=int(parameters * BYTES_FLOAT32),
        gram_bytes=gram_bytes,
        image_numel=3 * height * width,
    )


def estimate_run(
    config: RunConfig,
    height: int | None = None,
    width: int | None = None,
    precision: Precision | None = None,
    *,
    measured_pace: bool = True,
) -> RunEstimate:
    """Estimate ``config``'s run at ``height`` x ``width``: by default the content's own shape when it is
    given as pixels (a tensor), else a square (the worst case for its longest side). ``config`` is validated
    first. ``seconds_per_step`` and ``setup_seconds`` are those of the last (full-size) scale; ``seconds``
    adds up every scale. The times follow the pace measured on this process's finished runs unless
    ``measured_pace`` is False."""
    config.validate()
    given = (height, width) if height and width else None
    height, width = given or _shape(config, config.size)
    device = resolve_device(config.device)
    precision = precision or choose_precision(device, config.optimizer, config.size)
    calibration = CALIBRATION.get((device.type, str(precision)), _FALLBACK)
    work = estimate_work(config, height, width)
    per_gflop = calibration.seconds_per_gflop
    if device.type == "cpu":
        per_gflop *= calibration.threads / torch.get_num_threads()
    overhead = calibration.seconds_overhead
    pace = pace_factor(device.type, str(precision)) if measured_pace else None
    if pace is not None:
        per_gflop, overhead = per_gflop * pace, overhead * pace
    per_step = per_gflop * work.step_gflop + overhead
    setup = (1 + len(config.resolved().style)) * (per_gflop * work.forward_gflop + overhead)
    # Coarse-to-fine: each scale sets up its targets and runs its share of the steps at its own size.
    seconds = 0.0
    for scale, steps in zip(config.scales, config.scale_steps, strict=True):
        ratio = scale / config.size
        shape = (max(1, round(height * ratio)), max(1, round(width * ratio))) if given else _shape(config, scale)
        at = estimate_work(config, *shape)
        seconds += (1 + len(config.resolved().style)) * (per_gflop * at.forward_gflop + overhead)
        seconds += steps * (per_gflop * at.step_gflop + overhead)
    # The weights as the step's precision stores them (``VGGExtractor.stored_as``), beside the float32 ones.
    stored = 0 if precision.autocast is None and not precision.channels_last else work.parameter_bytes
    if precision.autocast is not None:
        stored = stored * torch.finfo(precision.autocast).bits // 32
    peak = (
        work.parameter_bytes
        + stored
        + calibration.activation_factor * 2 * work.activation_bytes  # outputs kept for backward + gradients
        + (2 * LBFGS_HISTORY + 4 if config.optimizer == "lbfgs" else 3) * work.image_numel * BYTES_FLOAT32  # optimiser
        + work.gram_bytes
        + 4 * work.image_numel * BYTES_FLOAT32  # image, its gradient, content and a clamped copy
    )
    return RunEstimate(
        seconds=seconds,
        peak_bytes=int(peak),
        device=device.type,
        seconds_per_step=per_step,
        setup_seconds=setup,
        precision=str(precision),
        calibrated=calibration.measured or pace is not None,
        note=calibration.note if pace is None else f"{calibration.note}; x{pace:.2f} as measured on this server's runs",
    )


def _shape(config: RunConfig, side: int) -> tuple[int, int]:
    """The generated image's shape at ``side``: a tensor content's, capped at ``side`` as the engine caps it
    (never enlarged); a square for a file or an example, whose shape is not known without reading it."""
    if not isinstance(config.content, torch.Tensor):
        return side, side
    height, width = config.content.shape[-2:]
    scale = min(1.0, side / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def suggest_size(config: RunConfig, free_bytes: int, height: int | None = None, width: int | None = None) -> int | None:
    """The largest size (a multiple of 32, below ``config.size``) whose estimated peak fits in ``free_bytes``."""
    aspect_h, aspect_w = (height or config.size) / config.size, (width or config.size) / config.size
    for size in range((config.size - 1) // 32 * 32, MIN_SIZE - 1, -32):
        candidate = replace(config, size=size)
        h, w = max(1, round(size * aspect_h)), max(1, round(size * aspect_w))
        try:
            peak = estimate_run(candidate, h, w).peak_bytes
        except ValueError:  # ConfigError: the layers have no positions left at this size
            return None
        if peak <= free_bytes:
            return size
    return None


def usable_memory_bytes(device: torch.device) -> int:
    """The bytes that runs estimated by ``estimate_run`` may take on ``device`` now: ``MEMORY_HEADROOM`` of
    the GPU's free memory, or of the machine's free memory for a CPU device."""
    if device.type == "cuda":
        free = torch.cuda.mem_get_info(device)[0]
    else:
        free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return int(free * MEMORY_HEADROOM)
