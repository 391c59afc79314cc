"""Images as the network analyses them (fitted to an analysis size) and a thread-safe LRU store of their
activations within a memory budget."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Final

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

MIN_ANALYSIS_SIDE: Final = 16
"""VGG19's four poolings leave at least one position per channel map at relu5_1."""


def capped_shape(height: int, width: int, side: int) -> tuple[int, int]:
    """(H, W) of an image of ``height`` x ``width`` with its longest side capped at ``side`` (never enlarged)."""
    scale = min(1.0, side / max(height, width))
    return max(MIN_ANALYSIS_SIDE, round(height * scale)), max(MIN_ANALYSIS_SIDE, round(width * scale))


def resized(image: Tensor, shape: tuple[int, int]) -> Tensor:
    """``image`` (1, 3, H, W) in [0, 1] resized to ``shape`` (antialiased), unchanged if already that size."""
    if tuple(image.shape[-2:]) == shape:
        return image
    return F.interpolate(image, size=shape, mode="bilinear", antialias=True, align_corners=False).clamp(0.0, 1.0)


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
            value = self._items.get(key)
            if value is not None:
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
