"""Where a channel fires most in an image: the image patches under its strongest activations."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from ..extractor import VGGExtractor
from ..layers import LAYER_CHANNELS, LAYER_NAMES, check_layer


@cache
def receptive_field(layer: str) -> tuple[int, int]:
    """(size, stride) in input pixels of one position of ``layer``: the theoretical receptive field of
    VGG19's 3x3 convolutions (padding 1) and 2x2 pools, and the distance between neighbouring positions."""
    size, stride = 1, 1
    for name in LAYER_NAMES[: LAYER_NAMES.index(check_layer(layer)) + 1]:
        if name.startswith("conv"):
            size += 2 * stride
        elif name.startswith("pool"):
            size += stride
            stride *= 2
    return size, stride


@dataclass(frozen=True)
class Patch:
    """One place where the channel fires: its map position, activation and the image pixels it sees.

    ``i``, ``j``: the map position counted from 1 like the sum of G; ``box``: (top, left, bottom, right)
    in image pixels (bottom and right excluded), the receptive field clipped to the image; ``pixels``:
    (h, w, 3) uint8.
    """

    i: int
    j: int
    activation: float
    box: tuple[int, int, int, int]
    pixels: np.ndarray


def _box(i: int, j: int, layer: str, height: int, width: int) -> tuple[int, int, int, int]:
    size, stride = receptive_field(layer)
    # Position (i, j) (from 0) is centred on pixel (stride*i + (stride-1)/2) of the input.
    centre_y, centre_x = stride * i + (stride - 1) / 2, stride * j + (stride - 1) / 2
    top, left = round(centre_y - (size - 1) / 2), round(centre_x - (size - 1) / 2)
    return max(0, top), max(0, left), min(height, top + size), min(width, left + size)


def _as_batch(image: Tensor | np.ndarray | Image.Image) -> Tensor:
    """(1, 3, H, W) float32 in [0, 1] from a tensor (1, 3, H, W) or (3, H, W) in [0, 1], a PIL image or an
    (H, W, 3) uint8 array."""
    if isinstance(image, Image.Image):
        image = np.asarray(image.convert("RGB"))
    if isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[-1] != 3:
            raise ValueError(f"an image array must be (H, W, 3), got shape {image.shape}")
        scale = 255.0 if image.dtype == np.uint8 else 1.0
        image = torch.from_numpy(np.array(image, dtype=np.float32)).permute(2, 0, 1) / scale
    batch = image if image.dim() == 4 else image.unsqueeze(0)
    if batch.shape[0] != 1 or batch.shape[1] != 3:
        raise ValueError(f"image must be (1, 3, H, W) or (3, H, W), got shape {tuple(image.shape)}")
    return batch.detach().to("cpu", torch.float32)


def top_patches(
    extractor: VGGExtractor, image: Tensor | np.ndarray | Image.Image, layer: str, k: int, n: int = 6
) -> list[Patch]:
    """The ``n`` image patches (receptive-field sized) where channel ``k`` of ``layer`` fires most,
    strongest first. ``image``: a tensor (1, 3, H, W) or (3, H, W) in [0, 1] (as ``load_image`` gives),
    a PIL image or an (H, W, 3) uint8 array.

    Each next patch is the strongest position whose receptive field overlaps none of the patches already
    taken by a stride or more, so that the patches show different places rather than one stroke n times.
    Fewer than ``n`` come back when the channel fires at fewer distinct places (none when it is silent).
    """
    check_layer(layer)
    if not 0 <= k < LAYER_CHANNELS[layer]:
        raise ValueError(f"{layer} has channels 0 to {LAYER_CHANNELS[layer] - 1}, got k = {k}")
    pixels = _as_batch(image)
    with torch.inference_mode():
        a = extractor(pixels.to(extractor.device), [layer])[layer][0, k].to("cpu", torch.float64)
    height, width = pixels.shape[-2:]
    rgb = (pixels[0].permute(1, 2, 0).clamp(0, 1).numpy() * 255).round().astype(np.uint8)
    size, stride = receptive_field(layer)
    radius = max(1, size // stride - 1)  # in map positions: the next patch starts less than a stride before
    remaining = a.clone()
    patches: list[Patch] = []
    while len(patches) < n:
        flat = int(torch.argmax(remaining))
        i, j = divmod(flat, a.shape[-1])
        if (value := float(a[i, j])) <= 0.0 or remaining[i, j] == -torch.inf:
            break
        top, left, bottom, right = _box(i, j, layer, height, width)
        patches.append(Patch(i + 1, j + 1, value, (top, left, bottom, right), rgb[top:bottom, left:right].copy()))
        remaining[max(0, i - radius) : i + radius + 1, max(0, j - radius) : j + radius + 1] = -torch.inf
    return patches
