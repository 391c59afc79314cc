"""``ProgressRecorder``: what a run has done so far (steps, snapshots, the latest preview, its phase) and the
time it has left, recorded as it goes and read from other threads.

A run on this machine records into the recorder of its job; a run on a Ray worker records into one in the
worker process, and the driver copies what is new (``since`` there, ``apply`` here) into its job's.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np

from ..images import to_pil
from ..optim.estimate import RunEstimate
from ..optim.result import RunProgress, Snapshot, StepRecord

PREVIEW_INTERVAL_S = 0.5
"""Between snapshots, the live preview is refreshed at most this often (each refresh copies the image)."""


@dataclass(frozen=True)
class ProgressCursor:
    """How much of a recorder a copy holds: its first ``records`` steps and ``snapshots`` snapshots, and its
    preview number ``previews`` (a count, not a time: two previews may share a clock tick)."""

    records: int = 0
    snapshots: int = 0
    previews: int = 0


@dataclass(frozen=True)
class ProgressUpdate:
    """What a recorder holds beyond a cursor: new steps and snapshots, the preview if newer (else None),
    the phase, and the cursor that covers it all."""

    phase: str
    records: list[StepRecord]
    snapshots: list[Snapshot]
    preview: np.ndarray | None
    cursor: ProgressCursor


@dataclass(frozen=True)
class Progress:
    """A consistent copy of a recorder: ``step`` 0 before the first step; ``preview`` (H, W, 3) uint8 or None."""

    phase: str
    step: int
    history: tuple[StepRecord, ...]
    snapshots: tuple[Snapshot, ...]
    preview: np.ndarray | None
    eta_s: float | None


class ProgressRecorder:
    """The progress of one run of ``steps`` steps; thread-safe. ``estimate`` (may be None) gives the time
    left before two steps have set the run's own pace."""

    def __init__(self, steps: int, estimate: RunEstimate | None = None, phase: str = "queued") -> None:
        self.steps = steps
        self.estimate = estimate
        self._lock = threading.Lock()
        self._phase = phase
        self._history: list[StepRecord] = []
        self._snapshots: list[Snapshot] = []
        self._preview: np.ndarray | None = None
        self._preview_at = 0.0
        self._previews = 0

    def set_phase(self, phase: str) -> None:
        with self._lock:
            self._phase = phase

    def downloading(self, done_bytes: int, total_bytes: int | None) -> None:
        """The phase while weights download (an extractor loader's ``progress`` callback)."""
        total = f" of {total_bytes / 2**20:.0f} MB" if total_bytes else ""
        self.set_phase(f"downloading weights: {done_bytes / 2**20:.0f} MB{total}")

    def on_progress(self, progress: RunProgress) -> None:
        """An ``on_progress`` callback of ``engine.run``: records the step, its snapshot, and a preview
        at snapshots, at the last step, and at most every ``PREVIEW_INTERVAL_S`` otherwise."""
        now = time.perf_counter()
        preview = None
        if progress.snapshot is not None:
            preview = np.asarray(to_pil(progress.snapshot.image))
        elif now - self._preview_at >= PREVIEW_INTERVAL_S or progress.step == progress.steps:
            preview = np.asarray(to_pil(progress.image))
        with self._lock:
            self._history.append(progress.record)
            if progress.snapshot is not None:
                self._snapshots.append(progress.snapshot)
            if preview is not None:
                self._set_preview(preview, now)

    def since(self, cursor: ProgressCursor) -> ProgressUpdate:
        """What this recorder holds beyond ``cursor``."""
        with self._lock:
            return ProgressUpdate(
                self._phase,
                self._history[cursor.records :],
                self._snapshots[cursor.snapshots :],
                self._preview if self._previews != cursor.previews else None,
                ProgressCursor(len(self._history), len(self._snapshots), self._previews),
            )

    def apply(self, update: ProgressUpdate) -> None:
        """Append what another recorder had beyond this one (``since``)."""
        # Ray hands arrays back as read-only views of its shared memory: keep a copy of its own.
        preview = None if update.preview is None else np.array(update.preview)
        with self._lock:
            self._history.extend(update.records)
            self._snapshots.extend(update.snapshots)
            if preview is not None:
                self._set_preview(preview, time.perf_counter())
            if update.phase:
                self._phase = update.phase

    def eta_s(self) -> float | None:
        """Seconds left if the run goes on: from its pace after two steps (its setup excluded), from the
        estimate before; None when neither is known."""
        with self._lock:
            return self._eta()

    def read(self) -> Progress:
        with self._lock:
            step = self._history[-1].step if self._history else 0
            return Progress(self._phase, step, tuple(self._history), tuple(self._snapshots), self._preview, self._eta())

    def _set_preview(self, preview: np.ndarray, now: float) -> None:
        self._preview, self._preview_at = preview, now
        self._previews += 1

    def _eta(self) -> float | None:
        step = self._history[-1].step if self._history else 0
        if step >= 2:
            first, last = self._history[0].elapsed_s, self._history[-1].elapsed_s
            return (last - first) / (step - 1) * (self.steps - step)
        if self.estimate is None:
            return None
        return self.estimate.seconds_per_step * (self.steps - 1) if step == 1 else self.estimate.seconds
