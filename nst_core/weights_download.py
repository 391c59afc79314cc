"""The ImageNet weights fetched in a background thread, so that a page can show progress while it runs."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from .extractor import load_extractor
from .weights import imagenet_weights_cached


@dataclass(frozen=True)
class DownloadStatus:
    running: bool
    done_bytes: int
    total_bytes: int | None
    error: str | None
    finished: bool  # True once the weights are on disk


class WeightsDownload:
    """Fetches the ImageNet weights in a background thread; callers poll ``status()``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._done, self._total, self._error = 0, None, None

    def start(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._done, self._total, self._error = 0, None, None
            self._thread = threading.Thread(target=self._run, name="imagenet-weights-download", daemon=True)
            self._thread.start()

    def _progress(self, done: int, total: int | None) -> None:
        with self._lock:
            self._done, self._total = done, total

    def _run(self) -> None:
        try:
            load_extractor("imagenet", device="cpu", progress=self._progress)
        except Exception as exc:  # noqa: BLE001 - a worker thread must report every failure, not die silently
            with self._lock:
                self._error = str(exc) or type(exc).__name__

    def status(self) -> DownloadStatus:
        with self._lock:
            running = self._thread is not None and self._thread.is_alive()
            return DownloadStatus(running, self._done, self._total, self._error, imagenet_weights_cached())
