"""Our optimisation step against the bare network and the classic PyTorch-tutorial algorithm, in one process.

For each size, seconds per evaluation (forward + backward to the image; median over interleaved blocks of
each block's mean, so the snapshots every 10 steps count):

- the bare network: VGG19 forward to relu5_1 and backward to the input, in the precision and memory layout
  a run uses, with the weights stored as a run holds them (``VGGExtractor.stored_as``), nothing else; and the
  same with the weights as loaded (float32, NCHW: under autocast, cast by every convolution);
- the tutorial as written (weight gradients computed), with frozen weights (float32), and the fair
  baseline: frozen weights wrapped in the run's autocast and channels-last (``bench/tutorial_reference.py``);
- ours: a ``run()`` step with the default optimiser (L-BFGS) and with Adam, history, snapshots every 10 steps
  and a progress callback included;

then ours / the bare network and ours / the fair baseline, and the style cost J_style (nst_core's formula,
λ = 0.2 on relu1_1..relu5_1) that the tutorial and ours reach within the same wall-clock budget from the
content image. Same layers, weights, images, sizes.

    python bench/optimize.py                    # 128, 256 and 512 px, ~10 min on 2 cores
    python bench/optimize.py --quick            # 128 px only, shorter budget
    python bench/optimize.py --all-precisions   # also ours in every other precision this device runs
    python bench/optimize.py --threads 1        # one thread: on a busy shared machine, CPU time ~ work
    python bench/optimize.py --calibrate        # fit nst_core.optim.estimate.CALIBRATION for this device
    python bench/optimize.py --bf16-check       # bfloat16 vs float32: J_style^[l] after 100 steps, both optimisers
    python bench/optimize.py --race             # time to the tutorial's per-layer J_style after 300 evaluations
    python bench/optimize.py --tricks --threads 1   # each trick of a step against its plain alternative
    python bench/optimize.py --profile --threads 1  # where a step's time goes beyond the bare network's, by operator

The ratios are measured in one process, interleaved: on a machine shared with other work they stay
meaningful while the absolute seconds do not (the load average is printed).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from itertools import pairwise
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tutorial_reference beside this file

from tutorial_reference import Deadline, build_model, run_style_transfer

from nst_core import (
    DEFAULT_CONTENT_LAYER,
    DEFAULT_STYLE_LAYERS,
    RunCancelled,
    RunConfig,
    gram,
    load_extractor,
    run,
    style_cost,
)
from nst_core.extractor import VGGExtractor, resolve_device
from nst_core.gram import layer_style_cost
from nst_core.layers import LAYER_INDEX
from nst_core.optim import RunProgress
from nst_core.optim.canvas import _has_large_prime_factor, _PocketIrfft2
from nst_core.optim.estimate import estimate_work
from nst_core.optim.precision import (
    BFLOAT16,
    FLOAT32,
    FLOAT32_CHANNELS_LAST,
    Precision,
    choose_precision,
    cpu_has_fast_bf16,
)
from nst_core.optim.sources import load_input

CONTENT, STYLE = "chelsea", "orange_strokes"


def _images(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Content at ``size``, and the style resized to the content's shape: the tutorial needs equal sizes."""
    content = load_input("content", CONTENT, size)
    style = F.interpolate(load_input("style", STYLE, size), size=content.shape[-2:], mode="bicubic", antialias=True)
    return content, style.clamp(0.0, 1.0)


def _config(size: int, steps: int, weights: str, device: torch.device) -> RunConfig:
    content, style = _images(size)
    return RunConfig(
        content=content, style=style, size=size, steps=steps, weights=weights, device=str(device), snapshot_every=0
    )


def _per_step(times: list[float]) -> list[float]:
    return [b - a for a, b in pairwise(times)]


Stamp = tuple[float, float]
"""(wall seconds, this process's CPU seconds) at one evaluation's end."""


def _stamp() -> Stamp:
    return time.perf_counter(), time.process_time()


def _per_evaluation(stamps: list[Stamp]) -> list[Stamp]:
    """Wall and CPU seconds of each evaluation after the first (which allocates and picks kernels)."""
    return [(b[0] - a[0], b[1] - a[1]) for a, b in pairwise(stamps)]


def _ours_block(config: RunConfig, extractor: VGGExtractor, precision: Precision) -> list[Stamp]:
    stamps: list[Stamp] = []
    # What a page's progress callback costs is part of a step: the executor's keeps the latest image.
    run(config, on_progress=lambda _: stamps.append(_stamp()), extractor=extractor, precision=precision)
    return _per_evaluation(stamps)


