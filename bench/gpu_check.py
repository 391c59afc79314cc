"""The checks no CPU test can make, in one script for a machine with a GPU (under five minutes on one GPU).

1. Correctness on CUDA: the Gram matrices, style and content costs of real VGG19 activations against the
   textbook float64 computation on the CPU (``bench/gram.py``'s reference); a short run in each
   precision the policy picks on CUDA (L-BFGS and Adam) against the same run in float32 on the CPU.
2. Speed: seconds for 500 steps at 512 px with L-BFGS and with Adam (reference: jcjohnson/neural-style,
   500 iterations at 512 px in 22 s on a Pascal Titan X; the goal here is 5 s on an H100/H200-class
   GPU); seconds per step at 256, 512 and 1024 px; peak memory against ``estimate_run``'s figure.
3. Concurrency: 1, 2 and 4 runs at once on one GPU through ``ThreadExecutor(slots=n)`` and through
   ``RayExecutor(gpus_per_run=1/n)``: runs per minute for each (after a warm-up round that starts the
   workers and loads their weights).
4. Batching: 1, 2, 4 and 8 queued class-demo runs, one after the other against one batch
   (``nst_core.optim.run_batch``): runs per minute and the speed-up (``bench/batching.py``'s measurement);
   then the serving path: the same runs queued at a ``ThreadExecutor`` with ``batch_runs=1`` against
   ``batch_runs=N`` (the queue gathers the batch, within the GPU's free memory), which checks the GPU
   default of ``STYLE_LENS_BATCH_RUNS`` (4).

    python bench/gpu_check.py                  # on a GPU machine
    python bench/gpu_check.py --json out.json  # also write every figure as JSON
    python bench/gpu_check.py --dry-run        # every code path on the CPU with tiny sizes (a test runs it)

Random weights (seeded) throughout: the architecture, hence the speed and memory, is ImageNet VGG19's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/gram.py and bench/batching.py beside this file

from batching import executor_runs_per_minute  # noqa: E402
from batching import runs_per_minute as batched_runs_per_minute  # noqa: E402
from gram import reference  # noqa: E402

from nst_core import (  # noqa: E402
    DEFAULT_STYLE_LAYERS,
    RunConfig,
    ThreadExecutor,
    content_cost,
    gram_matrix,
    layer_style_cost,
    load_extractor,
    run,
)
from nst_core.extractor import VGGExtractor  # noqa: E402
from nst_core.optim import estimate_run
from nst_core.optim.precision import FLOAT32, choose_precision, cuda_has_fast_bf16  # noqa: E402
from nst_core.serve import Executor  # noqa: E402


@dataclass(frozen=True)
class Plan:
    """The sizes and counts of one invocation: the real check, or the dry run's tiny version."""

    device: torch.device
    maths_size: int
    precision_size: int
    precision_steps: int
    speed_size: int
    speed_steps: int
    step_sizes: tuple[int, ...]
    step_count: int
    concurrency: tuple[int, ...]
    concurrency_size: int
    concurrency_steps: int
    batching: tuple[int, ...]
    batching_scale: float  # the class-demo preset's sides times this
    batching_steps: int | None  # None: the preset's


GPU_PLAN = Plan(
    torch.device("cuda"), 256, 128, 30, 512, 500, (256, 512, 1024), 20, (1, 2, 4), 512, 100, (1, 2, 4, 8), 1.0, None
)
DRY_PLAN = Plan(torch.device("cpu"), 32, 32, 3, 32, 3, (32, 40), 3, (1, 2), 32, 3, (1, 2), 0.25, 3)

# Bounds of the correctness checks. Gram matmuls stay float32 on CUDA (TF32 is off for matmuls by
# default), so G is within float32 rounding of the float64 reference; a bfloat16 run's J_style stays
# within the 5% the precision policy was accepted with.
GRAM_TOLERANCE = 1e-4
RUN_TOLERANCE = 0.05


