"""bench/optimize.py's trick-by-trick and profile modes, on the CPU at a tiny size: every line they print."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (
            "--tricks",
            [
                "float32 G of the 5 style layers",
                "J_style^[l] of the 5 layers",
                "J_content at relu4_2",
                "transform and its backward",
                "joined in the tap's product",
            ],
        ),
        ("--profile", ["profiled self CPU ms per evaluation, bare network", "aten::"]),
    ],
)
def test_each_mode_prints_its_figures(mode: str, expected: list[str]) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, str(ROOT / "bench" / "optimize.py"), mode, "--sizes", "64", "--repeats", "1"]
    done = subprocess.run([*command, "--threads", "1"], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    for text in expected:
        assert text in done.stdout, done.stdout
