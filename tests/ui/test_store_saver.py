"""RunSaver's memory of finished jobs: bounded, the most recent kept."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nst_core import JobStatus, RunStore
from ui.store import RunSaver


@dataclass
class _FailedJob:
    """A job that failed: the saver records that it has no stored run, without touching the store."""

    id: str
    status: JobStatus = JobStatus.FAILED

    def add_done_callback(self, callback: Callable[[_FailedJob], None]) -> None:
        callback(self)


def test_the_saver_remembers_only_its_most_recent_jobs(tmp_path) -> None:
    saver = RunSaver(RunStore(tmp_path), max_bytes=2**30, remembered=3)
    for number in range(5):
        saver.track(_FailedJob(f"job-{number}"), owner="visitor", title="", content="chelsea", style="mosaic")  # type: ignore[arg-type]
    remembered = [f"job-{n}" for n in range(5) if saver._tracked(f"job-{n}")]
    assert remembered == ["job-2", "job-3", "job-4"]
    assert saver.active("visitor") == []  # finished jobs leave the owner's active list too