def config(plan: Plan, size: int, steps: int, optimizer: str = "lbfgs", device: str | None = None) -> RunConfig:
    return RunConfig(
        content="chelsea",
        style="orange_strokes",
        size=size,
        steps=steps,
        optimizer=optimizer,
        weights="random",
        device=device or plan.device.type,
        snapshot_every=0,
    )


def check_maths(plan: Plan, extractor: VGGExtractor) -> dict[str, Any]:
    generator = torch.Generator().manual_seed(0)
    images = [torch.rand(1, 3, plan.maths_size, plan.maths_size, generator=generator) for _ in range(2)]
    with torch.no_grad():
        acts_s, acts_g = (
            {k: v[0].float() for k, v in extractor(image.to(plan.device), DEFAULT_STYLE_LAYERS).items()}
            for image in images
        )
        grams = {layer: gram_matrix(a).double().cpu().numpy() for layer, a in acts_g.items()}
        j_style = sum(w * float(layer_style_cost(acts_s[k], acts_g[k])) for k, w in DEFAULT_STYLE_LAYERS.items())
        j_content = float(content_cost(acts_s["relu4_1"], acts_g["relu4_1"]))
    as_numpy = lambda acts: {k: v.double().cpu().numpy() for k, v in acts.items()}  # noqa: E731
    ref_grams, ref_j_style = reference(as_numpy(acts_s), as_numpy(acts_g))
    a_s, a_g = acts_s["relu4_1"].double().cpu().numpy(), acts_g["relu4_1"].double().cpu().numpy()
    ref_j_content = float(((a_s - a_g) ** 2).sum()) / (4.0 * a_g.size)
    gram_error = max(float(np.abs(grams[k] - ref_grams[k]).max() / np.abs(ref_grams[k]).max()) for k in grams)
    figures = {
        "gram_max_rel_error": gram_error,
        "j_style_rel_error": abs(j_style - ref_j_style) / ref_j_style,
        "j_content_rel_error": abs(j_content - ref_j_content) / ref_j_content,
    }
    figures["ok"] = all(value < GRAM_TOLERANCE for value in figures.values())
    return figures


def check_precisions(plan: Plan, extractor: VGGExtractor, cpu_extractor: VGGExtractor) -> dict[str, Any]:
    """Each optimiser in the precision the policy picks here, against float32 on the CPU."""
    figures: dict[str, Any] = {}
    for optimizer in ("lbfgs", "adam"):
        precision = choose_precision(plan.device, optimizer, plan.precision_size)
        cfg = config(plan, plan.precision_size, plan.precision_steps, optimizer)
        ours = run(cfg, extractor=extractor, precision=precision)
        cpu = run(replace(cfg, device="cpu"), extractor=cpu_extractor, precision=FLOAT32)
        ratio = ours.history[-1].J_style / cpu.history[-1].J_style
        finite = all(np.isfinite(r.J) for r in ours.history)
        figures[optimizer] = {
            "precision": str(precision),
            "j_style_ratio_to_cpu_float32": ratio,
            "ok": finite and abs(ratio - 1) <= RUN_TOLERANCE,
        }
    return figures


def timed_run(plan: Plan, extractor: VGGExtractor, cfg: RunConfig) -> dict[str, Any]:
    cuda = plan.device.type == "cuda"
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    result = run(cfg, extractor=extractor)
    steps = [b.elapsed_s - a.elapsed_s for a, b in zip(result.history, result.history[1:], strict=False)]
    figures: dict[str, Any] = {
        "size": cfg.size,
        "steps": cfg.steps,
        "optimizer": cfg.optimizer,
        "precision": result.precision,
        "seconds": result.seconds,
        "median_step_s": statistics.median(steps) if steps else None,
    }
    estimate = estimate_run(cfg, *result.image.shape[-2:])
    figures["estimated_seconds"] = estimate.seconds
    figures["estimated_peak_mb"] = estimate.peak_bytes / 2**20
    # The extractor's weights were allocated before the reset; the estimate counts them, so add them back.
    figures["peak_mb"] = (
        (torch.cuda.max_memory_allocated() - base + parameter_bytes(extractor)) / 2**20 if cuda else None
    )
    return figures


