"""Sliced Wasserstein: the projections are sorted, seeded and shaped."""

from __future__ import annotations

import torch

from nst_core.losses import sliced_projections
from tests.helpers import relu_activations


def test_sliced_projections_are_sorted_seeded_and_shaped() -> None:
    a = relu_activations(16, 5, 6, seed=0)
    p = sliced_projections(a, 7, seed=4)
    assert p.shape == (7, 30) and bool((p[:, 1:] >= p[:, :-1]).all())
    assert torch.equal(p, sliced_projections(a, 7, seed=4))
    assert not torch.equal(p, sliced_projections(a, 7, seed=5))
