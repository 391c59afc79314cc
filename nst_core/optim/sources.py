"""A run's image inputs (path, bytes, tensor, example name) as pixels at the run's size, through ``load_image``."""

from __future__ import annotations

from torch import Tensor

from ..errors import ConfigError, ImageError
from ..images import DecodedImage, decode_image
from .config import ImageInput


class ImageInputError(ConfigError, ImageError):
    """An image of the configuration cannot be read: both a ``ConfigError`` naming the field and an ``ImageError``."""


def load_input(field: str, source: ImageInput, max_side: int, size_field: str = "size") -> Tensor:
    """``load_image(source, max_side)``: an image that cannot be read names ``field``, one that the size would
    shrink below the smallest side names ``size_field``."""
    decoded = decode_input(field, source)
    try:
        return decoded.at(max_side)
    except ImageError as exc:
        raise ImageInputError(size_field, str(exc)) from None


def decode_input(field: str, source: ImageInput) -> DecodedImage:
    """``decode_image(source)``; an image that cannot be read names ``field``."""
    try:
        return decode_image(source)
    except ImageError as exc:
        raise ImageInputError(field, str(exc)) from None