def parameter_bytes(extractor: VGGExtractor) -> int:
    return sum(p.numel() * p.element_size() for p in extractor.parameters())


def check_speed(plan: Plan, extractor: VGGExtractor) -> dict[str, Any]:
    run(config(plan, plan.step_sizes[0], 2), extractor=extractor)  # warm-up: cuDNN picks its kernels
    long_runs = [
        timed_run(plan, extractor, config(plan, plan.speed_size, plan.speed_steps, optimizer))
        for optimizer in ("lbfgs", "adam")
    ]
    per_step = [timed_run(plan, extractor, config(plan, size, plan.step_count)) for size in plan.step_sizes]
    return {"long_runs": long_runs, "per_step": per_step}


def runs_per_minute(executor: Executor, configs: Sequence[RunConfig]) -> float:
    started = time.perf_counter()
    jobs = [executor.submit(c) for c in configs]
    for job in jobs:
        job.result(timeout=600)
    return len(configs) / (time.perf_counter() - started) * 60


def measure(make: Callable[[int], Executor], plan: Plan, n: int) -> dict[str, Any]:
    cfg = config(plan, plan.concurrency_size, plan.concurrency_steps)
    with make(n) as executor:
        warm = runs_per_minute(executor, [replace(cfg, steps=2)] * n)  # starts the workers, loads the weights
        timed = runs_per_minute(executor, [cfg] * (2 * n))
    return {"runs_at_once": n, "runs_per_minute": timed, "warm_up_runs_per_minute": warm}


def check_concurrency(plan: Plan) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "threads": [measure(lambda n: ThreadExecutor(slots=n), plan, n) for n in plan.concurrency],
    }
    try:
        import ray
    except ImportError:
        figures["ray"] = "skipped: ray is not installed (pip install 'style-lens[ray]')"
        return figures
    from nst_core import RayExecutor

    started_here = not ray.is_initialized()
    if started_here:
        cpus = 2 if plan.device.type == "cpu" else None
        ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False, object_store_memory=200 * 2**20)
    try:
        figures["ray"] = [measure(lambda n: RayExecutor(gpus_per_run=1 / n), plan, n) for n in plan.concurrency]
    finally:
        if started_here:
            ray.shutdown()
    return figures


def check_batching(plan: Plan, extractor: VGGExtractor) -> list[dict[str, Any]]:
    rows = []
    for n in plan.batching:
        row = batched_runs_per_minute(n, plan.batching_scale, plan.batching_steps, extractor)
        row["executor"] = {
            name: executor_runs_per_minute(n, plan.batching_scale, plan.batching_steps, extractor, batch_runs)
            for name, batch_runs in (("serial", 1), ("batched", n))
        }
        rows.append(row)
    return rows


def environment(plan: Plan) -> dict[str, Any]:
    facts: dict[str, Any] = {"torch": torch.__version__, "device": str(plan.device)}
    if plan.device.type == "cuda":
        facts["gpu"] = torch.cuda.get_device_name()
        facts["capability"] = ".".join(map(str, torch.cuda.get_device_capability()))
        facts["fast_bf16"] = cuda_has_fast_bf16(plan.device)
        facts["cudnn_tf32"] = torch.backends.cudnn.allow_tf32
        facts["matmul_tf32"] = torch.backends.cuda.matmul.allow_tf32
        facts["memory_gb"] = torch.cuda.get_device_properties(0).total_memory / 2**30
    facts["precision"] = {opt: str(choose_precision(plan.device, opt)) for opt in ("lbfgs", "adam")}
    return facts


