"""The Ray side of ``RayExecutor``: ``RunWorker``, the actor (a worker process) that runs one job at a time,
and ``portable``, the config as it travels to it."""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import torch

from ..extractor import resolve_device
from ..optim.config import ImageInput, RunConfig
from ..optim.result import RunResult
from .execution import execute_run
from .extractor_cache import ExtractorCache
from .progress import ProgressCursor, ProgressRecorder, ProgressUpdate

_worker_cache = ExtractorCache()
"""The extractors of this process: in a Ray worker, shared by every run the worker does."""


class RunWorker:
    """A Ray actor running one job at a time; ``progress`` and ``cancel`` are answered by its second thread.

    The run records into a ``ProgressRecorder`` here as it does in a ``ThreadExecutor``; the driver copies
    what is new. Calls carry the driver's job id because the two threads may take them in any order: a
    poll or cancel may arrive before its run starts.
    """

    def __init__(self) -> None:
        self._job_id: str | None = None
        self._progress = ProgressRecorder(0)
        self._cancel = threading.Event()
        self._lock = threading.Lock()

    def ready(self) -> None:
        """Answered once the worker process is up."""

    def run(self, job_id: str, config: RunConfig) -> RunResult | Exception:
        """The result, or the run's error returned (not raised, so Ray passes it on as it is)."""
        with self._lock:
            self._job_id = job_id
            self._progress = ProgressRecorder(config.steps)
            self._cancel = threading.Event()
            progress, cancel = self._progress, self._cancel
        device = torch.device("cpu") if config.device == "cpu" else resolve_device("auto")
        return execute_run(config, device, _worker_cache, progress, cancel)

    def progress(self, job_id: str, cursor: ProgressCursor) -> ProgressUpdate:
        """What happened since ``cursor``: new steps, new snapshots, the preview if newer."""
        with self._lock:
            return self._progress.since(cursor) if job_id == self._job_id else ProgressUpdate("", [], [], None, cursor)

    def cancel(self, job_id: str) -> None:
        with self._lock:
            if job_id == self._job_id:
                self._cancel.set()


def portable(config: RunConfig) -> RunConfig:
    """``config`` with its image and mask files replaced by their bytes: a worker on another machine
    cannot read them."""
    style = config.style
    styles = _read_files(style) if isinstance(style, (list, tuple)) else _read_file(style)  # type: ignore[arg-type]
    regions = None if config.regions is None else _read_files(config.regions)
    return dataclasses.replace(config, content=_read_file(config.content), style=styles, regions=regions)  # type: ignore[arg-type]


def _read_files(sources: Sequence[ImageInput]) -> list[ImageInput]:
    return [_read_file(source) for source in sources]


def _read_file(source: ImageInput | None) -> ImageInput | None:
    if isinstance(source, (str, os.PathLike)) and Path(source).expanduser().is_file():
        return Path(source).expanduser().read_bytes()
    return source
