"""RunSaver's memory of finished jobs: bounded, the most recent kept."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from nst_core import JobStatus, RunConfig, RunStore
from ui.run_saver import RunSaver


@dataclass
class _FailedJob:
    """A job that failed: the saver records that it has no stored run, without touching the store."""

    id: str
    status: JobStatus = JobStatus.FAILED
    config: RunConfig = field(default_factory=lambda: RunConfig(content="chelsea", style="mosaic"))

    def add_done_callback(self, callback: Callable[[_FailedJob], None]) -> None:
        callback(self)


def test_the_saver_remembers_only_its_most_recent_jobs(tmp_path) -> None:
    saver = RunSaver(RunStore(tmp_path), max_bytes=2**30, remembered=3)
    ids = [f"job-{number:018d}" for number in range(5)]
    for job_id in ids:
        saver.track(_FailedJob(job_id), owner="visitor", title="", content="chelsea", style="mosaic")  # type: ignore[arg-type]
    assert [job_id for job_id in ids if saver._tracked(job_id)] == ids[2:]
    assert saver.active("visitor") == []  # finished jobs leave the owner's active list too
    assert saver.store.interrupted() == []  # and the store's record of pending runs