def _bare_block(
    network: VGGExtractor, precision: Precision, image: torch.Tensor, layer: str, steps: int
) -> list[Stamp]:
    """Forward to ``layer`` and backward to the input, ``steps`` times: the network alone."""
    x = precision.prepare(image).detach().requires_grad_(True)
    stamps: list[Stamp] = []
    for _ in range(steps):
        with precision.context(x.device):
            out = network(x, layer)[layer]
        out.backward(torch.ones_like(out))
        x.grad = None
        stamps.append(_stamp())
    return _per_evaluation(stamps)


def _tutorial_block(
    extractor: VGGExtractor,
    content: torch.Tensor,
    style: torch.Tensor,
    steps: int,
    freeze: bool,
    precision: Precision = FLOAT32,
) -> list[Stamp]:
    model, style_losses, content_losses = build_model(
        extractor.features,
        style,
        content,
        list(DEFAULT_STYLE_LAYERS),
        [DEFAULT_CONTENT_LAYER],
        freeze=freeze,
        channels_last=precision.channels_last,
    )
    stamps: list[Stamp] = []

    def stamp(count: int) -> None:
        stamps.append(_stamp())
        if count >= steps:
            raise Deadline

    # The image stays NCHW (torch's L-BFGS views its gradient flat): a channels-last model makes every
    # convolution run channels-last.
    run_style_transfer(
        model, style_losses, content_losses, content.clone(), steps, on_evaluation=stamp, autocast=precision.autocast
    )
    return _per_evaluation(stamps)


BARE, FAIR = "bare network", "tutorial, fair baseline"


def per_step_seconds(
    size: int, args: argparse.Namespace, extractor: VGGExtractor, device: torch.device
) -> dict[str, Stamp]:
    """Wall and CPU seconds per evaluation by variant: the median over interleaved blocks of each block's mean."""
    content, style = (image.to(device) for image in _images(size))
    config = replace(_config(size, args.steps, args.weights, device), snapshot_every=10)
    policy = choose_precision(device, config.optimizer, size)
    deepest = max([*DEFAULT_STYLE_LAYERS, DEFAULT_CONTENT_LAYER], key=LAYER_INDEX.__getitem__)
    network = extractor.stored_as(policy.autocast, policy.channels_last)
    steps = args.steps
    variants = {
        f"{BARE} ({policy})": lambda: _bare_block(network, policy, content, deepest, steps),
        f"{BARE}, weights as loaded (float32, NCHW)": lambda: _bare_block(extractor, policy, content, deepest, steps),
        "tutorial (as written)": lambda: _tutorial_block(extractor, content, style, steps, freeze=False),
        "tutorial, frozen weights": lambda: _tutorial_block(extractor, content, style, steps, freeze=True),
        f"{FAIR} ({policy})": lambda: _tutorial_block(extractor, content, style, steps, True, policy),
        f"ours ({policy})": lambda: _ours_block(config, extractor, policy),
    }
    adam = replace(config, optimizer="adam")
    adam_policy = choose_precision(device, "adam", size)
    variants[f"ours, Adam ({adam_policy})"] = lambda: _ours_block(adam, extractor, adam_policy)
    if adam_policy != policy:  # Adam's ratio is against the network in its own precision
        adam_network = extractor.stored_as(adam_policy.autocast, adam_policy.channels_last)
        variants[f"{BARE} ({adam_policy})"] = lambda: _bare_block(adam_network, adam_policy, content, deepest, steps)
    if args.all_precisions:
        fast_bf16 = device.type == "cuda" or cpu_has_fast_bf16()
        for other in (FLOAT32, FLOAT32_CHANNELS_LAST, *([BFLOAT16] if fast_bf16 else [])):
            if other != policy:
                variants[f"ours, {other}"] = lambda other=other: _ours_block(config, extractor, other)
    samples: dict[str, list[Stamp]] = {name: [] for name in variants}
    for _ in range(args.repeats):  # interleaved, so that a busy neighbour slows every variant alike
        for name, block in variants.items():
            evaluations = block()
            wall, cpu = zip(*evaluations, strict=True)
            samples[name].append((statistics.mean(wall), statistics.mean(cpu)))
    return {name: _median_of(values) for name, values in samples.items()}


