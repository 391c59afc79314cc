"""What every style loss shares: the ``StyleLoss`` protocol and its targets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from torch import Tensor

StyleTarget = tuple[Tensor, ...]
"""What a loss keeps of the style activations of one layer (a Gram matrix, a mean and a covariance...)."""


class StyleLoss(Protocol):
    """One way to compare the style statistics of a layer. Adding a loss is writing one such class.

    ``target(acts, blend)``: the statistics of the style activations ``acts`` (each (n_C, n_H, n_W);
    several styles are blended in the proportions ``blend``, which sum to 1: ``RunConfig.style_blend``),
    computed once per run. ``__call__(target, acts, mask)``: the loss of the generated activations
    (n_C, n_H, n_W) against ``target``, a scalar tensor, differentiable in ``acts``. ``mask`` (n_H, n_W),
    values in [0, 1], restricts the comparison to a region (``RunConfig.regions``); None compares every
    position.
    """

    name: str

    def target(self, acts: Sequence[Tensor], blend: Sequence[float]) -> StyleTarget: ...

    def __call__(self, target: StyleTarget, acts: Tensor, mask: Tensor | None = None) -> Tensor: ...
