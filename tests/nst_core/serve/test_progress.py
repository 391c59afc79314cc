"""The progress recorder: steps, snapshots, throttled previews, the time left, and copying what is new from
one recorder to another (a Ray worker's to the driver's). The clock is the test's: nothing depends on speed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nst_core.optim.estimate import RunEstimate
from nst_core.optim.result import RunProgress, Snapshot, StepRecord
from nst_core.serve import ProgressRecorder, progress
from nst_core.serve.progress import PREVIEW_INTERVAL_S, ProgressCursor

STEPS = 10
ESTIMATE = RunEstimate(
    seconds=30.0,
    peak_bytes=0,
    device="cpu",
    seconds_per_step=2.5,
    setup_seconds=5.0,
    precision="float32",
    calibrated=True,
    note="",
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(progress.time, "perf_counter", fake)
    return fake


def _step(step: int, elapsed_s: float, snapshot_every: int = 0) -> RunProgress:
    image = torch.full((1, 3, 4, 6), step / STEPS)
    record = StepRecord(step, 1.0, 0.5, 0.5, {"relu1_1": 0.5}, elapsed_s, 1.0)
    snapshot = Snapshot(step, image, {}) if snapshot_every and step % snapshot_every == 0 else None
    return RunProgress(step, STEPS, record, image, snapshot)


def _pixel(preview: np.ndarray | None) -> int:
    assert preview is not None and preview.shape == (4, 6, 3) and preview.dtype == np.uint8
    return int(preview[0, 0, 0])


def test_it_records_every_step_and_snapshot_and_throttles_the_preview(clock: Clock) -> None:
    recorder = ProgressRecorder(STEPS, ESTIMATE)
    assert recorder.read().step == 0 and recorder.read().preview is None and recorder.read().phase == "queued"
    recorder.on_progress(_step(1, 1.0, snapshot_every=4))
    assert _pixel(recorder.read().preview) == round(0.1 * 255)  # the first preview comes at once
    clock.now += PREVIEW_INTERVAL_S / 2
    recorder.on_progress(_step(2, 2.0, snapshot_every=4))
    assert _pixel(recorder.read().preview) == round(0.1 * 255)  # too soon: the preview is kept
    clock.now += PREVIEW_INTERVAL_S / 4
    recorder.on_progress(_step(3, 3.0, snapshot_every=4))
    recorder.on_progress(_step(4, 4.0, snapshot_every=4))
    assert _pixel(recorder.read().preview) == round(0.4 * 255)  # a snapshot always refreshes it
    clock.now += PREVIEW_INTERVAL_S
    recorder.on_progress(_step(5, 5.0, snapshot_every=4))
    assert _pixel(recorder.read().preview) == round(0.5 * 255)  # the interval has passed
    for step in range(6, STEPS + 1):
        recorder.on_progress(_step(step, float(step), snapshot_every=4))
    seen = recorder.read()
    assert _pixel(seen.preview) == 255  # the last step always refreshes it
    assert [r.step for r in seen.history] == list(range(1, STEPS + 1)) and seen.step == STEPS
    assert [s.step for s in seen.snapshots] == [4, 8]


def test_the_time_left_comes_from_the_estimate_then_from_the_runs_own_pace(clock: Clock) -> None:
    recorder = ProgressRecorder(STEPS, ESTIMATE)
    assert recorder.eta_s() == ESTIMATE.seconds
    recorder.on_progress(_step(1, 7.0))
    assert recorder.eta_s() == pytest.approx(ESTIMATE.seconds_per_step * (STEPS - 1))
    recorder.on_progress(_step(2, 8.0))  # setup (before step 1) is not the pace
    recorder.on_progress(_step(3, 9.0))
    assert recorder.eta_s() == pytest.approx(1.0 * (STEPS - 3))
    assert ProgressRecorder(STEPS).eta_s() is None  # no estimate, no step yet: unknown


def test_a_copy_follows_its_recorder_through_cursors(clock: Clock) -> None:
    remote, local = ProgressRecorder(STEPS), ProgressRecorder(STEPS, phase="starting")
    cursor = ProgressCursor()
    remote.set_phase("loading weights")
    remote.downloading(3 * 2**20, 10 * 2**20)
    assert remote.read().phase == "downloading weights: 3 MB of 10 MB"
    remote.set_phase("optimising")
    for step in range(1, 4):
        remote.on_progress(_step(step, float(step), snapshot_every=2))
    update = remote.since(cursor)
    local.apply(update)
    cursor = update.cursor
    assert cursor == ProgressCursor(records=3, snapshots=1, previews=2)  # step 1's, step 2's snapshot
    remote.on_progress(_step(4, 4.0, snapshot_every=2))  # on the same clock tick as the last preview
    update = remote.since(cursor)
    assert [r.step for r in update.records] == [4] and [s.step for s in update.snapshots] == [4]
    local.apply(update)
    nothing_new = remote.since(update.cursor)
    assert (nothing_new.records, nothing_new.snapshots, nothing_new.preview) == ([], [], None)
    local.apply(nothing_new)
    mine, theirs = local.read(), remote.read()
    assert (mine.phase, mine.step, mine.history, mine.snapshots) == ("optimising", 4, theirs.history, theirs.snapshots)
    assert np.array_equal(mine.preview, theirs.preview) and mine.preview is not theirs.preview


def test_a_read_only_preview_is_copied_in(clock: Clock) -> None:
    remote, local = ProgressRecorder(STEPS), ProgressRecorder(STEPS)
    remote.on_progress(_step(1, 1.0))
    update = remote.since(ProgressCursor())
    assert update.preview is not None
    update.preview.flags.writeable = False  # as Ray hands an array back from its shared memory
    local.apply(update)
    assert local.read().preview is not None and local.read().preview.flags.writeable
