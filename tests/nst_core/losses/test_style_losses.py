"""Every style loss keeps one contract: (about) 0 on identical activations, positive otherwise, it decreases when
optimised, a region weight of 0 ignores those positions, and ``make_style_loss`` knows each by its name."""

from __future__ import annotations

import pytest
import torch

from nst_core.losses import STYLE_LOSSES, GramLoss, MeanCovLoss, SlicedWassersteinLoss, make_style_loss, mean_cov_stats
from tests.helpers import relu_activations

# How close to 0 each loss is on identical activations. sliced_wasserstein: exactly. gram: the target is
# kept per position and scaled back by the positions, one rounding (~1e-17 of values ~1e-2 here), so
# 1e-9 of the loss of all-zero activations. mean_cov subtracts two traces computed differently (a sum
# of squares, a nuclear norm): 0 up to float32 rounding, a few 1e-7 of tr Σ, of either sign.
ZERO_TOL = {"gram": 1e-9, "mean_cov": 1e-5, "sliced_wasserstein": 0.0}


@pytest.mark.parametrize("name", STYLE_LOSSES)
@pytest.mark.parametrize("shape", [(16, 8, 8), (64, 3, 4)], ids=["wide", "rank-deficient"])
def test_each_loss_is_zero_on_identical_activations_and_positive_otherwise(name, shape) -> None:
    loss = make_style_loss(name, seed=3)
    a, b = relu_activations(*shape, seed=0), relu_activations(*shape, seed=1)
    target = loss.target([a], [1.0])
    same, zero = float(loss(target, a)), float(loss(target, torch.zeros_like(a)))
    reference = float(mean_cov_stats(a)[1].trace()) if name == "mean_cov" else zero
    assert abs(same) <= ZERO_TOL[name] * reference
    assert float(loss(target, b)) > 1e-3 * zero


@pytest.mark.parametrize("name", STYLE_LOSSES)
def test_each_loss_decreases_under_gradient_descent_with_finite_gradients(name) -> None:
    loss = make_style_loss(name, seed=0)
    target = loss.target([relu_activations(32, 2, 3, seed=0)], [1.0])  # rank ≤ 6 < 32 channels: the hard case for W2
    acts = relu_activations(32, 2, 3, seed=1).requires_grad_(True)
    optimizer = torch.optim.Adam([acts], lr=0.05)
    values = []
    for _ in range(40):
        optimizer.zero_grad()
        value = loss(target, acts)
        value.backward()
        assert torch.isfinite(acts.grad).all()
        values.append(float(value.detach()))
        optimizer.step()
    assert values[-1] < 0.5 * values[0], values[::10]


def test_a_region_weight_of_zero_ignores_those_positions() -> None:
    a_S, a_G = relu_activations(8, 4, 4, seed=0), relu_activations(8, 4, 4, seed=1)
    left = torch.zeros(4, 4)
    left[:, :2] = 1.0
    changed = a_G.clone()
    changed[:, :, 2:] = 5.0  # only outside the region
    for loss in (GramLoss(), MeanCovLoss(), SlicedWassersteinLoss(seed=1)):
        target = loss.target([a_S], [1.0])
        torch.testing.assert_close(loss(target, changed, left), loss(target, a_G, left), msg=loss.name)


def test_an_unknown_loss_name_is_refused() -> None:
    with pytest.raises(ValueError, match="gram"):
        make_style_loss("histogram")
