"""The fair queue in the app: each visitor's limit and the full queue as sentences, the queue's position and
wait while queued, the form capped by the hosted limits, a visitor's last tab releasing their queued runs,
and one visitor's failures never reaching another's session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from streamlit.runtime.caching import clear_session_resource_cache
from streamlit.testing.v1 import AppTest

from nst_core import JobStatus
from tests.helpers import CORRUPT_PNG, app_executor, assert_no_exception, launch, open_run_page, poll, set_form

APPTEST_SESSION = "test session id"  # every AppTest runs its scripts under this one session id


@pytest.fixture
def slow_queue() -> Iterator[None]:
    """An executor whose runs pause 0.2 s a step (so they stay running while the test looks), 2 waiting at most."""
    with app_executor(STYLE_LENS_MAX_QUEUE="2", STYLE_LENS_TEST_STEP_DELAY_S="0.2"):
        yield


def long_run_page() -> AppTest:
    return set_form(open_run_page(), size=32, steps=200, snapshot_every=100)


def the_job(at: AppTest):
    (job,) = at.session_state["runs"].values()
    return job


def test_a_second_launch_says_why_and_a_full_queue_says_how_long(
    slow_queue: None,
) -> None:
    first = long_run_page()
    launch(first)
    running = the_job(first)
    launch(first)
    (warning,) = first.warning
    assert "You already have 1 run queued or running" in warning.value, warning.value
    assert len(first.session_state["runs"]) == 1  # the refused launch added no run

    waiting = [long_run_page() for _ in range(2)]
    for at in waiting:
        launch(at)
    poll(waiting[-1], lambda: running.status == JobStatus.RUNNING)
    infos = [info.value for info in waiting[-1].info]
    assert any("Waiting in the queue (position 2)" in text and "Estimated wait:" in text for text in infos), infos

    refused = long_run_page()
    launch(refused)
    (warning,) = refused.warning
    assert warning.value.startswith("The queue is full, about ") and " min " in warning.value, warning.value
    assert "runs" not in refused.session_state or not refused.session_state["runs"]
    for at in (first, *waiting):
        the_job(at).cancel()


def test_the_form_is_capped_by_the_hosted_limits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STYLE_LENS_MAX_SIZE", "96")
    monkeypatch.setenv("STYLE_LENS_MAX_STEPS", "40")
    at = open_run_page()
    size, steps = at.number_input(key="run_size"), at.number_input(key="run_steps")
    assert size.value <= 96 and steps.value <= 40  # the preset's 128 px / 150 steps brought within the caps
    assert size.proto.max == 96 and steps.proto.max == 40
    assert "96 px" in size.help and "40" in steps.help


def test_the_sidebar_says_what_serves_the_runs() -> None:
    at = open_run_page()
    (line,) = [caption.value for caption in at.sidebar.caption if "Runs served by" in caption.value]
    assert "threads on this machine" in line and "slot" in line, line


def test_a_released_session_drops_its_queued_run_and_its_running_run_finishes(
    slow_queue: None,
) -> None:
    running_page, queued_page = long_run_page(), long_run_page()
    launch(running_page)
    launch(queued_page)
    running, queued = the_job(running_page), the_job(queued_page)
    poll(running_page, lambda: running.status == JobStatus.RUNNING)
    assert queued.status == JobStatus.QUEUED

    clear_session_resource_cache(APPTEST_SESSION)  # what Streamlit does when the tabs' sessions end

    assert queued.status == JobStatus.CANCELLED
    assert running.status == JobStatus.RUNNING  # it finishes, and is stored: its link keeps working
    running.cancel()


def test_one_visitors_bad_upload_and_failed_run_never_reach_another(
    slow_queue: None,
) -> None:
    alice, bob = long_run_page(), long_run_page()
    launch(bob)
    bobs = the_job(bob)
    alice.sidebar.file_uploader(key="content_file").set_value(("broken.png", CORRUPT_PNG, "image/png")).run()
    assert_no_exception(alice)
    assert alice.sidebar.error  # her upload is refused with a sentence...
    launch(alice)
    alices = the_job(alice)
    alices.cancel()  # ...and her run is stopped
    poll(alice, lambda: alices.status == JobStatus.CANCELLED)
    bob.run()
    assert_no_exception(bob)
    assert not bob.error and not bob.sidebar.error
    assert bobs.status in (
        JobStatus.QUEUED,
        JobStatus.RUNNING,
    )  # ...while his run goes on untouched
    poll(bob, lambda: bobs.state().step > 0)
    bobs.cancel()
