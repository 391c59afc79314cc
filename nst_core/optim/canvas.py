"""The image being optimised: how the optimiser's variable becomes the image J is evaluated on.

Two parameterizations of the same images (``RunConfig.parameterization``):

- "pixels": the variable is the image, as in the tutorial.
- "spectral": the variable is the image's 2-D Fourier coefficients in a decorrelated colour basis, each
  frequency f scaled by 1/|f| (Olah, Mordvintsev, Schubert 2017, "Feature Visualization"; Mordvintsev et al.
  2018, "Differentiable Image Parameterizations").

The map is linear and invertible, so both reach the same images and J is the same function of the image.
What changes is the optimiser's path. A gradient step in spectral coordinates moves a frequency by |f|^-2
relative to a step on the pixels, and moves colours along the natural-image colour axes. So L-BFGS lays out
strokes instead of the per-pixel coloured speckle that the pixel gradients of an untrained VGG's white-noise
filters produce.

Measured with ``python bench/quality.py`` (chelsea + orange_strokes, random weights, 256 px, 60 L-BFGS
steps): J_style 1.7e-5 on pixels and 2.5e-6 spectral, and a speckle (``image_stats.speckle``) of 0.087 on
pixels and 0.026 spectral (the content photo's own: 0.023). Adam normalises each coordinate's step, which
undoes the scaling (J_style 1.3e-4 spectral against 4.5e-5 on pixels), so Adam keeps the pixels by default.
"""

from __future__ import annotations

from typing import Final

import scipy.fft
import torch
import torch.nn.functional as F
from torch import Tensor

from .. import colors
from .config import RunConfig

COLOR_CORRELATION_SQRT: Final = torch.tensor(
    [[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]], dtype=torch.float64
)
"""The square root of ImageNet's RGB covariance (lucid's ``color_correlation_svd_sqrt``): spectral coordinates'
colour axes, the first being brightness."""
_COLOR: Final = COLOR_CORRELATION_SQRT / COLOR_CORRELATION_SQRT.norm(dim=0).max()
_COLOR_INVERSE: Final = torch.linalg.inv(_COLOR)


def frequency_scale(height: int, width: int, device: torch.device | str = "cpu") -> Tensor:
    """1/|f| on ``rfft2``'s grid (height, width // 2 + 1), the lowest frequency (and DC) at 1."""
    fy = torch.fft.fftfreq(height, device=device)[:, None]
    fx = torch.fft.rfftfreq(width, device=device)[None, :]
    lowest = 1.0 / max(height, width)
    return lowest / torch.sqrt(fx**2 + fy**2).clamp(min=lowest)


def _irfft2(spectrum: Tensor, shape: tuple[int, int]) -> Tensor:
    """``torch.fft.irfft2(spectrum, s=shape, norm="ortho")``; on the CPU, for a width with a prime factor above 7, by
    scipy's pocketfft (``_PocketIrfft2``)."""
    if spectrum.device.type == "cpu" and _has_large_prime_factor(shape[-1]):
        return _PocketIrfft2.apply(spectrum, shape)
    return torch.fft.irfft2(spectrum, s=shape, norm="ortho")


def _has_large_prime_factor(n: int) -> bool:
    """Whether ``n`` has a prime factor above 7."""
    for factor in (2, 3, 5, 7):
        while n % factor == 0:
            n //= factor
    return n > 1


class _PocketIrfft2(torch.autograd.Function):
    """The same transform by scipy's pocketfft: torch's CPU FFT (MKL) is slow along a real axis whose length has a
    large prime factor. Forward + backward, one thread: 300 x 451 (chelsea at 512 px, 451 = 11 x 41) 10.8 -> 4.0 ms
    (``bench/optimize.py --tricks``), 512 x 341 13.3 -> 4.3, 128 x 85 1.1 -> 0.4; where the width's factors are all
    small MKL was as fast or faster (512 x 512 3.7 against 4.7, 170 x 256 1.1 against 1.2). The backward is torch's
    ``fft_c2r_backward``: rfft2, the bins that stand for two (their mirror images outside the one-sided half)
    doubled."""

    @staticmethod
    def forward(ctx, spectrum: Tensor, shape: tuple[int, int]) -> Tensor:  # type: ignore[override]
        ctx.width, threads = shape[-1], torch.get_num_threads()
        image = scipy.fft.irfft2(spectrum.resolve_conj().numpy(), s=shape, norm="ortho", workers=threads)
        return torch.from_numpy(image)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        spectrum = scipy.fft.rfft2(grad.resolve_neg().numpy(), norm="ortho", workers=torch.get_num_threads())
        spectrum = torch.from_numpy(spectrum)
        spectrum[..., 1 : ctx.width - spectrum.shape[-1] + 1].mul_(2.0)
        return spectrum, None


class Canvas:
    """One scale's variable: ``encode`` an image into it, ``decode`` it back, ``evaluated`` for J, ``shown``.

    With ``preserve_colors="luminance"`` the image is the luminance alone (1 channel), seen by the network as a
    grey image and shown with the content's chroma (``colors.with_chroma``); spectral coordinates then scale
    its frequencies only.
    """

    def __init__(self, config: RunConfig, content: Tensor) -> None:
        self.luminance = config.preserve_colors == "luminance"
        self.spectral = config.resolved().parameterization == "spectral"
        self.content = content
        height, width = content.shape[-2:]
        self.shape = (height, width)
        self.scale = frequency_scale(height, width, content.device)
        # On the content's device once: a per-step copy would be a host-to-GPU transfer every evaluation.
        self.color, self.color_inverse = (m.to(content.device, content.dtype) for m in (_COLOR, _COLOR_INVERSE))

    def initial(self, config: RunConfig) -> Tensor:
        """The starting image: the content (its luminance) or seeded noise."""
        content = colors.luminance(self.content) if self.luminance else self.content
        if config.init == "noise":
            noise = torch.rand(content.shape, generator=torch.Generator().manual_seed(config.seed))
            return noise.to(content.device)
        return content.clone()

    def upsampled(self, previous: Tensor) -> Tensor:
        """The previous scale's image, at this scale."""
        return F.interpolate(previous, size=self.shape, mode="bilinear", align_corners=False).clamp(0.0, 1.0)

    def encode(self, image: Tensor) -> Tensor:
        """The variable whose ``decode`` is ``image`` (up to float rounding)."""
        if not self.spectral:
            return image.detach().clone()
        if not self.luminance:
            image = colors.apply_color_matrix(self.color_inverse, image)
        return torch.view_as_real(torch.fft.rfft2(image, norm="ortho") / self.scale).contiguous()

    def decode(self, variable: Tensor) -> Tensor:
        """The image the variable stands for, not clamped."""
        if not self.spectral:
            return variable
        image = _irfft2(torch.view_as_complex(variable) * self.scale, self.shape)
        return image if self.luminance else colors.apply_color_matrix(self.color, image)

    def evaluated(self, variable: Tensor) -> Tensor:
        """The image J is evaluated on."""
        return self.seen(self.decode(variable))

    def seen(self, image: Tensor) -> Tensor:
        """What the network sees of ``image``: clamped to [0, 1], and grey when only the luminance is optimised."""
        # A differentiable clamp: clamping the variable in place (as the tutorial does) moves it behind
        # L-BFGS's back and stalls it.
        image = image.clamp(0.0, 1.0)
        return colors.grey(image) if self.luminance else image

    def shown(self, evaluated: Tensor) -> Tensor:
        return colors.with_chroma(evaluated[:, :1], self.content) if self.luminance else evaluated
