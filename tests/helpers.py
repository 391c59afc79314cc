"""Helpers shared by the tests: a fresh app session, small pictures, error checks (page tests); small run
configurations and waiting for a state (executor tests)."""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from nst_core import Job, RunConfig, RunResult
from ui.pages import RUN

APP = str(Path(__file__).resolve().parents[1] / "app.py")
CORRUPT_PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
WAIT_S = 60.0
POLL_DEADLINE_S = 90.0  # generous: these machines are shared; a green run takes a fraction of it


def new_app(monkeypatch: pytest.MonkeyPatch, weights: str = "random") -> AppTest:
    """A fresh session of the app (caches are shared by the whole test process)."""
    monkeypatch.setenv("STYLE_LENS_WEIGHTS", weights)
    return AppTest.from_file(APP, default_timeout=180)


def png_bytes(height: int = 48, width: int = 64, seed: int = 0) -> bytes:
    """A smooth random colour picture as PNG bytes."""
    rng = np.random.default_rng(seed)
    coarse = (rng.random((height // 8 + 1, width // 8 + 1, 3)) * 255).astype(np.uint8)
    picture = Image.fromarray(coarse).resize((width, height), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def relu_activations(n_C: int, n_H: int, n_W: int, seed: int) -> torch.Tensor:
    """Random non-negative activations (n_C, n_H, n_W), as a ReLU layer gives them."""
    return torch.relu(torch.randn(n_C, n_H, n_W, generator=torch.Generator().manual_seed(seed)))


def smooth_image(height: int, width: int, seed: int) -> torch.Tensor:
    """A smooth random picture (1, 3, H, W): coarse noise upsampled, so it has structure at several scales."""
    coarse = torch.rand(1, 3, height // 8, width // 8, generator=torch.Generator().manual_seed(seed))
    return torch.nn.functional.interpolate(coarse, size=(height, width), mode="bilinear", align_corners=False)


def stripes(height: int, width: int) -> torch.Tensor:
    """Vertical orange stripes on a dark ground (the bundled style's idea, drawn here), (1, 3, H, W)."""
    image = torch.full((1, 3, height, width), 0.1)
    on = (torch.arange(width) // 3) % 2 == 0
    image[0, 0, :, on], image[0, 1, :, on], image[0, 2, :, on] = 1.0, 0.55, 0.1
    return image


def assert_no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


@contextmanager
def app_executor(**environ: str) -> Iterator[None]:
    """The app's executor rebuilt under ``environ`` (``STYLE_LENS_MAX_QUEUE="4"``...), shut down after; the
    next test gets one built from its own environment again."""
    from ui.resources import get_executor

    with pytest.MonkeyPatch.context() as patch:
        for name, value in environ.items():
            patch.setenv(name, value)
        get_executor.clear()
        try:
            yield
        finally:
            get_executor.clear()


def small_config(steps: int = 3, **changes: object) -> RunConfig:
    """A 32 px run on random weights and two shallow style layers; its images depend on ``steps`` only."""
    generator = torch.Generator().manual_seed(steps)
    fields: dict[str, object] = {
        "content": torch.rand(1, 3, 32, 32, generator=generator),
        "style": torch.rand(1, 3, 32, 32, generator=generator),
        "size": 32,
        "steps": steps,
        "weights": "random",
        "device": "cpu",
        "style_layers": {"relu1_1": 0.5, "relu2_1": 0.5},
        "content_layer": "relu2_2",
        "snapshot_every": 2,
    }
    return RunConfig(**{**fields, **changes})  # type: ignore[arg-type]


def striped_config(size: int, steps: int, *, seed: int = 1, **changes: object) -> RunConfig:
    """A run on random weights of a smooth picture (``smooth_image``, ``size`` px square unless ``content`` is
    given) towards orange stripes, recording no snapshot."""
    fields: dict[str, object] = {
        "content": smooth_image(size, size, seed=seed),
        "style": stripes(size, size),
        "size": size,
        "steps": steps,
        "weights": "random",
        "device": "cpu",
        "snapshot_every": 0,
    }
    return RunConfig(**{**fields, **changes})  # type: ignore[arg-type]


def assert_same_run(batched: RunResult, solo: RunResult, rel: float, every_step: bool = True) -> None:
    """The same steps with the same costs within ``rel``: at every step, or (``every_step`` False: bfloat16, whose
    rounding a line search's trial points can amplify mid-run) at the first and the last, and the same image.

    The image within ``rel`` * 10 except at a few coordinates: a pixel whose gradient is near 0 is where Adam's
    per-coordinate normalisation turns a rounding-level difference of ∇J (a batch sums in another order) into a
    step of up to ±lr, so a whole float32 run can differ by ~2 lr at 0.3 % of its pixels while every cost agrees."""
    assert [r.step for r in batched.history] == [r.step for r in solo.history]
    pairs = list(zip(batched.history, solo.history, strict=True))
    for ours, theirs in pairs if every_step else [pairs[0], pairs[-1]]:
        assert ours.J == pytest.approx(theirs.J, rel=rel, abs=1e-9)
        assert ours.J_style == pytest.approx(theirs.J_style, rel=rel, abs=1e-9)
    if every_step:
        difference = (batched.image - solo.image).abs()
        assert float((difference > rel * 10).float().mean()) < 0.01 and float(difference.mean()) < rel * 10
    else:
        assert float((batched.image - solo.image).abs().mean()) < rel / 5
    assert [s.step for s in batched.snapshots] == [s.step for s in solo.snapshots]
    assert batched.loss_scaling == solo.loss_scaling and batched.precision == solo.precision


def wait_until(predicate: Callable[[], bool], timeout: float = WAIT_S) -> None:
    """Wait for a state, never for a duration: the tests must not depend on the machine's speed."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


def running(job: Job) -> bool:
    return job.state().step >= 1


# ---------------------------------------------------------------- the Run page in AppTest


def open_page(script: str, *, runs: Sequence[Job] = (), owner: str | None = None, run_id: str | None = None) -> AppTest:
    """A fresh session on the page ``script`` (``ui.pages``: ``RUN.script``...), holding ``runs`` as its own,
    for the visitor ``owner`` (an owner token, else a new one), opened from a link to ``run_id``."""
    at = AppTest.from_file(APP, default_timeout=120)
    if runs:
        at.session_state["runs"] = {job.id: job for job in runs}
    if owner is not None:
        at.session_state["_owner"] = owner
    at.run()
    at.switch_page(script)
    if run_id is not None:
        at.query_params["run"] = run_id
    at.run()
    assert_no_exception(at)
    return at


def open_run_page() -> AppTest:
    """A fresh session on the Run page."""
    return open_page(RUN.script)


def set_form(at: AppTest, **values: object) -> AppTest:
    """Set the Run form's fields by name (size=32, steps=4, ...) and rerun."""
    widgets = {w.key: w for kind in ("number_input", "radio", "selectbox", "multiselect") for w in at.get(kind)}
    for name, value in values.items():
        widgets[f"run_{name}"].set_value(value)
    return at.run()


def launch(at: AppTest) -> None:
    """Click Launch on the Run page."""
    at.button(key="run_launch").click().run()
    assert_no_exception(at)


def jobs(at: AppTest) -> list[Job]:
    """The session's runs, oldest first."""
    return list(at.session_state["runs"].values())


def poll(at: AppTest, until: Callable[[], bool], deadline_s: float = POLL_DEADLINE_S) -> None:
    """Rerun the page until ``until()`` holds (AppTest never fires a fragment's timer itself), then once
    more, so that the page shows that state."""
    end = time.monotonic() + deadline_s
    while not until():
        assert time.monotonic() < end, "timed out polling the run"
        time.sleep(0.2)
        at.run()
        assert_no_exception(at)
    at.run()
    assert_no_exception(at)


def _run_form_script() -> None:
    import streamlit as st

    from ui.run_form import run_settings

    if st.session_state.get("show_form", True):
        st.session_state["fields"] = run_settings()


def run_form_app(preset: str = "class_demo", owner: str | None = None) -> AppTest:
    """The Run form alone, in a session on the CPU with ``preset`` (for the visitor ``owner``: an owner
    token, else a new one); ``show_form`` False hides it."""
    at = AppTest.from_function(_run_form_script, default_timeout=30)
    at.session_state["preset"] = preset
    at.session_state["device"] = "cpu"
    if owner is not None:
        at.session_state["_owner"] = owner
    return at.run()
