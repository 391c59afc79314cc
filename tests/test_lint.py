"""The code style is checked in CI: ``ruff check`` over the whole repository must pass (rules in pyproject.toml),
and the imports keep their direction (import-linter contracts, also in pyproject.toml). Both tools are test
requirements (requirements-test.txt): a missing linter is a broken set-up, not a skip."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _python(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)


def test_ruff_finds_nothing() -> None:
    done = _python("-m", "ruff", "check", "--no-cache", str(ROOT))  # --no-cache: nothing written into the checkout
    assert done.returncode == 0, f"ruff check failed (exit {done.returncode}):\n{done.stdout}{done.stderr}"


def test_imports_go_one_way() -> None:
    # nst_core never imports Streamlit or ui, nst_core.optim never reaches nst_core.serve, only
    # nst_core.figures imports Plotly.
    done = _python("-c", "import sys, importlinter.cli as c; sys.exit(c.lint_imports(no_cache=True, no_logo=True))")
    assert done.returncode == 0, f"an import contract is broken:\n{done.stdout}{done.stderr}"
    assert "0 broken" in done.stdout, done.stdout
