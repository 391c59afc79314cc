"""What the non-Gram style losses compare, for the views: means and covariances, sorted projections.

The same statistics the losses use (``mean_cov_stats``, ``sliced_projections`` with the run's seed),
as NumPy arrays ready to draw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .. import colors
from ..losses import mean_cov_stats, sliced_projections
from ..optim.engine import scale_images

if TYPE_CHECKING:
    from ..optim import RunResult

SHOWN_PROJECTIONS = 4
"""Sorted projections drawn per layer: the loss's first directions (it uses as many as the layer has channels)."""


@dataclass(frozen=True)
class MeanCov:
    """μ (n_C,) and Σ (n_C, n_C) of the style's and the generated image's activations at one layer."""

    mean_S: np.ndarray
    mean_G: np.ndarray
    cov_S: np.ndarray
    cov_G: np.ndarray


@dataclass(frozen=True)
class SortedProjections:
    """The style's and the generated image's activations projected on the loss's first directions, sorted,
    as quantiles (n, ``quantiles``) so images of different sizes compare."""

    style: np.ndarray
    generated: np.ndarray


def mean_cov_pair(acts_S: Tensor, acts_G: Tensor) -> MeanCov:
    """Mean vectors and covariance matrices of style and generated activations (n_C, n_H, n_W)."""
    with torch.no_grad():
        (mean_S, cov_S), (mean_G, cov_G) = mean_cov_stats(acts_S.float()), mean_cov_stats(acts_G.float())
    return MeanCov(*(t.cpu().numpy() for t in (mean_S, mean_G, cov_S, cov_G)))


def sorted_projection_pair(
    acts_S: Tensor, acts_G: Tensor, seed: int, n: int = SHOWN_PROJECTIONS, quantiles: int = 256
) -> SortedProjections:
    """The first ``n`` of the sliced-Wasserstein loss's projections (its directions: ``seed``, one per channel)."""
    n_C = acts_S.shape[0]
    with torch.no_grad():
        sorted_pair = [sliced_projections(acts.float(), n_C, seed)[: min(n, n_C)] for acts in (acts_S, acts_G)]
        resampled = [
            F.interpolate(values[None], size=quantiles, mode="linear", align_corners=True)[0] for values in sorted_pair
        ]
    return SortedProjections(resampled[0].cpu().numpy(), resampled[1].cpu().numpy())


def objective_images(result: RunResult) -> tuple[list[Tensor], Tensor, list[Tensor] | None]:
    """The style images, the generated image and the region masks as the run's objective saw them at its
    last scale (colour-matched, or grey with ``preserve_colors="luminance"``), each (1, C, H, W)."""
    config = result.config
    images, _ = scale_images(config, config.size)
    generated = result.image
    if config.preserve_colors == "luminance":
        generated = colors.grey(colors.luminance(generated))
    return list(images.styles), generated, None if images.masks is None else list(images.masks)
