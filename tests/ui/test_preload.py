"""The first visitors of a fresh server import the app at the same time, each session in its own thread: none
of them may get a half-initialised module (an ImportError box instead of the page). Each attempt is a fresh
interpreter where one session runs ``app.py``'s imports and two more start once it has begun importing the
core; without ``ui.preload`` five attempts of six failed (the test passes whatever the machine's speed; a very
different speed only makes it less likely to catch the race)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SESSIONS = 3
ATTEMPTS = 5

_FIRST_VISITS = """
import sys, threading, time
import streamlit  # the server has it imported before any session starts
imports, sessions = sys.argv[1], int(sys.argv[2])
failures = []

def session():
    try:
        exec(imports, {})
    except Exception as error:
        failures.append(repr(error))

threads = [threading.Thread(target=session) for _ in range(sessions)]
threads[0].start()
while "nst_core" not in sys.modules:  # the others arrive while the first is importing the core
    time.sleep(0.001)
for thread in threads[1:]:
    thread.start()
for thread in threads:
    thread.join()
print(failures)
sys.exit(1 if failures else 0)
"""


def _app_imports() -> str:
    """``app.py``'s own import statements, in order (``from __future__`` aside)."""
    tree = ast.parse((ROOT / "app.py").read_text())
    statements = [
        node
        for node in tree.body
        if isinstance(node, (ast.Import, ast.ImportFrom))
        and not (isinstance(node, ast.ImportFrom) and node.module == "__future__")
    ]
    return "\n".join(ast.unparse(node) for node in statements)


def test_sessions_importing_the_app_at_once_each_get_whole_modules() -> None:
    imports = _app_imports()
    assert "ui.preload" in imports.splitlines()[1]  # right after streamlit, before anything of the app's
    for _ in range(ATTEMPTS):
        done = subprocess.run(
            [sys.executable, "-c", _FIRST_VISITS, imports, str(SESSIONS)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, f"a session's import failed: {done.stdout}{done.stderr[-2000:]}"
