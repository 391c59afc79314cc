"""ui.runs: how a running job's progress is put into words."""

from __future__ import annotations

import pytest

from nst_core import JobState, JobStatus
from ui.runs import time_left


def _running(step: int, eta_s: float | None, phase: str = "optimising") -> JobState:
    return JobState(JobStatus.RUNNING, step, 10, (), None, 12.0, eta_s, None, None, phase=phase)


def test_a_job_still_setting_up_is_never_almost_done() -> None:
    # The estimate before the first step counts the steps only, not the set-up (a Ray worker starting).
    text = time_left(_running(0, 0.4, phase="starting a Ray worker"))
    assert "almost done" not in text and "left" not in text
    assert text == "its steps estimated at under 1 s"


@pytest.mark.parametrize(
    ("step", "eta_s", "expected"),
    [(3, 0.4, "almost done"), (3, 75.0, "about 1 min 15 s left"), (3, None, "time left unknown")],
)
def test_a_stepping_job_says_what_is_left(step: int, eta_s: float | None, expected: str) -> None:
    assert time_left(_running(step, eta_s)) == expected
