"""Total variation: 0 on a flat image, a mean over pixels (not a sum)."""

from __future__ import annotations

import pytest
import torch

from nst_core.losses import total_variation


def test_total_variation_is_zero_on_a_flat_image_and_mean_not_summed() -> None:
    assert float(total_variation(torch.full((1, 3, 8, 8), 0.3))) == 0.0
    noise = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    small = noise[..., :32, :32]
    # A mean over pixels: the same texture at another size has about the same value.
    assert float(total_variation(small)) == pytest.approx(float(total_variation(noise)), rel=0.1)
