"""A run's image inputs (path, bytes, tensor, example name) decoded once, and their pixels at each of the run's sizes,
through ``nst_core.images``: the same pixels ``load_image`` gives at that size."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from ..errors import ConfigError, ImageError
from ..images import DecodedImage, decode_image
from .config import ImageInput, RunConfig


class ImageInputError(ConfigError, ImageError):
    """An image of the configuration cannot be read: both a ``ConfigError`` naming the field and an ``ImageError``."""


def decode_input(field: str, source: ImageInput | DecodedImage) -> DecodedImage:
    """``decode_image(source)``, its ``ImageError`` naming the configuration's ``field``."""
    try:
        return decode_image(source)
    except ImageError as exc:
        raise ImageInputError(field, str(exc)) from None


def load_input(field: str, source: ImageInput | DecodedImage, max_side: int, size_field: str = "size") -> Tensor:
    """``load_image(source, max_side)``: an image that cannot be read names ``field``, one that the size would
    shrink below the smallest side names ``size_field``."""
    decoded = decode_input(field, source)
    try:
        return decoded.at(max_side)
    except ImageError as exc:
        raise ImageInputError(size_field, str(exc)) from None


@dataclass(frozen=True)
class RunSources:
    """A run's images decoded once: each scale of a coarse-to-fine run is derived from these originals."""

    content: DecodedImage
    styles: list[DecodedImage]
    regions: list[DecodedImage] | None

    @classmethod
    def of(cls, config: RunConfig) -> RunSources:
        regions = None if config.regions is None else [decode_input("regions", mask) for mask in config.regions]
        return cls(
            decode_input("content", config.content), [decode_input("style", s) for s in config.styles], regions
        )
