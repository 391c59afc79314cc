"""Sliced Wasserstein: sorted random projections of the activations (Heitz et al., CVPR 2021)."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from .base import StyleTarget


@functools.lru_cache(maxsize=64)
def random_directions(n_C: int, n: int, seed: int, device: torch.device | str = "cpu") -> Tensor:
    """``n`` unit directions (n, n_C) in activation space, the same for the same ``seed`` (drawn once, cached)."""
    directions = torch.randn(n, n_C, generator=torch.Generator().manual_seed(seed), dtype=torch.float32)
    return (directions / directions.norm(dim=1, keepdim=True)).to(device)


def sliced_projections(acts: Tensor, n: int, seed: int, mask: Tensor | None = None) -> Tensor:
    """The activations (n_C, n_H, n_W) projected on ``n`` seeded directions, each row sorted: (n, positions).

    ``mask`` (n_H, n_W) keeps the positions where it is at least 0.5 (the region's).
    """
    unrolled = acts.flatten(-2)
    if mask is not None:
        unrolled = unrolled[:, mask.flatten() >= 0.5]
    directions = random_directions(acts.shape[0], n, seed, acts.device).to(acts.dtype)
    return torch.sort(directions @ unrolled, dim=1).values


def _resampled(sorted_values: Tensor, n_positions: int) -> Tensor:
    """Sorted projections (n, N) as ``n_positions`` evenly spaced quantiles (linear interpolation)."""
    if sorted_values.shape[-1] == n_positions:
        return sorted_values
    return F.interpolate(sorted_values[None], size=n_positions, mode="linear", align_corners=True)[0]


class SlicedWassersteinLoss:
    """Mean squared difference of the sorted projections of style and generated activations.

    ``n_projections`` directions (None: as many as the layer has channels), drawn once from ``seed``
    and kept for the whole run (Heitz et al. draw new ones each step; fixed ones keep a run
    reproducible and its curve smooth). The style's sorted projections are resampled to the generated
    image's number of positions (quantiles); several styles blend as the average of their quantile
    functions (the 1-D Wasserstein barycentre). With a region's mask, the positions where it is ≥ 0.5
    are compared. Exactly 0 on identical activations.
    """

    name = "sliced_wasserstein"

    def __init__(self, seed: int = 0, n_projections: int | None = None) -> None:
        self.seed = seed
        self.n_projections = n_projections

    def _n(self, n_C: int) -> int:
        return self.n_projections or n_C

    def target(self, acts: Sequence[Tensor], blend: Sequence[float]) -> StyleTarget:
        projected = [sliced_projections(a, self._n(a.shape[0]), self.seed) for a in acts]
        positions = max(p.shape[-1] for p in projected)
        return (sum(w * _resampled(p, positions) for w, p in zip(blend, projected, strict=True)),)

    def __call__(self, target: StyleTarget, acts: Tensor, mask: Tensor | None = None) -> Tensor:
        generated = sliced_projections(acts, self._n(acts.shape[0]), self.seed, mask)
        if generated.shape[-1] == 0:  # the region covers no position of this layer
            return acts.sum() * 0.0
        return (generated - _resampled(target[0], generated.shape[-1])).square().mean()
