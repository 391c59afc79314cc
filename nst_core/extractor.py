"""VGG19 feature extractor: named activations of the truncated, frozen trunk."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable
from itertools import islice
from pathlib import Path
from typing import Literal

import torch
from torch import Tensor, nn

from .errors import ConfigError
from .gram import gram_tap
from .layers import LAYER_INDEX, LAYER_NAMES, check_layer, layer_shape
from .weights import ProgressCallback, build_features, resolve_weights

# torchvision's VGG19 ImageNet weights expect inputs normalised with these statistics.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

Pooling = Literal["max", "avg"]

_STORED_LOCK = threading.Lock()


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None`` or "auto" -> CUDA when available, else CPU; an unusable device is a ``ConfigError``."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ConfigError("device", f"{device!r} is not a device; use 'auto', 'cpu' or 'cuda' ({exc})") from None
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError("device", "CUDA is not available on this machine; use 'cpu' or 'auto'")
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ConfigError(
                "device", f"{resolved} does not exist: this machine has {torch.cuda.device_count()} GPU(s)"
            )
    return resolved


class VGGExtractor(nn.Module):
    """Runs only the part of VGG19 that the deepest requested layer needs and returns named activations.

    Parameters are frozen (gradients flow to the input image only) and the module stays in eval mode.
    The forward pass keeps no state on the module, so one instance can be shared by several threads.
    """

    def __init__(self, features: nn.Sequential, weights_source: str, pooling: Pooling = "max") -> None:
        super().__init__()
        self.features = features
        self.weights_source = weights_source
        self.pooling = pooling
        device = next(features.parameters()).device
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()
        self._stored: dict[tuple[torch.dtype | None, bool], VGGExtractor] = {}

    def stored_as(self, dtype: torch.dtype | None, channels_last: bool = False) -> VGGExtractor:
        """This network with its weights stored in ``dtype`` (None: as they are) and, with ``channels_last``, in that
        memory layout: built once per extractor, shared by every run that asks (they are read-only).

        Under autocast, weights kept in float32 are cast to the autocast dtype by every convolution of every
        forward pass, and reordered to the input's layout again in the backward pass (autocast caches casts only
        for weights that require gradients, and these are frozen). Measured in bfloat16 at 256 px: 13-18 ms of a
        58 ms forward+backward (``bench/optimize.py``, "bare network" rows). Autocast rounds the weights exactly as
        ``Tensor.to`` does, so the activations are the same.
        """
        key = (None if dtype in (None, self.mean.dtype) else dtype, channels_last)
        if key == (None, False):
            return self
        with _STORED_LOCK:
            if key not in self._stored:
                features = copy.deepcopy(self.features)
                memory_format = torch.channels_last if channels_last else torch.contiguous_format
                features.to(dtype=dtype, memory_format=memory_format)
                self._stored[key] = VGGExtractor(features, self.weights_source, self.pooling)
            return self._stored[key]

    @property
    def device(self) -> torch.device:
        return self.mean.device

    def train(self, mode: bool = True) -> VGGExtractor:
        # The trunk has no dropout or batch norm, but eval mode is part of the read-only contract.
        return super().train(False)

    def forward(self, images: Tensor, layers: Iterable[str] | str) -> dict[str, Tensor]:
        """``images`` (N, 3, H, W) float in [0, 1] -> {layer name: activations (N, n_C, n_H, n_W)}.

        ``layers`` is one name or several. Images of another float dtype are converted to the
        extractor's; under ``torch.autocast`` the convolutions run in the autocast dtype.
        """
        wanted = [layers] if isinstance(layers, str) else list(layers)
        return self.activations_and_grams(images, wanted)[0]

    def activations_and_grams(
        self, images: Tensor, layers: Iterable[str], gram_layers: Iterable[str] = (), dtype: torch.dtype = torch.float32
    ) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        """``forward``'s activations of ``layers``, and the Gram matrices (N, n_C, n_C) of ``gram_layers``, computed in
        ``dtype`` as the pass reaches them: the pass goes on from ``gram.gram_tap``, so a gradient of G joins the
        activations' own gradient inside one product (instead of a second gradient of the layer's size to add)."""
        taps = {check_layer(name) for name in gram_layers}
        wanted = {check_layer(name) for name in layers} | taps
        if not wanted:
            return {}, {}
        if images.dim() != 4 or images.shape[1] != 3 or not images.is_floating_point():
            raise ValueError(
                f"images must be a float tensor (N, 3, H, W) in [0, 1], got {images.dtype} {tuple(images.shape)}"
            )
        if images.device != self.device:
            raise ValueError(f"images are on {images.device} but the extractor is on {self.device}")
        deepest = max(LAYER_INDEX[name] for name in wanted)
        height, width = images.shape[-2:]
        if 0 in layer_shape(LAYER_NAMES[deepest], height, width):
            raise ValueError(f"a {height}x{width} image is too small to reach {LAYER_NAMES[deepest]}")
        x = (images.to(self.mean.dtype) - self.mean) / self.std
        out: dict[str, Tensor] = {}
        grams: dict[str, Tensor] = {}
        for name, module in zip(LAYER_NAMES, islice(self.features, deepest + 1), strict=False):
            x = module(x)
            if name in taps:
                x, grams[name] = gram_tap(x, dtype)
            if name in wanted:
                out[name] = x
        return out, grams


def load_extractor(
    weights: str | Path = "imagenet",
    device: str | torch.device | None = None,
    pooling: Pooling = "max",
    progress: ProgressCallback | None = None,
    seed: int = 0,
    weights_url: str | None = None,
) -> VGGExtractor:
    """Build a VGG19 extractor.

    ``weights``: "imagenet" (torchvision's VGG19 ImageNet weights, downloaded once into the torch hub
    cache from ``weights_url``, else $NST_VGG19_WEIGHTS_URL, else torchvision's URL), "random" (seeded
    by ``seed``, for offline use and tests) or the path of a local state dict.
    ``progress(done_bytes, total_bytes | None)`` is called during a download.
    Raises ``WeightsError`` when the weights cannot be had, ``ConfigError`` for a bad device or pooling.
    """
    if pooling not in ("max", "avg"):
        raise ConfigError("pooling", f"must be 'max' or 'avg', got {pooling!r}")
    target = resolve_device(device)  # before a download that could take minutes
    state, source = resolve_weights(weights, progress=progress, seed=seed, weights_url=weights_url)
    features = build_features(pooling, device=target)
    features.load_state_dict(state)
    return VGGExtractor(features, source if pooling == "max" else f"{source}, average pooling", pooling)
