"""Style losses: each is (about) 0 on identical activations, positive otherwise, and decreases when optimised."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nst_core import layer_style_cost, style_cost
from nst_core.gram import weighted_style_terms
from nst_core.losses import (
    STYLE_LOSSES,
    GramLoss,
    MeanCovLoss,
    SlicedWassersteinLoss,
    make_style_loss,
    mean_cov_stats,
    sliced_projections,
    total_variation,
)

# How close to 0 each loss is on identical activations. sliced_wasserstein: exactly. gram: the target is
# kept per position and scaled back by the positions, one rounding (~1e-17 of values ~1e-2 here), so
# 1e-9 of the loss of all-zero activations. mean_cov subtracts two traces computed differently (a sum
# of squares, a nuclear norm): 0 up to float32 rounding, a few 1e-7 of tr Σ, of either sign.
ZERO_TOL = {"gram": 1e-9, "mean_cov": 1e-5, "sliced_wasserstein": 0.0}


def _acts(n_C: int, n_H: int, n_W: int, seed: int) -> torch.Tensor:
    return torch.relu(torch.randn(n_C, n_H, n_W, generator=torch.Generator().manual_seed(seed)))


@pytest.mark.parametrize("name", STYLE_LOSSES)
@pytest.mark.parametrize("shape", [(16, 8, 8), (64, 3, 4)], ids=["wide", "rank-deficient"])
def test_each_loss_is_zero_on_identical_activations_and_positive_otherwise(name, shape) -> None:
    loss = make_style_loss(name, seed=3)
    a, b = _acts(*shape, seed=0), _acts(*shape, seed=1)
    target = loss.target([a], [1.0])
    same, zero = float(loss(target, a)), float(loss(target, torch.zeros_like(a)))
    reference = float(mean_cov_stats(a)[1].trace()) if name == "mean_cov" else zero
    assert abs(same) <= ZERO_TOL[name] * reference
    assert float(loss(target, b)) > 1e-3 * zero


@pytest.mark.parametrize("name", STYLE_LOSSES)
def test_each_loss_decreases_under_gradient_descent_with_finite_gradients(name) -> None:
    loss = make_style_loss(name, seed=0)
    target = loss.target([_acts(32, 2, 3, seed=0)], [1.0])  # rank ≤ 6 < 32 channels: the hard case for W2
    acts = _acts(32, 2, 3, seed=1).requires_grad_(True)
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


def test_gram_loss_is_the_course_formula_and_all_one_weights_change_nothing() -> None:
    a_S, a_G = _acts(8, 6, 5, seed=0), _acts(8, 4, 4, seed=1)  # different sizes: G_S rescaled per position
    loss = GramLoss()
    target = loss.target([a_S], [1.0])
    torch.testing.assert_close(loss(target, a_G), layer_style_cost(a_S, a_G))
    torch.testing.assert_close(loss(target, a_G, torch.ones(4, 4)), loss(target, a_G))


def test_a_region_weight_of_zero_ignores_those_positions() -> None:
    a_S, a_G = _acts(8, 4, 4, seed=0), _acts(8, 4, 4, seed=1)
    left = torch.zeros(4, 4)
    left[:, :2] = 1.0
    changed = a_G.clone()
    changed[:, :, 2:] = 5.0  # only outside the region
    for loss in (GramLoss(), MeanCovLoss(), SlicedWassersteinLoss(seed=1)):
        target = loss.target([a_S], [1.0])
        torch.testing.assert_close(loss(target, changed, left), loss(target, a_G, left), msg=loss.name)


def test_mean_cov_stats_are_numpys_mean_and_biased_covariance() -> None:
    a = _acts(5, 4, 6, seed=2)
    mean, cov = mean_cov_stats(a)
    x = a.flatten(1).double().numpy()
    np.testing.assert_allclose(mean.numpy(), x.mean(axis=1), rtol=1e-5)
    np.testing.assert_allclose(cov.numpy(), np.cov(x, bias=True), rtol=1e-4, atol=1e-6)


def test_mean_cov_blend_is_the_mixtures_mean_and_covariance() -> None:
    a, b = _acts(6, 4, 4, seed=0), _acts(6, 4, 4, seed=1)
    blended = MeanCovLoss().target([a, b], [0.5, 0.5])
    both = MeanCovLoss().target([torch.cat([a, b], dim=-1)], [1.0])  # the two images' positions pooled
    for got, expected in zip(blended, both, strict=True):
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)


def test_sliced_projections_are_sorted_seeded_and_shaped() -> None:
    a = _acts(16, 5, 6, seed=0)
    p = sliced_projections(a, 7, seed=4)
    assert p.shape == (7, 30) and bool((p[:, 1:] >= p[:, :-1]).all())
    assert torch.equal(p, sliced_projections(a, 7, seed=4))
    assert not torch.equal(p, sliced_projections(a, 7, seed=5))


def test_the_style_cost_of_layer_costs_is_the_style_cost_of_activations() -> None:
    acts_S = {"a": _acts(4, 3, 3, 0), "b": _acts(6, 2, 2, 1)}
    acts_G = {"a": _acts(4, 3, 3, 2), "b": _acts(6, 2, 2, 3)}
    weights = {"a": 0.25, "b": 2.0}
    per_layer = {name: layer_style_cost(acts_S[name], acts_G[name]) for name in weights}
    expected = 0.25 * per_layer["a"] + 2.0 * per_layer["b"]
    torch.testing.assert_close(style_cost(layer_costs=per_layer, layer_weights=weights), expected)
    torch.testing.assert_close(style_cost(acts_S, acts_G, weights), expected)
    terms = weighted_style_terms(per_layer, weights)
    torch.testing.assert_close(terms["b"], 2.0 * per_layer["b"])
    with pytest.raises(ValueError):
        style_cost(layer_costs=per_layer, layer_weights={})
    with pytest.raises(KeyError, match="c"):
        weighted_style_terms(per_layer, {"c": 1.0})


def test_total_variation_is_zero_on_a_flat_image_and_mean_not_summed() -> None:
    assert float(total_variation(torch.full((1, 3, 8, 8), 0.3))) == 0.0
    noise = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    small = noise[..., :32, :32]
    # A mean over pixels: the same texture at another size has about the same value.
    assert float(total_variation(small)) == pytest.approx(float(total_variation(noise)), rel=0.1)


def test_an_unknown_loss_name_is_refused() -> None:
    with pytest.raises(ValueError, match="gram"):
        make_style_loss("histogram")