def _median_of(blocks: list[Stamp]) -> Stamp:
    wall, cpu = zip(*blocks, strict=True)
    return statistics.median(wall), statistics.median(cpu)


def style_cost_within(
    size: int, budget: float, extractor: VGGExtractor, device: torch.device, weights: str
) -> tuple[float, float, float]:
    """J_style at the start, and reached by the tutorial and by ours within ``budget`` seconds of optimisation."""
    content, style = (image.to(device) for image in _images(size))
    layers = list(DEFAULT_STYLE_LAYERS)

    def j_style(image: torch.Tensor) -> float:
        with torch.no_grad():
            return float(
                style_cost(extractor(style, layers), extractor(image.to(device), layers), DEFAULT_STYLE_LAYERS)
            )

    # Both clocks start before the targets are computed: the budget is wall-clock time to a result.
    deadline = time.perf_counter() + budget
    model, style_losses, content_losses = build_model(
        extractor.features, style, content, layers, [DEFAULT_CONTENT_LAYER]
    )
    tutorial_image = run_style_transfer(model, style_losses, content_losses, content.clone(), 10**9, deadline=deadline)
    latest: list[torch.Tensor] = []

    def keep(progress: RunProgress) -> None:
        latest[:] = [progress.image.detach().clone()]

    deadline = time.perf_counter() + budget
    with contextlib.suppress(RunCancelled):  # how the budget ends
        run(
            _config(size, 10**5, weights, device),
            on_progress=keep,
            cancel=lambda: time.perf_counter() > deadline,
            extractor=extractor,
        )
    # On a busy machine ours may not finish one step within a short budget: it then reached nothing.
    return j_style(content), j_style(tutorial_image), j_style(latest[0] if latest else content)


def calibrate(extractor: VGGExtractor, device: torch.device, weights: str) -> None:
    """Least-squares fit of seconds/step = a * GFLOP + b over a few sizes; prints the constants.

    Each size's figure is its fastest step over a few blocks: the machine's own speed, not a busy
    neighbour's share of it.
    """
    points = []
    for size in (64, 128, 192, 256):
        config = _config(size, 5, weights, device)
        seconds = min(min(_ours_block(config, extractor, choose_precision(device))) for _ in range(2))
        height, width = _images(size)[0].shape[-2:]
        gflop = estimate_work(config, height, width).step_gflop
        points.append((gflop, seconds))
        print(f"  {size:4d} px: {gflop:7.2f} GFLOP/step, {seconds:.4f} s/step")
    mean_x = statistics.mean(x for x, _ in points)
    mean_y = statistics.mean(y for _, y in points)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / sum((x - mean_x) ** 2 for x, _ in points)
    intercept = max(0.0, mean_y - slope * mean_x)
    print(
        f'CALIBRATION[("{device.type}", "{choose_precision(device)}")]: '
        f"seconds_per_gflop={slope:.4g}, seconds_overhead={intercept:.3g}"
    )


def bf16_check(size: int, steps: int, extractor: VGGExtractor, device: torch.device, weights: str) -> None:
    """J_style^[l] after ``steps`` steps in bfloat16 / in float32, per layer, for both optimisers.

    The float32 channels-last row is the floor: the same arithmetic summed in another order, so its
    drift is what any rounding difference grows into over the run, not bfloat16's own error."""
    print(f"bf16 check at {size} px, {steps} steps on {device}:")
    for optimizer in ("adam", "lbfgs"):
        config = replace(_config(size, steps, weights, device), optimizer=optimizer)
        precisions = (FLOAT32, FLOAT32_CHANNELS_LAST, BFLOAT16)
        results = {precision: run(config, extractor=extractor, precision=precision) for precision in precisions}
        full = results[FLOAT32].history[-1].J_style_layers
        for other in precisions[1:]:
            reduced = results[other].history[-1].J_style_layers
            ratios = {layer: reduced[layer] / full[layer] for layer in full}
            worst = max(abs(r - 1.0) for r in ratios.values())
            seconds = statistics.median(_per_step([r.elapsed_s for r in results[other].history]))
            print(
                f"  {optimizer}, {other} / float32 J_style^[l] "
                + " ".join(f"{layer} {ratio:.3f}" for layer, ratio in ratios.items())
                + f"; worst {worst:.1%} (within 5%: {worst <= 0.05}); {seconds:.3f} s/step"
            )
        seconds = statistics.median(_per_step([record.elapsed_s for record in results[FLOAT32].history]))
        print(f"  {optimizer}, float32: {seconds:.3f} s/step")


