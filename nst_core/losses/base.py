"""What every style loss shares: the ``StyleLoss`` protocol, its targets, and the one weighted sum Σ_l λ^[l] J^[l]."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, TypeVar

from torch import Tensor

StyleTarget = tuple[Tensor, ...]
"""What a loss keeps of the style activations of one layer (a Gram matrix, a mean and a covariance...)."""

T = TypeVar("T", Tensor, float)


class StyleLoss(Protocol):
    """One way to compare the style statistics of a layer. Adding a loss is writing one such class.

    ``target(acts, blend)``: the statistics of the style activations ``acts`` (each (n_C, n_H, n_W);
    several styles are blended with the weights ``blend``, which sum to 1), computed once per run.
    ``__call__(target, acts, weights)``: the loss of the generated activations (n_C, n_H, n_W) against
    ``target``, a scalar tensor, differentiable in ``acts``. ``weights`` (n_H, n_W), values in [0, 1],
    restricts the comparison to a region (spatial control); None compares every position.
    """

    name: str

    def target(self, acts: Sequence[Tensor], blend: Sequence[float]) -> StyleTarget: ...

    def __call__(self, target: StyleTarget, acts: Tensor, weights: Tensor | None = None) -> Tensor: ...


def weighted_sum(per_layer: Mapping[str, T], layer_weights: Mapping[str, float]) -> T:
    """Σ_l λ^[l] J^[l] over the layers of ``layer_weights`` (λ by layer): the style cost of every loss."""
    if not layer_weights:
        raise ValueError("layer_weights is empty: name at least one style layer")
    missing = [layer for layer in layer_weights if layer not in per_layer]
    if missing:
        raise KeyError(f"no value for style layers: {', '.join(missing)}")
    terms = iter(layer_weights.items())
    layer, weight = next(terms)
    total = weight * per_layer[layer]
    for layer, weight in terms:
        total = total + weight * per_layer[layer]
    return total