def report(figures: dict[str, Any]) -> None:
    env = figures["environment"]
    print(f"torch {env['torch']} on {env.get('gpu', env['device'])}; policy: {env['precision']}")
    maths = figures["maths"]
    print(
        f"maths vs float64: G max rel err {maths['gram_max_rel_error']:.1e}, J_style {maths['j_style_rel_error']:.1e}, "
        f"J_content {maths['j_content_rel_error']:.1e} -> {'ok' if maths['ok'] else 'FAIL'}"
    )
    for optimizer, check in figures["precisions"].items():
        print(
            f"{optimizer} in {check['precision']}: J_style / CPU float32 = {check['j_style_ratio_to_cpu_float32']:.4f}"
            f" -> {'ok' if check['ok'] else 'FAIL'}"
        )
    columns = ("optimizer", 9), ("size", 5), ("steps", 6), ("seconds", 8), ("est. s", 7), ("s/step", 8), ("peak MB", 8)
    print(" ".join(f"{name:>{width}}" for name, width in columns), f"{'est. MB':>8}  precision")
    speed = figures["speed"]
    for row in [*speed["long_runs"], *speed["per_step"]]:
        peak = f"{row['peak_mb']:.0f}" if row["peak_mb"] is not None else "n/a"
        step = f"{row['median_step_s']:.4f}" if row["median_step_s"] is not None else "n/a"
        print(
            f"{row['optimizer']:>9} {row['size']:>5} {row['steps']:>6} {row['seconds']:>8.2f} "
            f"{row['estimated_seconds']:>7.1f} "
            f"{step:>8} {peak:>8} {row['estimated_peak_mb']:>8.0f}  {row['precision']}"
        )
    for name, rows in figures["concurrency"].items():
        if isinstance(rows, str):
            print(f"{name}: {rows}")
            continue
        rates = ", ".join(f"{r['runs_at_once']} at once: {r['runs_per_minute']:.1f}/min" for r in rows)
        print(f"{name}: {rates}")
    for row in figures["batching"]:
        print(
            f"batching {row['runs']} class-demo runs: serial {row['serial_runs_per_minute']:.1f}/min, batched "
            f"{row['batched_runs_per_minute']:.1f}/min ({row['speedup']:.2f}x); passes by batch size "
            f"{row['passes_by_batch_size']}, final J_style within {row['worst_j_style_difference']:.1e}"
        )
        serial, batched = row["executor"]["serial"], row["executor"]["batched"]
        print(
            f"  through ThreadExecutor: batch_runs=1 {serial['runs_per_minute']:.1f}/min, batch_runs={row['runs']} "
            f"{batched['runs_per_minute']:.1f}/min ({batched['runs_per_minute'] / serial['runs_per_minute']:.2f}x); "
            f"batches by runs {batched['batches']}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dry-run", action="store_true", help="tiny sizes on the CPU: checks the script, not the GPU")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    plan = DRY_PLAN if args.dry_run else GPU_PLAN
    if plan.device.type == "cuda" and not torch.cuda.is_available():
        print(
            "No CUDA device: run this on a machine with a GPU, or use --dry-run to check the script.", file=sys.stderr
        )
        return 2
    started = time.perf_counter()
    extractor = load_extractor("random", plan.device)
    cpu_extractor = extractor if plan.device.type == "cpu" else load_extractor("random", "cpu")
    figures: dict[str, Any] = {"environment": environment(plan)}
    figures["maths"] = check_maths(plan, extractor)
    figures["precisions"] = check_precisions(plan, extractor, cpu_extractor)
    figures["speed"] = check_speed(plan, extractor)
    figures["concurrency"] = check_concurrency(plan)
    figures["batching"] = check_batching(plan, extractor)
    figures["total_seconds"] = time.perf_counter() - started
    report(figures)
    print(f"total {figures['total_seconds']:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    ok = figures["maths"]["ok"] and all(check["ok"] for check in figures["precisions"].values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
