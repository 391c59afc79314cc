"""A thread-safe store of activations that keeps the most recently used within a memory budget."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

from torch import Tensor


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
