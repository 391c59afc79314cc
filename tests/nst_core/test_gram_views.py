"""Display views of a Gram matrix against float64 NumPy, the clustering order, and the top pairs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from nst_core import gram_matrix
from nst_core.gram_views import (
    VIEWS,
    border_dominated,
    border_mask,
    border_shares,
    channel_order,
    gram_view,
    neighbourhood,
    top_difference_pairs,
    top_pairs,
)


def _activations(seed: int, shape: tuple[int, int, int]) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.maximum(rng.standard_normal(shape), 0.0).astype(np.float32)  # ReLU-like: non-negative


def _reference(a: np.ndarray, view: str) -> np.ndarray:
    unrolled = a.reshape(a.shape[0], -1).astype(np.float64)
    n = unrolled.shape[1]
    if view == "raw":
        return unrolled @ unrolled.T
    if view == "per_position":
        return unrolled @ unrolled.T / n
    if view == "covariance":
        return np.cov(unrolled, bias=True)
    return np.corrcoef(unrolled)


@pytest.mark.parametrize("shape", [(5, 7, 3), (16, 8, 8), (3, 1, 9)])
@pytest.mark.parametrize("view", VIEWS)
def test_views_match_float64_numpy(shape: tuple[int, int, int], view: str) -> None:
    a = _activations(sum(shape), shape)
    got = gram_view(torch.from_numpy(a), view)
    assert got.shape == (shape[0], shape[0])
    assert got.dtype == torch.float32
    np.testing.assert_allclose(got.numpy(), _reference(a, view), rtol=1e-5, atol=1e-6)


def test_raw_view_is_the_cost_gram_matrix_and_accepts_a_batch_of_one() -> None:
    a = torch.from_numpy(_activations(1, (6, 5, 4)))
    np.testing.assert_allclose(gram_view(a[None], "raw").numpy(), gram_matrix(a).numpy(), rtol=1e-6)


def test_covariance_is_accurate_for_large_offsets() -> None:
    # A naive E[ab] - E[a]E[b] in float32 loses everything here; the centred computation does not.
    rng = np.random.default_rng(2)
    a = (1000.0 + rng.standard_normal((4, 32, 32))).astype(np.float32)
    np.testing.assert_allclose(gram_view(a, "covariance").numpy(), _reference(a, "covariance"), rtol=1e-4, atol=1e-5)


def test_correlation_is_bounded_symmetric_and_handles_silent_channels() -> None:
    a = _activations(3, (6, 10, 10))
    a[2] = 0.0  # a ReLU channel that never fires
    a[4] = 0.7  # a constant channel
    corr = gram_view(a, "correlation").numpy()
    assert np.isfinite(corr).all()
    assert (corr >= -1.0).all() and (corr <= 1.0).all()
    np.testing.assert_array_equal(corr, corr.T)
    for silent in (2, 4):
        assert not corr[silent].any() and not corr[:, silent].any()
    alive = [0, 1, 3, 5]
    np.testing.assert_allclose(np.diag(corr)[alive], 1.0)
    np.testing.assert_allclose(corr[np.ix_(alive, alive)], np.corrcoef(a[alive].reshape(4, -1)), rtol=1e-5, atol=1e-6)


def test_unknown_view_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown view"):
        gram_view(np.ones((2, 2, 2)), "entropy")  # type: ignore[arg-type]


def _planted_blocks(seed: int = 4) -> tuple[np.ndarray, set[int], set[int]]:
    """Two groups of channels, interleaved (even / odd), each group driven by one shared signal."""
    rng = np.random.default_rng(seed)
    signals = rng.standard_normal((2, 400))
    n_channels = 12
    a = np.empty((n_channels, 20, 20), dtype=np.float32)
    for c in range(n_channels):
        a[c] = (signals[c % 2] + 0.3 * rng.standard_normal(400)).reshape(20, 20)
    return a, set(range(0, n_channels, 2)), set(range(1, n_channels, 2))


def test_clustered_order_recovers_planted_blocks() -> None:
    a, evens, odds = _planted_blocks()
    for source in (a, gram_view(a, "correlation"), gram_view(a, "covariance")):
        order = channel_order(source, "clustered")
        assert sorted(order.tolist()) == list(range(12))
        first, second = set(order[:6].tolist()), set(order[6:].tolist())
        assert {frozenset(first), frozenset(second)} == {frozenset(evens), frozenset(odds)}


def test_natural_order_is_identity() -> None:
    np.testing.assert_array_equal(channel_order(np.eye(5), "natural"), np.arange(5))


def test_clustered_order_survives_silent_channels() -> None:
    a, _, _ = _planted_blocks()
    a[3] = 0.0
    order = channel_order(gram_view(a, "correlation"), "clustered")
    assert sorted(order.tolist()) == list(range(12))


def _brute_force(matrix: np.ndarray, k: int, diagonal: bool, by_abs: bool) -> list[tuple[int, int, float]]:
    n = matrix.shape[0]
    pairs = [
        (i, j, float(matrix[i, j])) for i, j in itertools.product(range(n), repeat=2) if i < j or (diagonal and i == j)
    ]
    return sorted(pairs, key=lambda p: -abs(p[2]) if by_abs else -p[2])[:k]


@pytest.mark.parametrize("by_abs", [False, True])
@pytest.mark.parametrize("diagonal", [False, True])
def test_top_pairs_match_brute_force(by_abs: bool, diagonal: bool) -> None:
    rng = np.random.default_rng(5)
    m = rng.standard_normal((9, 9))
    m = m + m.T
    got = top_pairs(m, 7, exclude_diagonal=not diagonal, by_abs=by_abs)
    expected = _brute_force(m, 7, diagonal, by_abs)
    assert [(i, j) for i, j, _ in got] == [(i, j) for i, j, _ in expected]
    np.testing.assert_allclose([v for *_, v in got], [v for *_, v in expected])


def test_top_difference_pairs_rank_by_absolute_difference() -> None:
    g_s, g_g = (gram_matrix(torch.from_numpy(_activations(s, (7, 4, 4)))) for s in (7, 8))
    got = top_difference_pairs(g_s, g_g, 5)
    expected = _brute_force((g_s - g_g).double().numpy(), 5, True, True)
    assert [(i, j) for i, j, _ in got] == [(i, j) for i, j, _ in expected]
    i, j, value = got[0]
    assert value == pytest.approx(float(g_s[i, j] - g_g[i, j]), rel=1e-6)


def test_border_dominated_channels_fire_mostly_on_the_first_and_last_rows_and_columns() -> None:
    a = torch.ones(3, 8, 8)
    a[0, 0, :] = 10.0  # a bright first row, as zero padding makes it: border-dominated
    a[2] = 0.0  # silent: not border-dominated, there is nothing to dominate
    assert border_dominated(a).tolist() == [True, False, False]
    shares = border_shares(a)
    assert shares[1] == pytest.approx(28 / 64) and shares[2] == 0.0
    assert shares[0] == pytest.approx((8 * 100 + 20) / (8 * 100 + 56))
    assert border_mask(3, 4).sum() == 10
    # A map too small to have an interior has no border-dominated channel.
    assert not border_dominated(torch.ones(2, 2, 5)).any()


def test_random_weights_light_up_the_border_of_deep_layers(random_extractor) -> None:
    image = torch.rand(1, 3, 128, 128, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        a = random_extractor(image, ["relu1_1", "relu5_1"])
    assert border_dominated(a["relu5_1"][0]).mean() > border_dominated(a["relu1_1"][0]).mean()


def test_a_neighbourhood_centres_its_channel_and_slides_inward_at_the_ends() -> None:
    order = np.array([5, 3, 0, 7, 1, 6, 2, 4])
    np.testing.assert_array_equal(neighbourhood(order, 1, 4), [0, 7, 1, 6])  # 1 is at position 4: 2..5
    np.testing.assert_array_equal(neighbourhood(order, 5, 4), [5, 3, 0, 7])  # first: the window starts at 0
    np.testing.assert_array_equal(neighbourhood(order, 4, 3), [6, 2, 4])  # last: it ends at the last channel
    np.testing.assert_array_equal(neighbourhood(order, 2, 20), order)  # wider than the layer: all of it
