"""Twenty visitors launch a tiny run at once: every one ends with its run done or with the queue-full
sentence, none is lost or stuck, the queue serves them in order and the process's memory stays bounded.

The sessions are AppTest sessions driven one script run at a time (AppTest keeps one mock runtime per
process, so two of its script runs cannot overlap), all against the app's one executor. A long run of a
first visitor holds the only slot while the twenty launch, so the queue fills the same way on any machine:
``MAX_QUEUE`` of them wait, the rest are told the queue is full; then that run is stopped and the queue
drains. Never a speed assertion: the test waits for states, with a generous deadline.
"""

from __future__ import annotations

import resource
import sys
import time

from streamlit.testing.v1 import AppTest

from nst_core import JobStatus
from tests.helpers import app_executor, assert_no_exception, launch, open_run_page, poll, set_form

VISITORS = 20
MAX_QUEUE = 8
DEADLINE_S = 300.0
MEMORY_BOUND_MB = 800  # generous: 20 sessions, 8 tiny runs and their stored copies take far less


def peak_rss_mb() -> float:
    """The process's peak resident memory so far (``ru_maxrss``: kB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def session_jobs(at: AppTest) -> list:
    return list(at.session_state["runs"].values()) if "runs" in at.session_state else []


def test_twenty_visitors_at_once_are_all_served_or_told_the_queue_is_full() -> None:
    # A pause of 0.2 s a step keeps the long run from taking a core while the visitors launch.
    limits = {"STYLE_LENS_MAX_QUEUE": str(MAX_QUEUE), "STYLE_LENS_MAX_STEPS": "100000"}
    with app_executor(**limits, STYLE_LENS_TEST_STEP_DELAY_S="0.2"):
        holder = set_form(open_run_page(), size=32, steps=100_000, snapshot_every=1000)
        launch(holder)
        (blocker,) = session_jobs(holder)
        poll(holder, lambda: blocker.status == JobStatus.RUNNING)
        before = peak_rss_mb()
        began = time.monotonic()

        visitors = [set_form(open_run_page(), size=32, steps=3, snapshot_every=3) for _ in range(VISITORS)]
        for at in visitors:
            launch(at)
        queued = [at for at in visitors if session_jobs(at)]
        refused = [at for at in visitors if not session_jobs(at)]
        assert len(queued) == MAX_QUEUE and len(refused) == VISITORS - MAX_QUEUE
        for at in refused:
            (warning,) = at.warning
            assert warning.value.startswith("The queue is full, about "), warning.value
        positions = [session_jobs(at)[0].state().queue_position for at in queued]
        assert positions == list(range(1, MAX_QUEUE + 1))  # first come, first served

        blocker.cancel()
        jobs = [session_jobs(at)[0] for at in queued]
        results = [job.result(timeout=DEADLINE_S) for job in jobs]  # raises if a run failed or was cancelled
        for at, job, result in zip(queued, jobs, results, strict=True):
            at.run()
            assert_no_exception(at)
            assert job.status == JobStatus.DONE and len(result.history) == 3
            assert any("is done" in success.value for success in at.success)
        starts = [job.state().elapsed_s for job in jobs]  # every one ran (a job that never started has 0)
        assert all(elapsed > 0 for elapsed in starts)
        after = peak_rss_mb()
    print(
        f"\n{VISITORS} visitors, queue of {MAX_QUEUE}: {len(queued)} runs done, {len(refused)} told the queue is "
        f"full, in {time.monotonic() - began:.1f} s; peak memory {before:.0f} -> {after:.0f} MB"
    )
    assert after - before < MEMORY_BOUND_MB
