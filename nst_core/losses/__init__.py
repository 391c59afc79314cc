"""Style losses (Gram, mean + covariance, sliced Wasserstein) and regularisers, one class or function each.

``STYLE_LOSSES`` names them as ``RunConfig.style_loss`` does; ``make_style_loss`` builds one. The
views of the app use the same statistics: ``mean_cov_stats`` and ``sliced_projections``.
"""

from __future__ import annotations

from typing import Final

from .base import StyleLoss, StyleTarget
from .gram import GramLoss
from .mean_cov import MeanCovLoss, mean_cov_stats
from .sliced import SlicedWassersteinLoss, random_directions, sliced_projections
from .tv import total_variation

STYLE_LOSSES: Final = ("gram", "mean_cov", "sliced_wasserstein")


def make_style_loss(name: str, seed: int = 0) -> StyleLoss:
    """The style loss called ``name`` (one of ``STYLE_LOSSES``); ``seed`` draws sliced projections."""
    if name == "gram":
        return GramLoss()
    if name == "mean_cov":
        return MeanCovLoss()
    if name == "sliced_wasserstein":
        return SlicedWassersteinLoss(seed)
    raise ValueError(f"unknown style loss {name!r}; choose one of {', '.join(STYLE_LOSSES)}")


__all__ = [
    "STYLE_LOSSES",
    "GramLoss",
    "MeanCovLoss",
    "SlicedWassersteinLoss",
    "StyleLoss",
    "StyleTarget",
    "make_style_loss",
    "mean_cov_stats",
    "random_directions",
    "sliced_projections",
    "total_variation",
]
