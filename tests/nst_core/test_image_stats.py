"""The speckle measure: zero on flat colour and linear ramps, large on per-pixel noise, small on broad strokes."""

from __future__ import annotations

import pytest
import torch

from nst_core.image_stats import speckle


def test_flat_colour_and_a_ramp_have_no_speckle() -> None:
    assert speckle(torch.full((1, 3, 32, 32), 0.3)) == pytest.approx(0.0, abs=1e-6)
    ramp = torch.linspace(0.0, 1.0, 32).view(1, 1, 1, 32).expand(1, 3, 32, 32)
    assert speckle(ramp) == pytest.approx(0.0, abs=0.01)  # only the replicated border bends it


def test_pixel_noise_speckles_more_than_strokes_of_the_same_contrast() -> None:
    noise = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    # Stripes 8 px wide with the noise's standard deviation (0.29) around 0.5.
    strokes = (0.21 + 0.58 * ((torch.arange(64) // 8) % 2)).float().view(1, 1, 1, 64).expand(1, 3, 64, 64)
    assert speckle(noise) > 0.2 and speckle(strokes) < 0.5 * speckle(noise)
