"""The course's Gram cost as a ``StyleLoss``: an adapter over ``nst_core.gram``'s formulas."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor

from .. import gram as formulas  # looked up at call time: a test can swap a formula
from .base import StyleTarget


class GramLoss:
    """J_style^[l] = 1/(2 n_H n_W n_C)² Σ (G_S − G_G)², guided by a region's mask when given.

    The target is the styles' blended per-position Gram matrix (``per_position_gram``); each call compares it
    with the generated activations by ``region_style_cost``, so styles and images of any size compare.
    """

    name = "gram"

    def target(self, acts: Sequence[Tensor], blend: Sequence[float]) -> StyleTarget:
        return (formulas.per_position_gram(acts, blend),)

    def __call__(self, target: StyleTarget, acts: Tensor, mask: Tensor | None = None) -> Tensor:
        return formulas.region_style_cost(target[0], acts, mask)

    def of_gram(self, target: StyleTarget, g_G: Tensor, n_H: int, n_W: int) -> Tensor:
        """The loss without a region from G_G (n_C, n_C), or batched, of a map of n_H x n_W positions: the formula
        on Gram matrices (``gram_style_cost``), as ``__call__`` gives it from the activations."""
        return formulas.gram_style_cost(target[0] * float(n_H * n_W), g_G, n_H, n_W, g_G.shape[-1])
