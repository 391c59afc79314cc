"""The activation store (least recently used out first, within its byte budget, the newest always kept) and
the pixels of an analysed image."""

from __future__ import annotations

import torch

from nst_core.activations import ActivationStore, rgb_array


def _tensor(n_floats: int) -> torch.Tensor:
    return torch.zeros(n_floats, dtype=torch.float32)


def test_store_evicts_the_least_recently_used_within_budget() -> None:
    store = ActivationStore(budget_bytes=3 * 400)
    for key in "abc":
        store.put(key, _tensor(100))
    assert store.get("a") is not None  # "a" becomes the most recent, so "b" goes next
    store.put("d", _tensor(100))
    assert store.get("b") is None
    assert all(store.get(key) is not None for key in "acd")


def test_store_keeps_an_entry_larger_than_its_budget_until_the_next() -> None:
    store = ActivationStore(budget_bytes=100)
    store.put("big", _tensor(1000))
    assert store.get("big") is not None
    store.put("next", _tensor(1000))
    assert store.get("big") is None and store.get("next") is not None


def test_rgb_array_gives_uint8_pixels() -> None:
    image = torch.rand(1, 3, 15, 20, generator=torch.Generator().manual_seed(0))
    pixels = rgb_array(image)
    assert pixels.shape == (15, 20, 3) and pixels.dtype.name == "uint8"
    assert int(pixels[0, 0, 0]) == round(float(image[0, 0, 0, 0]) * 255)
