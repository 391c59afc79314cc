"""The course's Gram cost as a ``StyleLoss``, guided by a region's weights when given (Gatys et al. 2017)."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor

from .. import gram as formulas  # looked up at call time: a test can swap a formula
from .base import StyleTarget


class GramLoss:
    """J_style^[l] = 1/(2 n_H n_W n_C)² Σ (G_S − G_G)², the seed's formula.

    The target is the blend of the styles' Gram matrices *per position* (G_S / (n_H^S n_W^S)), scaled at
    each call to the generated image's positions, so styles and images of any size compare. With
    region ``weights`` w, G_G = A diag(w) Aᵀ (the guided Gram matrix) and the target is scaled to Σ w.
    """

    name = "gram"

    def target(self, acts: Sequence[Tensor], blend: Sequence[float]) -> StyleTarget:
        per_position = [formulas.gram_matrix(a) / (a.shape[-1] * a.shape[-2]) for a in acts]
        return (sum((w * g for w, g in zip(blend, per_position, strict=True)), start=per_position[0] * 0.0),)

    def __call__(self, target: StyleTarget, acts: Tensor, weights: Tensor | None = None) -> Tensor:
        n_C, n_H, n_W = acts.shape
        if weights is None:
            g_G, positions = formulas.gram_matrix(acts), float(n_H * n_W)
        else:
            unrolled = acts.flatten(-2)
            w = weights.flatten()
            g_G, positions = (unrolled * w) @ unrolled.T, w.sum()
        return formulas.gram_style_cost(target[0] * positions, g_G, n_H, n_W, n_C)
