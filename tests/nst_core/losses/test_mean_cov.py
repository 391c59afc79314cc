"""Mean and covariance: numpy's statistics, and a blend of styles is their mixture's."""

from __future__ import annotations

import numpy as np
import torch

from nst_core.losses import MeanCovLoss, mean_cov_stats
from tests.helpers import relu_activations


def test_mean_cov_stats_are_numpys_mean_and_biased_covariance() -> None:
    a = relu_activations(5, 4, 6, seed=2)
    mean, cov = mean_cov_stats(a)
    x = a.flatten(1).double().numpy()
    np.testing.assert_allclose(mean.numpy(), x.mean(axis=1), rtol=1e-5)
    np.testing.assert_allclose(cov.numpy(), np.cov(x, bias=True), rtol=1e-4, atol=1e-6)


def test_mean_cov_blend_is_the_mixtures_mean_and_covariance() -> None:
    a, b = relu_activations(6, 4, 4, seed=0), relu_activations(6, 4, 4, seed=1)
    blended = MeanCovLoss().target([a, b], [0.5, 0.5])
    both = MeanCovLoss().target([torch.cat([a, b], dim=-1)], [1.0])  # the two images' positions pooled
    for got, expected in zip(blended, both, strict=True):
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
