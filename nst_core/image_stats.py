"""Measures of a result image that the eye judges: how speckled it is."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def speckle(image: Tensor) -> float:
    """The root-mean-square of what a 3x3 mean filter removes, in [0, 1] units, averaged over channels.

    Per-pixel noise is what a 3x3 mean removes; strokes and edges lose only their outline. A photo's fine
    texture sits around 0.02-0.03 at 256 px (chelsea: 0.023); a run speckled with per-pixel colour noise
    measured 0.087 (``bench/quality.py``, the "pixels" tile).
    """
    pixels = image.detach().float().reshape(-1, 1, *image.shape[-2:])
    smooth = F.avg_pool2d(F.pad(pixels, (1, 1, 1, 1), mode="replicate"), kernel_size=3, stride=1)
    return float((pixels - smooth).square().mean().sqrt())