def _layer_costs(extractor: VGGExtractor, style: torch.Tensor, image: torch.Tensor) -> dict[str, float]:
    """J_style^[l] of ``image`` against ``style`` (nst_core.gram.layer_style_cost), per default style layer."""
    layers = list(DEFAULT_STYLE_LAYERS)
    with torch.no_grad():
        a_S, a_G = extractor(style, layers), extractor(image, layers)
    return {layer: float(layer_style_cost(a_S[layer][0], a_G[layer][0])) for layer in layers}


def race(size: int, evaluations: int, extractor: VGGExtractor, device: torch.device, weights: str) -> None:
    """The tutorial's per-layer J_style after ``evaluations`` evaluations, then how long ours takes to reach it.

    Ours reaches it when every layer's J_style^[l] at the final size is at or below the tutorial's. Both
    clocks include computing the targets; times are wall (perf_counter) and this process's CPU time.
    """
    content, style = (image.to(device) for image in _images(size))
    # Warm-up: the first passes of a process build oneDNN's kernels, which would count against the tutorial.
    _tutorial_block(extractor, content, style, 3, freeze=False)
    _ours_block(_config(size, 3, weights, device), extractor, choose_precision(device, "lbfgs", size))
    wall, cpu = time.perf_counter(), time.process_time()
    model, style_losses, content_losses = build_model(
        extractor.features, style, content, list(DEFAULT_STYLE_LAYERS), [DEFAULT_CONTENT_LAYER], freeze=False
    )

    def stop(count: int) -> None:
        if count >= evaluations:
            raise Deadline

    image = run_style_transfer(model, style_losses, content_losses, content.clone(), evaluations, on_evaluation=stop)
    tutorial_wall, tutorial_cpu = time.perf_counter() - wall, time.process_time() - cpu
    target = _layer_costs(extractor, style, image)
    print(
        f"\n{size} px race, load average {os.getloadavg()[0]:.1f}: the tutorial's {evaluations} evaluations "
        f"took {tutorial_wall:.1f} s wall, {tutorial_cpu:.1f} s CPU; J_style^[l] "
        + " ".join(f"{layer} {value:.3g}" for layer, value in target.items())
    )
    base = _config(size, evaluations * 2, weights, device)
    contenders = {
        "ours, default (L-BFGS, one scale)": base,
        "ours, coarse to fine from half size": replace(base, start_size=size // 2, steps=evaluations),
        "ours, coarse to fine + TV 0.1 (class preset)": replace(
            base, start_size=size // 2, tv_weight=0.1, steps=evaluations
        ),
        "ours, L-BFGS on the pixels": replace(base, parameterization="pixels"),
        "ours, Adam": replace(base, optimizer="adam"),
    }
    for name, config in contenders.items():
        reached: list[tuple[int, float, float]] = []

        # run() calls watch and the cancel lambda synchronously, within this iteration: the loop's current
        # `reached`, `wall` and `cpu` (set just before the run) are the ones meant.
        def watch(progress: RunProgress) -> None:
            record = progress.record
            if (
                record.scale == size
                and all(record.J_style_layers[layer] <= v for layer, v in target.items())
                and not reached  # noqa: B023
            ):
                reached.append((record.step, time.perf_counter() - wall, time.process_time() - cpu))  # noqa: B023

        wall, cpu = time.perf_counter(), time.process_time()
        with contextlib.suppress(RunCancelled):
            run(config, extractor=extractor, on_progress=watch, cancel=lambda: bool(reached))  # noqa: B023
        if reached:
            step, seconds, cpu_seconds = reached[0]
            print(
                f"  {name:46s} reached at step {step:4d}: {seconds:6.1f} s wall ({seconds / tutorial_wall:.2f}x), "
                f"{cpu_seconds:6.1f} s CPU ({cpu_seconds / tutorial_cpu:.2f}x)"
            )
        else:
            print(f"  {name:46s} not reached in {config.steps} steps ({time.perf_counter() - wall:.1f} s wall)")


def _cpu_ms(variants: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median CPU milliseconds of each variant over ``repeats`` interleaved calls (after one untimed call each)."""
    times: dict[str, list[float]] = {name: [] for name in variants}
    for work in variants.values():
        work()
    for _ in range(repeats):
        for name, work in variants.items():
            start = time.process_time()
            work()
            times[name].append(time.process_time() - start)
    return {name: 1e3 * statistics.median(values) for name, values in times.items()}


def tricks(size: int, extractor: VGGExtractor, device: torch.device, repeats: int) -> None:
    """Each trick of a step (``nst_core.gram``) against what it replaced, on chelsea's activations at ``size`` in the
    precision a run uses there, CPU milliseconds per step (median of ``repeats``, the variants interleaved)."""
    content, style = (image.to(device) for image in _images(size))
    policy = choose_precision(device, "lbfgs", size)
    network = extractor.stored_as(policy.autocast, policy.channels_last)
    layers = list(DEFAULT_STYLE_LAYERS)
    x = policy.prepare(content)
    with torch.no_grad(), policy.context(device):
        acts = network(x, layers)
        targets = {
            layer: gram.gram_matrix(a, torch.float32) for layer, a in network(policy.prepare(style), layers).items()
        }
    print(f"\n{size} px, {policy}, load average {os.getloadavg()[0]:.1f}: CPU ms per step, median of {repeats}")

    def whole_copy() -> None:  # before: the float32 copy of each map, then one product
        for a in acts.values():
            wide = gram._unrolled(a).float()
            wide @ wide.transpose(-1, -2)

    def fresh_chunks() -> None:  # before: each chunk a fresh float32 copy and product, added
        for a in acts.values():
            pieces = (piece.float() for piece in gram._unrolled(a).split(gram.GRAM_CHUNK_POSITIONS, dim=-1))
            wide = next(pieces)
            g = wide @ wide.mT
            for wide in pieces:
                g.add_(wide @ wide.mT)

    def chunks_only() -> None:
        with _patched(gram, "GRAM_BLOCK_CHANNELS", 10**6):
            for a in acts.values():
                gram.gram_matrix(a, torch.float32)

    def chunks_and_blocks() -> None:
        for a in acts.values():
            gram.gram_matrix(a, torch.float32)

    variants = {"whole": whole_copy, "fresh": fresh_chunks, "chunks": chunks_only, "blocks": chunks_and_blocks}
    g_forward = _cpu_ms(variants, repeats)
    print(
        f"  float32 G of the {len(layers)} style layers: whole-map float32 copy {g_forward['whole']:.2f}, "
        f"in chunks of {gram.GRAM_CHUNK_POSITIONS} positions each copied afresh {g_forward['fresh']:.2f}, "
        f"copied into one buffer and accumulated in place {g_forward['chunks']:.2f}, "
        f"+ lower block triangle of {gram.GRAM_BLOCK_CHANNELS} channels {g_forward['blocks']:.2f}"
    )

    shapes = {name: a.shape[-3:] for name, a in acts.items()}
    grams = {name: gram.gram_matrix(a, torch.float32) for name, a in acts.items()}

    def costs_backward(written_out: bool) -> Callable[[], None]:
        def work() -> None:
            for name, g in grams.items():
                g_G = g.clone().requires_grad_(True)
                n_C, n_H, n_W = shapes[name]
                if written_out:
                    cost = gram.gram_style_cost(targets[name], g_G, n_H, n_W, n_C)
                else:  # the formula composed by autograd, as gram_style_cost computed it before
                    cost = ((targets[name] - g_G) * (1.0 / (2.0 * n_H * n_W * n_C))).square().sum(dim=(-2, -1))
                cost.sum().backward()

        return work

    timed = _cpu_ms({"composed": costs_backward(False), "written": costs_backward(True)}, repeats)
    print(
        f"  J_style^[l] of the {len(layers)} layers from G_G and its gradient: composed by autograd "
        f"{timed['composed']:.2f}, written out (gram_style_cost) {timed['written']:.2f}"
    )

    with torch.no_grad(), policy.context(device):
        a_G = network(x, [DEFAULT_CONTENT_LAYER])[DEFAULT_CONTENT_LAYER]
        a_C = network(policy.prepare(style), [DEFAULT_CONTENT_LAYER])[DEFAULT_CONTENT_LAYER][0].float()

    def content_term(written_out: bool) -> Callable[[], None]:
        def work() -> None:
            g = a_G.clone().requires_grad_(True)
            if written_out:
                gram.content_cost(a_C, g).sum().backward()
            else:  # the formula composed by autograd on a float32 copy, as the objective computed it before
                n_C, n_H, n_W = g.shape[-3:]
                ((a_C - g.float()).square().sum() / (4.0 * n_H * n_W * n_C)).backward()

        return work

    timed = _cpu_ms({"composed": content_term(False), "written": content_term(True)}, repeats)
    print(
        f"  J_content at {DEFAULT_CONTENT_LAYER} and its gradient: composed by autograd on a float32 copy "
        f"{timed['composed']:.2f}, written out (gram.content_cost) {timed['written']:.2f}"
    )

    height, width = content.shape[-2:]
    spectrum = torch.randn(1, 3, height, width // 2 + 1, dtype=torch.complex64, device=device)

    def transform(pocketfft: bool) -> Callable[[], None]:
        def work() -> None:
            z = spectrum.clone().requires_grad_(True)
            shape = (height, width)
            image = _PocketIrfft2.apply(z, shape) if pocketfft else torch.fft.irfft2(z, s=shape, norm="ortho")
            image.sum().backward()

        return work

    timed = _cpu_ms({"torch": transform(False), "pocketfft": transform(True)}, repeats)
    chosen = "pocketfft" if _has_large_prime_factor(width) else "torch"
    print(
        f"  the spectral canvas's {height}x{width} transform and its backward: torch.fft {timed['torch']:.2f}, "
        f"pocketfft {timed['pocketfft']:.2f} (the canvas's: {chosen})"
    )

    def step(tapped: bool) -> Callable[[], None]:
        def work() -> None:
            image = x.detach().clone().requires_grad_(True)
            with policy.context(device):
                if tapped:  # G computed within the pass, its gradient joined in the tap's product
                    out, grams = network.activations_and_grams(image, [DEFAULT_CONTENT_LAYER], layers)
                    costs = [
                        gram.gram_style_cost(targets[n], grams[n], *a.shape[-2:], a.shape[-3]) for n, a in acts.items()
                    ]
                else:  # each style layer's gradient a tensor of its own, added by autograd
                    out = network(image, [DEFAULT_CONTENT_LAYER, *layers])
                    costs = [gram.activation_style_cost(targets[n], out[n])[0] for n in layers]
            total = torch.stack([c.sum() for c in costs]).sum() + out[DEFAULT_CONTENT_LAYER].float().square().mean()
            total.backward()

        return work

    timed = _cpu_ms({"separate": step(tapped=False), "joined": step(tapped=True)}, repeats)
    separate, joined = timed["separate"], timed["joined"]
    print(
        f"  network forward + backward with the Gram costs: gradients added by autograd {separate:.1f}, "
        f"joined in the tap's product (gram.gram_tap) {joined:.1f} (saves {separate - joined:.1f})"
    )


def profile_overhead(size: int, args: argparse.Namespace, extractor: VGGExtractor, device: torch.device) -> None:
    """torch.profiler's self CPU time per operator and input shape, per evaluation: ours (10 steps of ``run()``, a
    snapshot among them) minus the bare network's; the operators ours adds or costs more, largest first."""
    from torch.profiler import ProfilerActivity, profile

    content, _ = _images(size)
    config = replace(_config(size, 12, args.weights, device), snapshot_every=10)
    policy = choose_precision(device, config.optimizer, size)
    deepest = max([*DEFAULT_STYLE_LAYERS, DEFAULT_CONTENT_LAYER], key=LAYER_INDEX.__getitem__)
    network = extractor.stored_as(policy.autocast, policy.channels_last)
    _ours_block(config, extractor, policy)  # warm-up: kernels and caches
    steps = 10

    def per_step(prof: profile, evaluations: int) -> dict[tuple[str, str], float]:
        totals: dict[tuple[str, str], float] = {}
        for event in prof.key_averages(group_by_input_shape=True):
            key = (event.key, str(event.input_shapes)[:70])
            totals[key] = totals.get(key, 0.0) + event.self_cpu_time_total / 1e3 / evaluations
        return totals

    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as bare_profile:
        _bare_block(network, policy, content.to(device), deepest, steps + 1)
    ours_profile = profile(activities=[ProfilerActivity.CPU], record_shapes=True)

    def window(progress: RunProgress) -> None:  # steps 2 to 11: one snapshot (step 10), no set-up
        if progress.step == 1:
            ours_profile.start()
        elif progress.step == steps + 1:
            ours_profile.stop()

    run(config, on_progress=window, extractor=extractor, precision=policy)
    bare, ours = per_step(bare_profile, steps + 1), per_step(ours_profile, steps)
    print(
        f"\n{size} px, {policy}, load average {os.getloadavg()[0]:.1f}: profiled self CPU ms per evaluation, "
        f"bare network {sum(bare.values()):.1f}, ours {sum(ours.values()):.1f}; the largest differences:"
    )
    differences = sorted(((ours.get(k, 0.0) - bare.get(k, 0.0), k) for k in {*bare, *ours}), reverse=True)
    for difference, (name, shapes) in differences[: args.profile_rows]:
        print(f"  {difference:+7.2f} (ours {ours.get((name, shapes), 0.0):6.2f})  {name[:40]:40s} {shapes}")


@contextlib.contextmanager
def _patched(module: object, name: str, value: object) -> Iterator[None]:
    saved = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, saved)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", help="default: 128 256 (and 512 on CUDA)")
    parser.add_argument("--steps", type=int, default=11, help="evaluations per timed block (11: one snapshot)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved blocks per variant")
    parser.add_argument("--budget", type=float, help="seconds of optimisation each for the style-cost race")
    parser.add_argument("--weights", default="random")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--all-precisions", action="store_true")
    parser.add_argument("--threads", type=int, help="torch's intra-op threads (default: torch's choice)")
    parser.add_argument("--calibrate", action="store_true")
    parser.add_argument("--bf16-check", action="store_true")
    parser.add_argument("--race", action="store_true")
    parser.add_argument("--tricks", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--profile-rows", type=int, default=30, help="operators listed by --profile")
    parser.add_argument("--evaluations", type=int, default=300, help="the tutorial's evaluations in --race")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    extractor = load_extractor(args.weights, device)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {device}, "
        f"CPU capability {torch.backends.cpu.get_cpu_capability()}, {extractor.weights_source}"
    )
    if args.calibrate:
        calibrate(extractor, device, args.weights)
        return
    if args.bf16_check:
        steps = args.steps if args.steps != parser.get_default("steps") else 100
        bf16_check(args.sizes[0] if args.sizes else 64, steps, extractor, device, args.weights)
        return
    if args.profile:
        for size in args.sizes or [256, 512]:
            profile_overhead(size, args, extractor, device)
        return
    if args.tricks:
        for size in args.sizes or [128, 256, 512]:
            tricks(size, extractor, device, max(args.repeats, 5))
        return
    if args.race:
        for size in args.sizes or [256]:
            race(size, args.evaluations, extractor, device, args.weights)
        return
    sizes = args.sizes or ([128] if args.quick else [128, 256, 512])
    for size in sizes:
        medians = per_step_seconds(size, args, extractor, device)
        tutorial = medians["tutorial (as written)"]
        print(
            f"\n{size} px: seconds per evaluation (forward + backward; median of {args.repeats} interleaved blocks "
            f"of {args.steps} evaluations), wall and this process's CPU time, load average {os.getloadavg()[0]:.1f}"
        )
        for name, (wall, cpu) in medians.items():
            print(f"  {name:60s} {wall:7.4f} s wall {cpu:7.4f} s CPU {wall / tutorial[0]:5.2f}x the tutorial")
        bares = {name.removeprefix(BARE): seconds for name, seconds in medians.items() if name.startswith(f"{BARE} (")}
        fair = next(seconds for name, seconds in medians.items() if name.startswith(FAIR))
        for name, seconds in medians.items():
            if name.startswith("ours"):
                # against the bare network in the same precision; the run's policy for --all-precisions' others
                bare = next((b for suffix, b in bares.items() if name.endswith(suffix)), next(iter(bares.values())))
                print(
                    f"  {name:60s} {seconds[0] / bare[0]:5.2f}x the bare network (CPU {seconds[1] / bare[1]:.2f}x; "
                    f"goal <= 1.3), {seconds[0] / fair[0]:5.2f}x the fair baseline (CPU {seconds[1] / fair[1]:.2f}x; "
                    "goal <= 0.6)"
                )
        budget = args.budget or (5.0 if args.quick else 8.0 * size / 128)
        start, by_tutorial, by_ours = style_cost_within(size, budget, extractor, device, args.weights)
        print(
            f"  J_style within {budget:.0f} s: start {start:.4g}, tutorial {by_tutorial:.4g} "
            f"({by_tutorial / start:.3f} of start), ours {by_ours:.4g} ({by_ours / start:.3f} of start)"
        )


if __name__ == "__main__":
    main()
