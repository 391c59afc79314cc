"""Share links in AppTest: a stored run opened by ``?run=`` on the Run and Style vs generated pages (the
numbers it was stored with, read-only for visitors), bad ids as one sentence, "My runs", the class
gallery, and uploads linked by their stored id. Every test has a data folder of its own."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from nst_core import RunConfig, RunResult, RunStore, ThreadExecutor
from tests.helpers import APP, assert_no_exception, open_page, png_bytes
from ui import latex
from ui.pages import RUN, STYLE_VS_GENERATED

OWNER = "owner-token-of-the-teacher-0123"
HOSTILE_IDS = ["nope", "../../etc/passwd", "/etc/passwd", "x" * 10_000, "A" * 22]


@pytest.fixture(scope="module")
def result() -> Iterator[RunResult]:
    """One finished tiny run (32 px, 4 steps, a snapshot every 2) of the bundled examples."""
    executor = ThreadExecutor()
    config = RunConfig(
        content="chelsea", style="orange_strokes", size=32, steps=4, snapshot_every=2, weights="random", device="cpu"
    )
    yield executor.submit(config).result(timeout=120)
    executor.shutdown()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RunStore:
    monkeypatch.setenv("STYLE_LENS_DATA", str(tmp_path))
    monkeypatch.delenv("STYLE_LENS_GALLERY", raising=False)
    return RunStore(tmp_path)


def metric(at: AppTest, label: str) -> str:
    (value,) = [m.value for m in at.metric if m.label == label]
    return value


def test_a_stored_run_opens_read_only_with_its_numbers(store: RunStore, result: RunResult) -> None:
    run_id = store.put(result, owner=OWNER, title="Chelsea, painted")
    at = open_page(RUN.script, run_id=run_id)
    last = store.get(run_id).history[-1]
    assert metric(at, "Final J_style") == f"{last.J_style:.4g}" == f"{result.history[-1].J_style:.4g}"
    assert metric(at, "Final J") == f"{last.J:.4g}"
    assert any("read-only" in info.value for info in at.info)
    assert not [b for b in at.button if b.label == "Stop"]
    assert [b for b in at.button if b.label == "Use these settings"]
    assert any(code.value.endswith(f"?run={run_id}") for code in at.code)  # the copy link
    assert "Chelsea, painted" in [s.value for s in at.subheader]


def test_use_these_settings_fills_the_form_style_controls_included(store: RunStore, result: RunResult) -> None:
    controls = {"start_size": 16, "tv_weight": 0.3, "preserve_colors": "luminance", "style_loss": "mean_cov"}
    styled = replace(result, config=replace(result.config, **controls, parameterization="pixels"))
    run_id = store.put(styled)
    at = open_page(RUN.script, run_id=run_id)
    at.button(key="run_use_settings").click().run()
    assert_no_exception(at)
    assert at.session_state["run_new_open"] and at.session_state["run_settings_open"]  # the form unfolds
    assert at.number_input(key="run_size").value == 32 and at.number_input(key="run_steps").value == 4
    fields = {name: at.session_state[f"run_{name}"] for name in (*controls, "parameterization")}
    assert fields == {**controls, "parameterization": "pixels"}


def test_the_owner_sees_it_as_theirs_and_in_my_runs(store: RunStore, result: RunResult) -> None:
    run_id = store.put(result, owner=OWNER)
    mine = open_page(RUN.script, run_id=run_id, owner=OWNER)
    assert any("one of your runs" in info.value for info in mine.info)
    assert any(link.proto.query_string == f"run={run_id}" for link in mine.page_link)  # "My runs"
    visitor = open_page(RUN.script, owner="another-visitor-token-000000")
    assert "My runs" not in [s.value for s in visitor.subheader]
    assert not any(run_id in link.proto.query_string for link in visitor.page_link)  # unlisted


@pytest.mark.parametrize("page", [RUN.script, STYLE_VS_GENERATED.script])
def test_unknown_or_hostile_ids_say_one_sentence(store: RunStore, page: str) -> None:
    for bad in HOSTILE_IDS:
        at = open_page(page, run_id=bad)
        (error,) = at.error
        assert error.value.startswith("This link names no run stored on this server"), error.value
        assert bad not in error.value or len(bad) < 10


def test_the_gallery_lists_everyone_only_when_enabled(
    store: RunStore, result: RunResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = store.put(result, owner=OWNER, title="On the projector")
    at = open_page(RUN.script)
    assert not any(run_id in link.proto.query_string for link in at.page_link)
    monkeypatch.setenv("STYLE_LENS_GALLERY", "1")
    at = open_page(RUN.script)
    assert any(s.value.startswith("Class gallery") for s in at.subheader)
    (link,) = [link for link in at.page_link if run_id in link.proto.query_string]
    assert "On the projector" in link.label


def test_style_vs_generated_shows_the_stored_grams_and_steps(store: RunStore, result: RunResult) -> None:
    run_id = store.put(result)
    at = open_page(STYLE_VS_GENERATED.script, run_id=run_id)
    slider = at.select_slider(key=f"svg_step_{run_id}")
    assert list(map(int, slider.options)) == [s.step for s in result.snapshots if s.grams]
    layer = at.selectbox(key=f"svg_layer_{run_id}").value
    final = result.history[-1].J_style_layers[layer]
    rows = [line for m in at.markdown for line in m.value.splitlines() if line.startswith("| $J_{style}^{[l]}$")]
    assert len(rows) == 1 and rows[0].endswith(f"| ${latex.number(final)}$ |")
    assert at.query_params["run"] == run_id  # the URL keeps naming it: a reload shows it again
    assert any(code.value.endswith(f"/compare?run={run_id}") for code in at.code)


def test_an_upload_link_opens_the_same_image_elsewhere(store: RunStore) -> None:
    data = png_bytes(seed=3)
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.sidebar.file_uploader(key="content_file").set_value(("my_photo.jpg", data, "image/png")).run()
    assert_no_exception(at)
    upload = at.session_state["content_upload"]
    assert store.get_image(upload.source) == data  # kept under an unguessable id, not its file name
    assert "my_photo" not in upload.source

    other = AppTest.from_file(APP, default_timeout=120)
    other.query_params["content"] = f"upload:{upload.source}"
    other.run()
    assert_no_exception(other)
    assert other.sidebar.selectbox(key="content").value == "upload"
    assert other.session_state["content_upload"].digest == upload.digest

    broken = AppTest.from_file(APP, default_timeout=120)
    broken.query_params["content"] = "upload:" + "B" * 22
    broken.run()
    assert_no_exception(broken)
    (error,) = broken.sidebar.error
    assert "cannot be opened" in error.value
    assert broken.sidebar.selectbox(key="content").value == "chelsea"


def test_a_launched_run_is_stored_with_its_images_named(store: RunStore) -> None:
    at = open_page(RUN.script, owner=OWNER)
    for key, value in {"run_size": 32, "run_steps": 2, "run_snapshot_every": 1}.items():
        at.number_input(key=key).set_value(value)
    at.run()
    at.button(key="run_launch").click().run()
    (job,) = at.session_state["runs"].values()
    job.result(timeout=120)
    from ui.run_saver import SAVE_WAIT_S, run_saver

    run_id = run_saver().stored_id(job.id, SAVE_WAIT_S)
    stored = store.get(run_id)
    assert stored.owner == OWNER and stored.config.content == "chelsea" and stored.config.style == "orange_strokes"
    assert [r.J for r in stored.history] == [r.J for r in job.result().history]
