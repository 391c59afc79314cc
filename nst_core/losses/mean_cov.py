"""The 2-Wasserstein distance between Gaussians fitted to the activations (mean and covariance), as StyleLossW2."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from .base import StyleTarget


def mean_cov_stats(acts: Tensor, weights: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """The mean μ (n_C,) and covariance Σ (n_C, n_C) of activations (n_C, n_H, n_W) over positions.

    ``weights`` (n_H, n_W) weighs the positions (a region); the covariance divides by the positions'
    total weight (N, not N − 1: the Gaussian that the distance compares).
    """
    mean, centred = _centred(acts, weights)
    return mean, centred @ centred.T


def _centred(acts: Tensor, weights: Tensor | None) -> tuple[Tensor, Tensor]:
    """μ and X_c with X_c X_cᵀ = Σ: the centred activations, each position scaled by √(w / Σ w)."""
    unrolled = acts.flatten(-2)
    if weights is None:
        w = torch.full((unrolled.shape[-1],), 1.0 / unrolled.shape[-1], dtype=unrolled.dtype, device=unrolled.device)
    else:
        w = weights.flatten().to(unrolled.dtype)
        w = w / w.sum().clamp_min(torch.finfo(w.dtype).tiny)
    mean = unrolled @ w
    return mean, (unrolled - mean[:, None]) * w.sqrt()


def _sqrtm(matrix: Tensor) -> Tensor:
    """The symmetric square root of a positive semi-definite matrix (negative rounding clipped to 0)."""
    values, vectors = torch.linalg.eigh(matrix.double())
    return ((vectors * values.clamp_min(0.0).sqrt()) @ vectors.T).to(matrix.dtype)


class MeanCovLoss:
    """W2²(N(μ_S, Σ_S), N(μ, Σ)) = |μ − μ_S|² + tr Σ + tr Σ_S − 2 tr (Σ_S^½ Σ Σ_S^½)^½.

    The last trace is computed as the nuclear norm of Σ_S^½ X_c (X_c X_cᵀ = Σ), with Σ_S^½ taken from the
    target once, without gradients: deep layers' covariances have rank below n_C (at 64 px relu5_1 has
    rank ≤ 15), and differentiating a matrix square root or an eigendecomposition through their repeated
    zero eigenvalues is unstable, while the singular values' gradient U Vᵀ is not. On identical
    activations the value is 0 up to float rounding (a few 1e-7 of tr Σ, of either sign).
    Several styles blend as a mixture: the mixture's mean and covariance.
    """

    name = "mean_cov"

    def target(self, acts: Sequence[Tensor], blend: Sequence[float]) -> StyleTarget:
        stats = [mean_cov_stats(a) for a in acts]
        mean = sum((w * m for w, (m, _) in zip(blend, stats, strict=True)), start=stats[0][0] * 0.0)
        second = sum(
            (w * (c + torch.outer(m, m)) for w, (m, c) in zip(blend, stats, strict=True)), start=stats[0][1] * 0.0
        )
        cov = second - torch.outer(mean, mean)
        return mean, cov, _sqrtm(cov)

    def __call__(self, target: StyleTarget, acts: Tensor, weights: Tensor | None = None) -> Tensor:
        mean_S, cov_S, sqrt_S = target
        mean, centred = _centred(acts, weights)
        cross = torch.linalg.svdvals(sqrt_S @ centred).sum()
        return (mean - mean_S).square().sum() + centred.square().sum() + cov_S.trace() - 2.0 * cross
