"""The page scripts themselves: Streamlit's "magic" draws every bare string a page script holds, so the
only string statements allowed are docstrings (a module's, a function's, a class's)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted([ROOT / "app.py", *(ROOT / "app_pages").glob("*.py")])


def _stray_strings(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if not isinstance(body, list):
            continue
        for position, statement in enumerate(body):
            is_docstring = position == 0 and isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef)
            if (
                isinstance(statement, ast.Expr)
                and isinstance(statement.value, ast.Constant)
                and isinstance(statement.value.value, str)
                and not is_docstring
            ):
                lines.append(statement.lineno)
    return lines


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_a_page_script_holds_no_bare_string_that_magic_would_draw(script: Path) -> None:
    assert _stray_strings(ast.parse(script.read_text())) == [], f"{script.name}: bare strings Streamlit would show"
