"""The extractor cache: each (weights, device, pooling) loaded once, whatever the threads asking."""

from __future__ import annotations

import threading
import time

import torch

from nst_core.extractor import VGGExtractor
from nst_core.serve import ExtractorCache


def test_the_extractor_cache_loads_each_key_once_across_threads(random_extractor) -> None:
    loads: list[tuple[object, ...]] = []

    def slow_loader(weights: str, device: object, pooling: str, progress: object) -> VGGExtractor:
        loads.append((weights, str(device), pooling))
        time.sleep(0.05)
        return random_extractor

    cache = ExtractorCache(loader=slow_loader)
    threads = [threading.Thread(target=cache.get, args=("random", "cpu")) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert cache.get("random", torch.device("cpu")) is random_extractor
    cache.get("random", "cpu", pooling="avg")
    assert loads == [("random", "cpu", "max"), ("random", "cpu", "avg")]
