"""The pixels of an analysed image as uint8, and a thread-safe LRU store of activations within a memory budget."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

import numpy as np
import torch
from torch import Tensor


def rgb_array(image: Tensor) -> np.ndarray:
    """(H, W, 3) uint8 pixels of ``image`` (1, 3, H, W) in [0, 1]."""
    return (image[0].permute(1, 2, 0) * 255.0).round().to(torch.uint8).numpy()


class ActivationStore:
    """LRU store of activation tensors under a byte budget (the newest entry is always kept)."""

    def __init__(self, budget_bytes: int) -> None:
        self._budget = budget_bytes
        self._lock = threading.Lock()
        self._items: OrderedDict[Hashable, Tensor] = OrderedDict()
        self._bytes = 0

    def get(self, key: Hashable) -> Tensor | None:
        with self._lock:
            if (value := self._items.get(key)) is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Hashable, value: Tensor) -> None:
        size = value.numel() * value.element_size()
        with self._lock:
            if key in self._items:
                return
            self._items[key] = value
            self._bytes += size
            while self._bytes > self._budget and len(self._items) > 1:
                _, old = self._items.popitem(last=False)
                self._bytes -= old.numel() * old.element_size()
