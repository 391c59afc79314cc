"""Many visitors, one batch: runs per minute of N queued class-demo runs, batched against one after the other.

For each N (1, 2, 4, 8): N runs of the app's class-demo preset (``ui.state.PRESETS["class_demo"]``: L-BFGS in
spectral coordinates, coarse to fine from 128 to 256 px, 60 steps, TV 0.1, a snapshot every 10 steps),
chelsea with a different style texture and seed each, in one process, in the precision and layout the policy
picks for them (``choose_precision``):

- serial: ``run()`` one after the other in one worker thread, as the executor runs its queue today;
- batched: ``run_batch()``, every evaluation of J stacked into one network pass (``nst_core.optim.batched``);
- (``executor_runs_per_minute``, which ``bench/gpu_check.py`` section 4 reports) the same runs queued at a
  ``ThreadExecutor`` behind a running one, served one at a time (``batch_runs=1``) or as one batch
  (``batch_runs=N``): the serving path, the queue gathering the batch and each job run by ``execute_run``;

then batched / serial, and both against two floors computed for the same schedule of evaluations (the
preset's steps at each scale's image shape; evaluations only, no setup):

- the bare network: VGG19 forward to the deepest layer and backward to the input, in the run's precision and
  layout, batched as the runs are (a batch of N images per pass);
- the fair baseline: the PyTorch tutorial's code with frozen weights in the run's autocast and channels-last
  (``bench/tutorial_reference.py``), one run after the other (it evaluates one image at a time).

A ratio below 1 against the bare network is impossible; "ours / bare" says what the rest of a run costs.

    python bench/batching.py                  # 1, 2, 4 and 8 runs of the preset: ~10 min on 2 cores
    python bench/batching.py --quick          # the preset at half size (64 -> 128 px), 20 steps: ~2 min
    python bench/batching.py --runs 1 4 --scale 0.75 --steps 30 --repeats 2
    python bench/batching.py --threads 1      # one torch thread

The serial and batched blocks of each N run back to back (serial first, then batched, repeated
``--repeats`` times, the median kept), so a busy neighbour slows both alike; the load average is printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # optimize.py beside this file
sys.path.insert(0, str(ROOT))  # ui.state's presets, from a checkout

from optimize import _bare_block, _tutorial_block  # noqa: E402

from nst_core import JobStatus, RunConfig, ThreadExecutor, load_extractor, run  # noqa: E402
from nst_core.extractor import VGGExtractor, resolve_device  # noqa: E402
from nst_core.layers import LAYER_INDEX  # noqa: E402
from nst_core.optim import BatchedEvaluator, RunResult, batch_key, run_batch  # noqa: E402
from nst_core.optim.config import MAX_STEPS  # noqa: E402
from nst_core.optim.precision import Precision, choose_precision  # noqa: E402
from nst_core.optim.sources import load_input  # noqa: E402
from nst_core.serve import ExtractorCache  # noqa: E402
from ui.state import PRESETS  # noqa: E402

CONTENT = "chelsea"
STYLES = ("orange_strokes", "blue_waves", "mosaic", "rings")


def configs(count: int, scale: float, steps: int | None, device: torch.device) -> list[RunConfig]:
    """``count`` class-demo runs with sides times ``scale``: one content, a different style and seed each."""
    preset = PRESETS["class_demo"]
    size = round(preset.size * scale)
    start = round(preset.start_size * scale) if preset.start_size else None
    return [
        RunConfig(
            content=CONTENT,
            style=STYLES[i % len(STYLES)],
            size=size,
            start_size=start,
            steps=steps or preset.steps,
            optimizer=preset.optimizer,
            tv_weight=preset.tv_weight,
            snapshot_every=preset.snapshot_every,
            seed=i,
            weights="random",
            device=str(device),
        )
        for i in range(count)
    ]


@dataclass(frozen=True)
class Round:
    """Wall and this process's CPU seconds of N runs, serial and batched, and what the batched runs did."""

    serial_s: float
    batched_s: float
    serial_cpu_s: float
    batched_cpu_s: float
    passes: dict[int, int]
    worst_j_style_difference: float


