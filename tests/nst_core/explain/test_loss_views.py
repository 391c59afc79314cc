"""The loss views' numbers are the losses' own statistics; run settings differences by field."""

from __future__ import annotations

import numpy as np
import torch

from nst_core.explain import mean_cov_pair, sorted_projection_pair
from nst_core.losses import SlicedWassersteinLoss, mean_cov_stats, sliced_projections


def test_mean_cov_pair_is_the_losses_statistics() -> None:
    acts_S, acts_G = torch.rand(5, 6, 7, generator=torch.Generator().manual_seed(0)), torch.rand(5, 4, 4)
    pair = mean_cov_pair(acts_S, acts_G)
    mean, cov = mean_cov_stats(acts_G)
    assert np.allclose(pair.mean_G, mean.numpy()) and np.allclose(pair.cov_G, cov.numpy())
    assert pair.cov_S.shape == (5, 5) and np.allclose(pair.cov_S, pair.cov_S.T, atol=1e-6)


def test_sorted_projections_are_the_losses_first_directions_and_match_on_identical_acts() -> None:
    acts = torch.rand(6, 8, 8, generator=torch.Generator().manual_seed(1))
    pair = sorted_projection_pair(acts, acts, seed=3, n=2, quantiles=64)
    assert pair.style.shape == (2, 64) and np.array_equal(pair.style, pair.generated)
    full = sliced_projections(acts, 6, 3)[:2]
    assert np.allclose(pair.style[:, [0, -1]], full[:, [0, -1]].numpy())  # the same extremes: same directions
    assert float(SlicedWassersteinLoss(3)(SlicedWassersteinLoss(3).target([acts], [1.0]), acts)) == 0.0
