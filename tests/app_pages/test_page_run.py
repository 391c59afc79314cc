"""The Run page in AppTest: a tiny run launched and polled to its result, Stop, the queue, bad settings."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from nst_core.serve.admission import hosted_limits
from nst_core.serve.files import GRAMS_FILE, HISTORY_FILE, IMAGE_FILE, run_archive
from tests.helpers import app_executor, jobs, launch, open_run_page, poll, set_form
from ui.pages import GRAM_EXPLORER, RUN
from ui.run_saver import run_saver
from ui.state import PRESETS, default_preset


@pytest.fixture(scope="module")
def finished() -> Iterator[AppTest]:
    """A session whose tiny run (32 px, 6 steps, a snapshot every 2) was launched and polled to its end."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STYLE_LENS_WEIGHTS", "random")
        at = set_form(open_run_page(), size=32, steps=6, snapshot_every=2)
        launch(at)
        (job,) = jobs(at)
        poll(at, lambda: job.status not in ("queued", "running"))
        yield at


def test_tiny_run_shows_its_result_and_downloads(finished: AppTest) -> None:
    (job,) = jobs(finished)
    assert job.status == "done", job.state().error
    assert any("is done" in element.value for element in finished.success)
    captions = [caption for image in finished.image for caption in image.captions]
    assert any("generated image" in caption for caption in captions)
    labels = {button.label: button for button in finished.download_button}
    assert {"Download the image (PNG)", "Download the run's data (ZIP)"} <= set(labels)
    assert labels["Download the image (PNG)"].proto.url.endswith(".png")
    assert labels["Download the run's data (ZIP)"].proto.deferred_file_id  # built on click by run_archive
    (link,) = [link for link in finished.page_link if "Compare" in link.value]
    assert link.proto.query_string == f"run={run_saver().stored_id(job.id)}"  # the stored run: a shareable link
    assert finished.dataframe[0].value["Status"].tolist() == ["done"]


def test_run_archive_holds_history_grams_and_image(finished: AppTest) -> None:
    (job,) = jobs(finished)
    result = job.result()
    with zipfile.ZipFile(io.BytesIO(run_archive(result))) as archive:
        history = json.loads(archive.read(HISTORY_FILE))
        grams = np.load(io.BytesIO(archive.read(GRAMS_FILE)))
        image = Image.open(io.BytesIO(archive.read(IMAGE_FILE)))
    assert [record["J_style"] for record in history["history"]] == [record.J_style for record in result.history]
    for layer, target in result.style_grams.items():
        np.testing.assert_array_equal(grams[f"G_S/{layer}"], target.numpy())
    for layer, gram in result.snapshots[-1].grams.items():
        np.testing.assert_array_equal(grams[f"G_G/{layer}"], gram.numpy())
    assert image.size == (result.image.shape[-1], result.image.shape[-2])


def test_stop_cancels_the_running_job_and_a_queued_one_never_starts() -> None:
    with app_executor(STYLE_LENS_MAX_ACTIVE="2", STYLE_LENS_MAX_STEPS="5000"):
        _stop_running_and_queued()


def _stop_running_and_queued() -> None:
    at = set_form(open_run_page(), size=32, steps=5000, snapshot_every=50)
    launch(at)
    launch(at)
    first, second = jobs(at)
    # The page shows the newest run: queued behind the first.
    assert any("Waiting in the queue" in info.value for info in at.info)
    at.button(key=f"stop_{second.id}").click().run()
    poll(at, lambda: second.status == "cancelled")
    assert any("stopped" in warning.value for warning in at.warning)
    at.selectbox(key="run_current").select_index(1).run()  # newest first
    poll(at, lambda: first.status == "running" and first.state().step > 0)
    assert at.progress, "a running job shows its progress"
    at.button(key=f"stop_{first.id}").click().run()
    poll(at, lambda: first.status == "cancelled")
    assert second.state().step == 0
    assert any("stopped" in warning.value for warning in at.warning)
    assert not at.error


def test_bad_settings_show_their_message_and_disable_launch() -> None:
    at = set_form(open_run_page(), alpha=-1.0)
    (error,) = at.error
    assert "α: content weight" in error.value and "-1" in error.value, error.value
    assert at.button(key="run_launch_disabled").disabled
    at = set_form(at, alpha=1.0)
    assert not at.error and not at.button(key="run_launch").disabled


def test_the_form_keeps_its_values_across_pages() -> None:
    at = set_form(open_run_page(), beta=123.0, steps=7)
    at.switch_page(GRAM_EXPLORER.script).run()
    at.switch_page(RUN.script).run()
    assert at.number_input(key="run_beta").value == 123.0
    assert at.number_input(key="run_steps").value == 7


def test_the_pages_preset_picker_is_the_sidebars_and_sets_the_form() -> None:
    """The preset beside Launch (the sidebar's own is below a projector's fold) changes both."""
    at = open_run_page()
    other = next(key for key in PRESETS if key != at.session_state["preset"])
    at.selectbox(key="run_preset").select(other).run()
    assert not at.exception, at.exception
    assert at.session_state["preset"] == other
    assert at.sidebar.selectbox(key="preset").value == other
    assert at.number_input(key="run_size").value == min(PRESETS[other].size, hosted_limits().max_size)
    assert at.number_input(key="run_steps").value == min(PRESETS[other].steps, hosted_limits().max_steps)
    # and the other way round: the sidebar's choice shows beside Launch
    at.sidebar.selectbox(key="preset").select(default_preset()).run()
    assert at.selectbox(key="run_preset").value == default_preset()