def one_round(batch: list[RunConfig], extractor: VGGExtractor) -> Round:
    serial: list[RunResult] = []

    def queue() -> None:
        serial.extend(run(config, extractor=extractor) for config in batch)

    # In one worker thread, as the executor runs its queue (measured: a run on a thread that is not the main one
    # takes ~25% more wall time on the 2-core Xeon, for the same CPU seconds), like run_batch's runs.
    worker = threading.Thread(target=queue)
    started, cpu = time.perf_counter(), time.process_time()
    worker.start()
    worker.join()
    serial_s, serial_cpu_s = time.perf_counter() - started, time.process_time() - cpu
    if len(serial) != len(batch):
        raise RuntimeError("a serial run failed: see the worker thread's traceback above")
    evaluator = BatchedEvaluator()
    started, cpu = time.perf_counter(), time.process_time()
    outcomes = run_batch(batch, extractor=extractor, evaluator=evaluator)
    batched_s, batched_cpu_s = time.perf_counter() - started, time.process_time() - cpu
    batched: list[RunResult] = []
    for outcome in outcomes:
        if isinstance(outcome, Exception):
            raise outcome
        batched.append(outcome)
    worst = max(abs(b.history[-1].J_style / s.history[-1].J_style - 1.0) for b, s in zip(batched, serial, strict=True))
    passes = dict(sorted(evaluator.batch_sizes.items()))
    return Round(serial_s, batched_s, serial_cpu_s, batched_cpu_s, passes, worst)


def runs_per_minute(
    count: int, scale: float, steps: int | None, extractor: VGGExtractor, repeats: int = 1
) -> dict[str, Any]:
    """Serial and batched runs per minute of ``count`` class-demo runs (median of ``repeats`` rounds; wall clock,
    and this process's CPU seconds per run), after a warm-up round (the first passes at each shape and batch
    size build oneDNN's or cuDNN's kernels)."""
    device = extractor.device
    short = configs(count, scale, 2 * len(configs(1, scale, steps, device)[0].scales), device)
    run_batch(short, extractor=extractor)
    run(short[0], extractor=extractor)
    rounds = [one_round(configs(count, scale, steps, device), extractor) for _ in range(repeats)]
    serial_s = statistics.median(r.serial_s for r in rounds)
    batched_s = statistics.median(r.batched_s for r in rounds)
    serial_cpu_s = statistics.median(r.serial_cpu_s for r in rounds)
    batched_cpu_s = statistics.median(r.batched_cpu_s for r in rounds)
    return {
        "runs": count,
        "serial_runs_per_minute": 60 * count / serial_s,
        "batched_runs_per_minute": 60 * count / batched_s,
        "speedup": serial_s / batched_s,
        "serial_cpu_s_per_run": serial_cpu_s / count,
        "batched_cpu_s_per_run": batched_cpu_s / count,
        "cpu_speedup": serial_cpu_s / batched_cpu_s,
        "passes_by_batch_size": rounds[-1].passes,
        "worst_j_style_difference": max(r.worst_j_style_difference for r in rounds),
    }


