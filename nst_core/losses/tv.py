"""Total variation: how much neighbouring pixels differ, the regulariser that removes speckle."""

from __future__ import annotations

from torch import Tensor


def total_variation(image: Tensor) -> Tensor:
    """J_tv = mean over pixel pairs of the squared difference between vertical and horizontal neighbours.

    Averaged, not summed, so a weight means the same at every size (a summed TV at the same weight
    flattens the image); squared, so the gradient is smooth for L-BFGS. ``image`` is (N, C, H, W).
    """
    vertical = (image[..., 1:, :] - image[..., :-1, :]).square().mean()
    horizontal = (image[..., :, 1:] - image[..., :, :-1]).square().mean()
    return vertical + horizontal
