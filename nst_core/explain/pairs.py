"""One Gram entry G[k, k′] of an image, summarised the way the explorer and the lesson show it."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ..gram import gram_matrix
from ..gram_views import border_mask, gram_view


@dataclass(frozen=True)
class PairSummary:
    """G[k, k′] of an image and the products it sums, in the units a class can compare."""

    k: int
    k2: int
    g: float  # G[k, k'] as in the cost
    n_positions: int  # n_H n_W: how many products G[k, k'] sums
    correlation: float  # Pearson correlation of the two maps
    nonzero: int  # products a_ijk a_ijk' that are not zero: positions where both channels fire
    largest: float  # the largest product
    largest_at: tuple[int, int]  # its (i, j), counted from 0
    border_g: float = 0.0  # the part of G[k, k'] summed over the border (first and last rows and columns)
    border_positions: int = 0  # how many of the n_H n_W positions are on the border
    largest_on_border: bool = False

    @property
    def per_position(self) -> float:
        """G[k, k'] / (n_H n_W): comparable between images of different sizes."""
        return self.g / self.n_positions

    @property
    def border_share(self) -> float:
        """The share of G[k, k'] that the border contributes (0 when G is 0); compare with ``border_fraction``."""
        return self.border_g / self.g if self.g else 0.0

    @property
    def border_fraction(self) -> float:
        """The share of the positions that are on the border: what ``border_share`` would be if the channels
        fired evenly."""
        return self.border_positions / self.n_positions


def pair_summary(a: Tensor, k: int, k2: int) -> PairSummary:
    """Summarise G[k, k'] of activations ``a`` (n_C, n_H, n_W), in float64 so that G and the sum of its
    products agree to the last digit shown."""
    maps = a[[k, k2]].to(torch.float64)
    products = maps[0] * maps[1]
    flat = int(torch.argmax(products))
    border = torch.from_numpy(border_mask(*products.shape))
    i, j = divmod(flat, products.shape[-1])
    g, correlation = float(gram_matrix(maps)[0, 1]), float(gram_view(maps, "correlation")[0, 1])
    nonzero, largest = int(torch.count_nonzero(products)), float(products.flatten()[flat])
    border_g, border_positions = float(products[border].sum()), int(border.sum())
    return PairSummary(
        k,
        k2,
        g,
        products.numel(),
        correlation,
        nonzero,
        largest,
        (i, j),
        border_g,
        border_positions,
        bool(border[i, j]),
    )
