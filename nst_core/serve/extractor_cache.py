"""``ExtractorCache``: the extractors of one process (an app server, a Ray worker), each loaded once."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import torch

from ..extractor import Pooling, VGGExtractor, load_extractor


class ExtractorCache:
    """Extractors by (weights, device, pooling), loaded once each; thread-safe. Loading one key does not
    block using or loading another."""

    def __init__(self, loader: Callable[..., VGGExtractor] = load_extractor) -> None:
        self._loader = loader
        self._lock = threading.Lock()
        self._extractors: dict[tuple[str, str, str], VGGExtractor] = {}
        self._loading: dict[tuple[str, str, str], threading.Lock] = {}

    def get(
        self,
        weights: str | os.PathLike[str],
        device: str | torch.device,
        pooling: Pooling = "max",
        progress: Callable[[int, int | None], None] | None = None,
    ) -> VGGExtractor:
        name = weights if weights in ("imagenet", "random") else str(Path(weights).expanduser().resolve())
        key = (str(name), str(torch.device(device)), pooling)
        with self._lock:
            if key in self._extractors:
                return self._extractors[key]
            key_lock = self._loading.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._extractors:
                    return self._extractors[key]
            extractor = self._loader(weights, device=device, pooling=pooling, progress=progress)
            with self._lock:
                self._extractors[key] = extractor
            return extractor
