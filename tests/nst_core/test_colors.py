"""Colour preservation: luminance with another image's chroma, and colour matching."""

from __future__ import annotations

import pytest
import torch

from nst_core.colors import grey, luminance, match_colors, match_luminance, rgb_to_yiq, with_chroma, yiq_to_rgb


def _rand(*shape: int, seed: int) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


def test_yiq_round_trip_and_grey_has_no_chroma() -> None:
    image = _rand(1, 3, 8, 8, seed=0)
    torch.testing.assert_close(yiq_to_rgb(rgb_to_yiq(image)), image, rtol=0, atol=1e-6)
    torch.testing.assert_close(rgb_to_yiq(grey(luminance(image)))[:, 1:], torch.zeros(1, 2, 8, 8), rtol=0, atol=1e-6)


def test_with_chroma_keeps_the_sources_chroma_exactly_even_for_out_of_range_luminance() -> None:
    source = _rand(1, 3, 16, 16, seed=1)
    y = _rand(1, 1, 16, 16, seed=2) * 1.6 - 0.3  # some values leave [0, 1]: the luminance gives way, not the chroma
    out = with_chroma(y, source)
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    torch.testing.assert_close(rgb_to_yiq(out)[:, 1:], rgb_to_yiq(source)[:, 1:], rtol=0, atol=1e-5)
    inside = (y >= 0.2) & (y <= 0.8)  # where the colour fits, the luminance is the one asked for
    feasible = (luminance(out) - y).abs() < 1e-5
    assert bool(feasible[inside].float().mean() > 0.3)


def test_match_colors_gives_the_references_mean_and_covariance() -> None:
    image = 0.3 + 0.4 * _rand(1, 3, 32, 32, seed=3)  # values well inside [0, 1]: no clipping
    reference = 0.35 + 0.3 * _rand(1, 3, 32, 32, seed=4)
    reference[:, 0] = 0.5 * reference[:, 0] + 0.4 * reference[:, 1]  # correlated channels
    matched = match_colors(image, reference)

    def stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pixels = x.double().flatten(2)[0]
        return pixels.mean(dim=1), torch.cov(pixels, correction=0)

    (m1, c1), (m2, c2) = stats(matched), stats(reference)
    torch.testing.assert_close(m1, m2, rtol=0, atol=1e-4)
    torch.testing.assert_close(c1, c2, rtol=0, atol=1e-4)


def test_match_luminance_gives_the_references_mean_and_spread() -> None:
    y, reference = 0.2 + 0.2 * _rand(1, 1, 16, 16, seed=5), 0.3 + 0.5 * _rand(1, 1, 16, 16, seed=6)
    matched = match_luminance(y, reference)
    assert float(matched.mean()) == pytest.approx(float(reference.mean()), abs=1e-4)
    assert float(matched.std()) == pytest.approx(float(reference.std()), rel=1e-3)
