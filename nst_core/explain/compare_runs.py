"""What two runs have in common and where they differ, for the Compare runs page."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import Tensor

    from ..optim.config import RunConfig
    from ..optim.result import RunResult


def config_differences(a: RunConfig, b: RunConfig) -> dict[str, tuple[Any, Any]]:
    """The settings two runs differ in, by ``RunConfig`` field: (a's value, b's value), as ``describe`` gives them."""
    first, second = a.describe(), b.describe()
    return {name: (value, second.get(name)) for name, value in first.items() if value != second.get(name)}


def common_style_layers(a: RunConfig, b: RunConfig) -> list[str]:
    """The style layers both runs weigh, in ``a``'s order."""
    return [layer for layer in a.style_layers if layer in b.style_layers]


def common_final_grams(a: RunResult, b: RunResult) -> dict[str, tuple[Tensor, Tensor]]:
    """The generated Gram matrices G_G both runs recorded at their last snapshot, by layer in ``a``'s order:
    (a's, b's). Only layers of the same shape: two runs with different channel sets cannot be set side by side."""
    grams_a = a.snapshots[-1].grams if a.snapshots else {}
    grams_b = b.snapshots[-1].grams if b.snapshots else {}
    return {
        layer: (g_a, grams_b[layer])
        for layer, g_a in grams_a.items()
        if layer in grams_b and g_a.shape == grams_b[layer].shape
    }
