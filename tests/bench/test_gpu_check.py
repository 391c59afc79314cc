"""bench/gpu_check.py's dry run: every code path of the GPU check, on the CPU with tiny sizes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_dry_run_goes_through_every_check(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "gpu_check.py"), "--dry-run", "--json", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    figures = json.loads(out.read_text())
    assert figures["maths"]["ok"] and figures["maths"]["gram_max_rel_error"] < 1e-4
    assert {check["precision"] for check in figures["precisions"].values()} <= {
        "float32",
        "float32, channels-last",
        "bfloat16 autocast, channels-last",
    }
    assert [(r["optimizer"], r["steps"]) for r in figures["speed"]["long_runs"]] == [("lbfgs", 3), ("adam", 3)]
    assert [r["size"] for r in figures["speed"]["per_step"]] == [32, 40]
    assert all(r["estimated_peak_mb"] > 0 and r["median_step_s"] > 0 for r in figures["speed"]["per_step"])
    for name in ("threads", "ray"):
        rows = figures["concurrency"][name]
        if isinstance(rows, str):  # ray not installed
            assert name == "ray" and "skipped" in rows
            continue
        assert [r["runs_at_once"] for r in rows] == [1, 2] and all(r["runs_per_minute"] > 0 for r in rows)
    batching = figures["batching"]
    assert [r["runs"] for r in batching] == [1, 2]
    assert all(r["serial_runs_per_minute"] > 0 and r["batched_runs_per_minute"] > 0 for r in batching)
    assert batching[1]["passes_by_batch_size"].get("2", 0) > 0  # the two runs shared passes (JSON keys are text)
    for row in batching:  # the serving path: the executor's queue gathered the batch (or served one at a time)
        assert row["executor"]["serial"]["batches"] == {"1": row["runs"]}
        assert row["executor"]["batched"]["batches"] == {str(row["runs"]): 1}
        assert all(figures["runs_per_minute"] > 0 for figures in row["executor"].values())
    assert "maths vs float64" in done.stdout and "runs_per_minute" not in done.stdout
    assert "batching 2 class-demo runs" in done.stdout and "through ThreadExecutor: batch_runs=1" in done.stdout
