"""Colour preservation (Gatys, Bethge, Hertzmann, Shechtman 2016): luminance-only transfer and colour matching.

Pure functions of (1, 3, H, W) RGB tensors in [0, 1].
"""

from __future__ import annotations

from typing import Final

import torch
from torch import Tensor

RGB_TO_YIQ: Final = torch.tensor(
    [[0.299, 0.587, 0.114], [0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]], dtype=torch.float64
)
"""NTSC YIQ: Y is the luminance, I and Q the chroma."""
YIQ_TO_RGB: Final = torch.linalg.inv(RGB_TO_YIQ)

_COV_EPS: Final = 1e-5
"""Added to a covariance's diagonal before inverting its square root: a flat-colour image has a singular one."""


def apply_color_matrix(matrix: Tensor, image: Tensor) -> Tensor:
    """Each pixel's channel vector times ``matrix`` (C_out x C_in), in the image's dtype and device."""
    return torch.einsum("ij,njhw->nihw", matrix.to(image.device, image.dtype), image)


def rgb_to_yiq(image: Tensor) -> Tensor:
    """(N, 3, H, W) RGB -> YIQ (Y in [0, 1]; I, Q signed)."""
    return apply_color_matrix(RGB_TO_YIQ, image)


def yiq_to_rgb(image: Tensor) -> Tensor:
    return apply_color_matrix(YIQ_TO_RGB, image)


def luminance(image: Tensor) -> Tensor:
    """The Y channel, (N, 1, H, W)."""
    return rgb_to_yiq(image)[:, :1]


def grey(y: Tensor) -> Tensor:
    """A luminance (N, 1, H, W) as the RGB image of that grey, (N, 3, H, W)."""
    return y.expand(-1, 3, -1, -1)


def match_luminance(y: Tensor, reference: Tensor) -> Tensor:
    """``y`` shifted and scaled to the mean and spread of ``reference`` (Gatys et al. 2016, eq. 1), in [0, 1]."""
    std = y.std().clamp_min(1e-6)
    return ((y - y.mean()) * (reference.std() / std) + reference.mean()).clamp(0.0, 1.0)


def with_chroma(y: Tensor, chroma_source: Tensor) -> Tensor:
    """The RGB image of luminance ``y`` (N, 1, H, W) and the chroma (I, Q) of ``chroma_source`` (N, 3, H, W).

    Where that colour would leave [0, 1], the luminance is clamped to the range that the source's chroma
    allows (the source's own luminance is always in it), never the chroma: the result's chroma is the
    source's exactly, up to float rounding.
    """
    chroma = rgb_to_yiq(chroma_source)[:, 1:]
    to_rgb = YIQ_TO_RGB.to(y.device, y.dtype)
    y_gain = to_rgb[:, 0].view(1, 3, 1, 1)  # > 0 for YIQ: more luminance raises every channel
    offset = torch.einsum("ij,njhw->nihw", to_rgb[:, 1:], chroma)
    low = (-offset / y_gain).amax(dim=1, keepdim=True)
    high = ((1.0 - offset) / y_gain).amin(dim=1, keepdim=True)
    y = torch.minimum(torch.maximum(y, low), high)
    return (y * y_gain + offset).clamp(0.0, 1.0)


def _stats(image: Tensor) -> tuple[Tensor, Tensor]:
    pixels = image.double().flatten(2)[0]  # (3, N)
    mean = pixels.mean(dim=1, keepdim=True)
    centred = pixels - mean
    return mean, centred @ centred.T / pixels.shape[1]


def _sqrtm(matrix: Tensor, inverse: bool = False) -> Tensor:
    values, vectors = torch.linalg.eigh(matrix)
    values = values.clamp_min(0.0).sqrt()
    return (vectors * (1.0 / values if inverse else values)) @ vectors.T


def match_colors(image: Tensor, reference: Tensor) -> Tensor:
    """``image`` recoloured to the RGB mean and covariance of ``reference`` (Gatys et al. 2016, colour matching).

    x' = Σ_r^½ Σ_x^-½ (x − μ_x) + μ_r (symmetric square roots), clipped to [0, 1].
    """
    mean_x, cov_x = _stats(image)
    mean_r, cov_r = _stats(reference)
    eye = torch.eye(3, dtype=torch.float64, device=cov_x.device)
    transform = _sqrtm(cov_r) @ _sqrtm(cov_x + _COV_EPS * eye, inverse=True)
    pixels = image.double().flatten(2)[0]
    matched = transform.to(pixels.device) @ (pixels - mean_x) + mean_r
    return matched.reshape(image.shape).to(image.dtype).clamp(0.0, 1.0)
