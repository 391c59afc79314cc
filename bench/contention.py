"""How much do waiting visitors slow the running run? The suite's contention test, with figures.

Steps/s of one run while only its own visitor's page polls, and while N more visitors' pages poll,
in alternating windows of the same run; each simulated page does what Streamlit does for the Run page's
two polling fragments under this app's ``.streamlit/config.toml`` (see tests/nst_core/serve/test_contention.py).

    python bench/contention.py                    # 96 px, 1 and 2 waiting visitors
    python bench/contention.py --post-script-gc   # as Streamlit's default (runner.postScriptGC = true) does
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' simulation, from a checkout

from nst_core import RunConfig, ThreadExecutor, load_extractor
from nst_core.serve import ExtractorCache
from tests.nst_core.serve import test_contention as simulation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--waiting", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--window", type=int, default=10, help="steps per measurement window")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--post-script-gc", action="store_true", help="collect after every script run")
    args = parser.parse_args()
    if args.post_script_gc:
        simulation.streamlit_collects_after_each_script_run = lambda: True
    heap = [[i] for i in range(max(0, simulation.SERVER_OBJECTS - len(gc.get_objects())))]
    generator = torch.Generator().manual_seed(0)
    config = RunConfig(
        content=torch.rand(1, 3, args.size, args.size, generator=generator),
        style=torch.rand(1, 3, args.size, args.size, generator=generator),
        size=args.size,
        steps=100_000,
        weights="random",
        device="cpu",
        optimizer="adam",
        snapshot_every=0,
    )
    extractor = load_extractor("random", device="cpu")
    print(
        f"{args.size} px Adam, torch threads {torch.get_num_threads()}, post-script GC "
        f"{simulation.streamlit_collects_after_each_script_run()}, {len(gc.get_objects())} objects tracked, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    for waiting in args.waiting:
        with ThreadExecutor(model_cache=ExtractorCache(loader=lambda *a, **k: extractor)) as executor:
            alone, loaded = simulation.slowdown(executor, config, waiting, args.window, args.rounds)
        print(f"{waiting} waiting: {alone:.2f} steps/s alone, {loaded:.2f} loaded, slowdown {alone / loaded:.2f}x")
    del heap


if __name__ == "__main__":
    main()
