"""Turn a run's image inputs (path, bytes, tensor, example name) into (1, 3, H, W) tensors at the run's size."""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import ConfigError, ImageError
from ..examples import is_example, load_example
from ..images import load_image
from .config import ImageInput


class ImageInputError(ConfigError, ImageError):
    """An image of the configuration cannot be read: both a ``ConfigError`` naming the field and an ``ImageError``."""


def load_input(field: str, source: ImageInput, max_side: int) -> Tensor:
    """The image ``source`` as a float32 (1, 3, H, W) tensor in [0, 1], longest side at most ``max_side``."""
    try:
        if isinstance(source, Tensor):
            return _resized(source.detach().to("cpu", torch.float32).reshape(1, 3, *source.shape[-2:]), max_side)
        if isinstance(source, str) and is_example(source) and not Path(source).is_file():
            return load_example(source, max_side=max_side)
        if isinstance(source, (str, os.PathLike)):
            source = Path(source).expanduser()
        return load_image(source, max_side=max_side)
    except ImageError as exc:
        raise ImageInputError(field, str(exc)) from None


def _resized(image: Tensor, max_side: int) -> Tensor:
    height, width = image.shape[-2:]
    longest = max(height, width)
    if longest <= max_side:
        return image.clone()
    scale = max_side / longest
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    # Antialiased downscaling, like the Lanczos resize of files, so a tensor and its PNG give the same run.
    return F.interpolate(image, size=size, mode="bicubic", antialias=True, align_corners=False).clamp_(0.0, 1.0)