def executor_runs_per_minute(
    count: int, scale: float, steps: int | None, extractor: VGGExtractor, batch_runs: int
) -> dict[str, Any]:
    """Runs per minute of ``count`` class-demo runs queued together at a ``ThreadExecutor(batch_runs=...)`` on
    ``extractor``'s device, timed from the moment its worker is free to the last result, and the batches it
    served by number of runs. A long run of another batch key holds the worker while they are queued, so that
    all of them wait when it takes its next jobs (as on a busy server)."""
    batch = configs(count, scale, steps, extractor.device)
    cache = ExtractorCache(loader=lambda *args, **kwargs: extractor)
    with ThreadExecutor(slots=1, model_cache=cache, batch_runs=batch_runs) as executor:
        blocker = executor.submit(replace(batch[0], size=batch[0].size // 2, start_size=None, steps=MAX_STEPS))
        while blocker.status is JobStatus.QUEUED:
            time.sleep(0.01)
        jobs = [executor.submit(config) for config in batch]
        started = time.perf_counter()
        blocker.cancel()
        for job in jobs:
            job.result(timeout=3600)
        seconds = time.perf_counter() - started
        batches = Counter(executor.batch_sizes)
    batches[1] -= 1  # the blocker
    return {"runs_per_minute": 60 * count / seconds, "batches": dict(sorted((+batches).items()))}


def schedule(config: RunConfig) -> list[tuple[tuple[int, int], int]]:
    """(image shape, evaluations) at each scale of ``config``."""
    return list(zip(batch_key(config).shapes, config.scale_steps, strict=True))


CLOCKS = {"wall": 0, "cpu": 1}
"""Which of ``optimize``'s (wall, CPU) stamps a figure uses."""


def bare_seconds_per_run(
    config: RunConfig, count: int, extractor: VGGExtractor, precision: Precision, blocks: int, clock: str
) -> float:
    """The bare network's seconds per run for ``config``'s schedule, ``count`` images per pass."""
    network = extractor.stored_as(precision.autocast, precision.channels_last)
    deepest = max([*config.style_layers, config.content_layer], key=LAYER_INDEX.__getitem__)
    seconds = 0.0
    for (height, width), evaluations in schedule(config):
        images = load_input("content", CONTENT, max(height, width)).expand(count, -1, -1, -1).contiguous()
        per_pass = statistics.median(
            statistics.mean(
                stamp[CLOCKS[clock]]
                for stamp in _bare_block(network, precision, images.to(extractor.device), deepest, 6)
            )
            for _ in range(blocks)
        )
        seconds += evaluations * per_pass / count
    return seconds


def fair_seconds_per_run(
    config: RunConfig, extractor: VGGExtractor, precision: Precision, blocks: int, clock: str
) -> float:
    """The fair baseline's seconds per run for ``config``'s schedule (one image at a time)."""
    seconds = 0.0
    for (height, width), evaluations in schedule(config):
        content = load_input("content", CONTENT, max(height, width)).to(extractor.device)
        style = F.interpolate(
            load_input("style", config.resolved().style[0], max(height, width)), size=(height, width), mode="bicubic"
        ).clamp(0.0, 1.0)
        per_evaluation = statistics.median(
            statistics.mean(
                stamp[CLOCKS[clock]]
                for stamp in _tutorial_block(extractor, content, style.to(extractor.device), 6, True, precision)
            )
            for _ in range(blocks)
        )
        seconds += evaluations * per_evaluation
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, nargs="+", default=[1, 2, 4, 8], help="queued runs per measurement")
    parser.add_argument("--scale", type=float, default=1.0, help="the preset's sides times this")
    parser.add_argument("--steps", type=int, help="steps per run (default: the preset's)")
    parser.add_argument("--repeats", type=int, default=1, help="serial + batched rounds per N (median kept)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, help="torch's intra-op threads (default: torch's choice)")
    parser.add_argument("--clock", choices=list(CLOCKS), default="wall", help="cpu: this process's CPU seconds")
    parser.add_argument("--quick", action="store_true", help="--scale 0.5 --steps 20")
    args = parser.parse_args()
    if args.quick:
        args.scale, args.steps = 0.5, args.steps or 20
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    extractor = load_extractor("random", device)
    sample = configs(1, args.scale, args.steps, device)[0]
    precision = choose_precision(device, sample.optimizer, sample.size)
    shapes = ", ".join(f"{steps} at {h}x{w}" for (h, w), steps in schedule(sample))
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {device}, CPU capability "
        f"{torch.backends.cpu.get_cpu_capability()}; class-demo runs of {sample.steps} steps ({shapes}), "
        f"{precision}; {args.clock} seconds; load average {os.getloadavg()[0]:.2f}"
    )
    print(
        "runs/min: serial, batched, the bare network's (batched as the runs are); speed-up: batched runs/min over "
        "serial's;\nX/bare and X/fair: seconds per run over the bare network's and the fair baseline's (lower is "
        "better);\npasses: network passes by number of images, last batched round"
    )
    print(
        f"{'runs':>4} {'serial/min':>10} {'batched/min':>11} {'speed-up':>8} {'bare/min':>9} {'fair/min':>9} "
        f"{'serial/bare':>11} {'batched/bare':>12} {'serial/fair':>11} {'batched/fair':>12}  passes"
    )
    for count in args.runs:
        figures = runs_per_minute(count, args.scale, args.steps, extractor, args.repeats)
        if args.clock == "wall":
            serial_s, batched_s = 60 / figures["serial_runs_per_minute"], 60 / figures["batched_runs_per_minute"]
        else:
            serial_s, batched_s = figures["serial_cpu_s_per_run"], figures["batched_cpu_s_per_run"]
        # The floors measured right after the runs, so that they share the machine's state of the moment.
        bare = bare_seconds_per_run(sample, count, extractor, precision, 3, args.clock)
        bare_alone = bare if count == 1 else bare_seconds_per_run(sample, 1, extractor, precision, 3, args.clock)
        fair = fair_seconds_per_run(sample, extractor, precision, 3, args.clock)
        print(
            f"{count:>4} {60 / serial_s:>10.2f} {60 / batched_s:>11.2f} {serial_s / batched_s:>7.2f}x "
            f"{60 / bare:>9.2f} {60 / fair:>9.2f} {serial_s / bare_alone:>10.2f}x {batched_s / bare:>11.2f}x "
            f"{serial_s / fair:>10.2f}x {batched_s / fair:>11.2f}x  {figures['passes_by_batch_size']}; final J_style "
            f"batched vs serial within {figures['worst_j_style_difference']:.1e}; load average "
            f"{os.getloadavg()[0]:.2f}"
        )


if __name__ == "__main__":
    main()
