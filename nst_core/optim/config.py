"""``RunConfig``: everything one optimisation run needs, and its validation (``ConfigError`` names the field)."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from numbers import Integral, Real
from pathlib import Path
from typing import Any, Final, Union

import torch
from torch import Tensor

from ..errors import ConfigError
from ..examples import is_example
from ..images import content_digest
from ..layers import DEFAULT_CONTENT_LAYER, DEFAULT_STYLE_LAYERS, LAYER_INDEX, LAYER_NAMES, layer_shape
from ..losses import STYLE_LOSSES

ImageInput = Union[str, "os.PathLike[str]", bytes, Tensor]
"""A path, the bytes of an image file, a (1, 3, H, W) or (3, H, W) tensor in [0, 1], or a bundled example's name."""

OPTIMIZERS: Final = ("lbfgs", "adam")
INITS: Final = ("content", "noise")
PRESERVE_COLORS: Final = ("none", "luminance", "match")
PARAMETERIZATIONS: Final = ("pixels", "spectral")
DEFAULT_PARAMETERIZATION: Final[dict[str, str]] = {"lbfgs": "spectral", "adam": "pixels"}
"""Used when ``parameterization`` is None. Spectral coordinates keep L-BFGS from speckling the image; Adam's
per-coordinate step sizes undo their scaling, so Adam works on the pixels (measured: ``canvas``'s docstring)."""
SCALE_GROWTH: Final = math.sqrt(2.0)
"""Coarse-to-fine: each scale's longest side is about this times the previous one (as crowsonkb's)."""
DEFAULT_LR: Final[dict[str, float]] = {"lbfgs": 1.0, "adam": 0.02}
"""Learning rate used when ``lr`` is None. L-BFGS scales its steps by a line search, so 1 is its natural
value; Adam moves each pixel by about ``lr`` per step, and 0.02 of the [0, 1] range converges in ~100 steps."""

# α and β multiply the *normalised* terms of the objective (``result.LossScaling``): every style layer's
# term starts at 1 and the content term is the activations' relative squared error. With random weights
# (chelsea + orange_strokes, 192 px, 100 L-BFGS steps) β/α = 3 tints and textures the photo, 5 paints it
# with clear strokes while the eyes, nose and ears stay, 10 dissolves most of the face: 5 is the default.
DEFAULT_ALPHA: Final = 1.0
DEFAULT_BETA: Final = 5.0

MIN_SIZE: Final = 16
MAX_SIZE: Final = 4096
MAX_STEPS: Final = 100_000
MAX_SEED: Final = 2**63 - 1


@dataclass
class RunConfig:
    """One style-transfer run. Call ``validate()`` (``run`` and ``Executor.submit`` do) before using it.

    ``content`` / ``style``: a path, image bytes, an image tensor or a bundled example's name; ``style``
    may be a list of them, blended by ``style_blend`` (weights normalised to sum 1; equal when None), as
    the target Gram matrices' weighted sum. ``size`` caps the longest side (smaller images are never
    upscaled). ``style_layers`` maps layer -> λ. ``lr`` None means the optimiser's default
    (``DEFAULT_LR``). ``steps`` counts evaluations of J (forward + backward), whatever the optimiser.
    ``snapshot_every`` records a snapshot at every step that is a multiple of it, and one at step 0 (the
    starting image); 0: none. Each holds the Gram matrices of ``snapshot_layers`` (None: the style layers).
    ``weights`` is "imagenet" (the real thing; it raises ``WeightsError`` with advice when it cannot be had,
    never falls back silently), "random" (offline) or a state-dict path. ``seed`` seeds the noise
    initialisation and the sliced Wasserstein projections.

    Style controls. ``start_size`` (None: one scale) runs coarse-to-fine over ``scales``, from
    ``start_size`` to ``size`` growing by about √2, each scale starting from the previous result
    upsampled, with the style targets recomputed at each scale; ``steps`` stays the total number of
    evaluations, split by ``scale_steps``. ``tv_weight`` weighs a total-variation term (``J_tv``).
    ``preserve_colors``: "luminance" optimises the luminance only and keeps the content's chroma
    (Gatys et al. 2016); "match" recolours the style images to the content's colour mean and
    covariance first. ``style_loss``: "gram" (the course's cost), "mean_cov" (2-Wasserstein between
    Gaussians) or "sliced_wasserstein" (sorted random projections). ``regions``: one mask image per
    style (white: where that style applies), for guided Gram matrices; ``style_blend`` is then unused.
    """

    content: ImageInput | None = None
    style: ImageInput | Sequence[ImageInput] | None = None
    style_blend: Sequence[float] | None = None
    size: int = 256
    style_layers: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_STYLE_LAYERS))
    content_layer: str = DEFAULT_CONTENT_LAYER
    alpha: float = DEFAULT_ALPHA
    beta: float = DEFAULT_BETA
    optimizer: str = "lbfgs"
    lr: float | None = None
    steps: int = 200
    init: str = "content"
    seed: int = 0
    device: str = "auto"
    weights: str | os.PathLike[str] = "imagenet"
    snapshot_every: int = 10
    snapshot_layers: Sequence[str] | None = None
    start_size: int | None = None
    tv_weight: float = 0.0
    preserve_colors: str = "none"
    style_loss: str = "gram"
    regions: Sequence[ImageInput] | None = None
    parameterization: str | None = None

    def validate(self) -> RunConfig:
        """Raise ``ConfigError`` naming the first invalid field; return ``self`` when all are valid."""
        for check in _CHECKS:
            check(self)
        return self

    def validate_settings(self) -> RunConfig:
        """``validate`` without the checks that depend on this machine or on files: the images, the device
        and the weights file. What a stored run's description must pass, wherever it was made."""
        for check in _CHECKS:
            if check not in _MACHINE_CHECKS:
                check(self)
        return self

    @property
    def styles(self) -> list[ImageInput]:
        """The style images as a list (one entry for a single style)."""
        return list(self.style) if _is_style_list(self.style) else [self.style]  # type: ignore[list-item]

    @property
    def blend(self) -> list[float]:
        """The style blend weights, normalised to sum 1."""
        raw = [1.0] * len(self.styles) if self.style_blend is None else [float(w) for w in self.style_blend]
        total = sum(raw)
        return [w / total for w in raw]

    @property
    def learning_rate(self) -> float:
        return float(self.lr) if self.lr is not None else DEFAULT_LR[self.optimizer]

    @property
    def image_parameterization(self) -> str:
        return self.parameterization or DEFAULT_PARAMETERIZATION[self.optimizer]

    @property
    def recorded_layers(self) -> list[str]:
        """Layers whose Gram matrices snapshots record, in network order."""
        layers = self.style_layers if self.snapshot_layers is None else self.snapshot_layers
        return sorted(set(layers), key=LAYER_INDEX.__getitem__)

    @property
    def scales(self) -> list[int]:
        """The longest side of each scale, coarse to fine; the last is ``size``."""
        if self.start_size is None or self.start_size >= self.size:
            return [self.size]
        scales = [int(self.start_size)]
        while (larger := round(scales[-1] * SCALE_GROWTH)) < self.size:
            scales.append(larger)
        return [*scales, self.size]

    @property
    def scale_steps(self) -> list[int]:
        """Evaluations per scale: ``steps`` split evenly, the remainder to the coarsest scales.

        An even split spends most of the time at the finest scale (a step there costs ~2x the previous
        scale's) while the coarse scales, cheap, lay out the large structures.
        """
        n = len(self.scales)
        share, extra = divmod(self.steps, n)
        return [share + (i < extra) for i in range(n)]

    def describe(self) -> dict[str, Any]:
        """The configuration as JSON-friendly values (images are described, not embedded)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "content":
                value = describe_image(value)
            elif f.name == "style":
                value = [describe_image(s) for s in self.styles]
            elif f.name == "style_layers":
                value = {k: float(v) for k, v in value.items()}
            elif f.name in ("style_blend", "snapshot_layers") and value is not None:
                value = list(value)
            elif f.name == "regions" and value is not None:
                value = [describe_image(mask) for mask in value]
            elif isinstance(value, os.PathLike):
                value = os.fspath(value)
            out[f.name] = value
        out["lr"] = self.learning_rate
        out["parameterization"] = self.image_parameterization
        return out


def describe_image(source: object) -> str:
    if isinstance(source, Tensor):
        return f"tensor {'x'.join(map(str, source.shape))}"
    if isinstance(source, (bytes, bytearray, memoryview)):
        return f"upload {content_digest(bytes(source))}"  # names the file (SHA-256), never embeds it
    return os.fspath(source) if isinstance(source, (str, os.PathLike)) else repr(source)


def _is_style_list(style: object) -> bool:
    return isinstance(style, (list, tuple))


def _finite_real(value: object) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(float(value))


def _whole(value: object) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _check_image(name: str, source: object) -> None:
    if source is None:
        raise ConfigError(name, "no image given: pass a path, image bytes, an image tensor or an example's name")
    if isinstance(source, Tensor):
        shape = tuple(source.shape)
        if not (source.dim() == 3 or (source.dim() == 4 and shape[0] == 1)) or shape[-3] != 3:
            raise ConfigError(name, f"an image tensor must be (1, 3, H, W) or (3, H, W), got {shape}")
        if not source.is_floating_point():
            raise ConfigError(name, f"an image tensor must be floating point in [0, 1], got {source.dtype}")
        if min(shape[-2:]) < MIN_SIZE:
            raise ConfigError(name, f"the image is {shape[-1]}x{shape[-2]}; each side must be at least {MIN_SIZE} px")
        values = source.detach()
        if not bool(torch.isfinite(values).all()) or float(values.min()) < 0.0 or float(values.max()) > 1.0:
            raise ConfigError(name, "an image tensor must hold finite values in [0, 1]")
    elif isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise ConfigError(name, "the image bytes are empty")
    elif isinstance(source, (str, os.PathLike)):
        if isinstance(source, str) and not source:
            raise ConfigError(name, "the image path is empty")
        if not Path(source).is_file() and not (isinstance(source, str) and is_example(source)):
            raise ConfigError(name, f"no image file or bundled example named {os.fspath(source)!r}")
    else:
        raise ConfigError(
            name, f"expected a path, bytes, an image tensor or an example's name, not {type(source).__name__}"
        )


def _check_content(c: RunConfig) -> None:
    _check_image("content", c.content)


def _check_style(c: RunConfig) -> None:
    if _is_style_list(c.style) and not c.style:
        raise ConfigError("style", "the list of style images is empty")
    for source in c.styles:
        _check_image("style", source)


def _check_style_blend(c: RunConfig) -> None:
    if c.style_blend is None:
        return
    if isinstance(c.style_blend, (str, bytes)) or not isinstance(c.style_blend, Sequence):
        raise ConfigError("style_blend", "give one weight per style image, as a list of numbers")
    if len(c.style_blend) != len(c.styles):
        raise ConfigError("style_blend", f"{len(c.style_blend)} weights for {len(c.styles)} style image(s)")
    if not all(_finite_real(w) and float(w) >= 0.0 for w in c.style_blend):
        raise ConfigError("style_blend", "weights must be finite numbers >= 0")
    if sum(float(w) for w in c.style_blend) <= 0.0:
        raise ConfigError("style_blend", "at least one weight must be positive")


def _check_size(c: RunConfig) -> None:
    if not _whole(c.size) or not MIN_SIZE <= c.size <= MAX_SIZE:
        raise ConfigError("size", f"must be a whole number of pixels from {MIN_SIZE} to {MAX_SIZE}, got {c.size!r}")
    layers = list(c.style_layers) + [c.content_layer] + list(c.snapshot_layers or ())
    empty = [name for name in layers if name in LAYER_INDEX and 0 in layer_shape(name, c.size, c.size)[1:]]
    if empty:
        raise ConfigError(
            "size", f"at {c.size} px layer {empty[0]} has no positions left; use a larger size or shallower layers"
        )


def _check_layer_name(name: str, layer: object) -> None:
    if not isinstance(layer, str) or layer not in LAYER_INDEX:
        raise ConfigError(name, f"unknown VGG19 layer {layer!r}; valid layers: {', '.join(LAYER_NAMES)}")


def _check_style_layers(c: RunConfig) -> None:
    if not isinstance(c.style_layers, Mapping) or not c.style_layers:
        raise ConfigError("style_layers", "give at least one layer, as a mapping layer name -> weight λ")
    for layer, weight in c.style_layers.items():
        _check_layer_name("style_layers", layer)
        if not _finite_real(weight) or float(weight) < 0.0:
            raise ConfigError("style_layers", f"the weight of {layer} must be a finite number >= 0, got {weight!r}")


def _check_content_layer(c: RunConfig) -> None:
    _check_layer_name("content_layer", c.content_layer)


def _check_weight(name: str) -> Any:
    def check(c: RunConfig) -> None:
        value = getattr(c, name)
        if not _finite_real(value) or float(value) < 0.0:
            raise ConfigError(name, f"must be a finite number >= 0, got {value!r}")
        if name == "beta" and float(c.alpha) == 0.0 and float(value) == 0.0:
            raise ConfigError("beta", "alpha and beta are both 0: nothing to optimise")

    return check


def _check_optimizer(c: RunConfig) -> None:
    if c.optimizer not in OPTIMIZERS:
        raise ConfigError("optimizer", f"must be one of {', '.join(OPTIMIZERS)}, got {c.optimizer!r}")


def _check_lr(c: RunConfig) -> None:
    if c.lr is not None and (not _finite_real(c.lr) or float(c.lr) <= 0.0):
        raise ConfigError("lr", f"must be a finite number > 0 (or None for the optimiser's default), got {c.lr!r}")


def _check_steps(c: RunConfig) -> None:
    if not _whole(c.steps) or not 1 <= c.steps <= MAX_STEPS:
        raise ConfigError("steps", f"must be a whole number from 1 to {MAX_STEPS}, got {c.steps!r}")


def _check_init(c: RunConfig) -> None:
    if c.init not in INITS:
        raise ConfigError("init", f"must be one of {', '.join(INITS)}, got {c.init!r}")


def _check_seed(c: RunConfig) -> None:
    if not _whole(c.seed) or not 0 <= c.seed <= MAX_SEED:
        raise ConfigError("seed", f"must be a whole number from 0 to 2**63 - 1, got {c.seed!r}")


def _check_device(c: RunConfig) -> None:
    device = c.device
    if not isinstance(device, str):
        raise ConfigError("device", f"must be 'auto', 'cpu' or 'cuda', got {device!r}")
    if device in ("auto", "cpu"):
        return
    kind, _, index = device.partition(":")
    if kind != "cuda" or (index and not index.isdigit()):
        raise ConfigError("device", f"must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    if not torch.cuda.is_available():
        raise ConfigError("device", "CUDA is not available on this machine; use 'cpu' or 'auto'")
    if index and int(index) >= torch.cuda.device_count():
        raise ConfigError("device", f"there is no {device}: this machine has {torch.cuda.device_count()} GPU(s)")


def _check_weights(c: RunConfig) -> None:
    weights = c.weights
    if weights in ("imagenet", "random"):
        return
    if not isinstance(weights, (str, os.PathLike)) or not os.fspath(weights):
        raise ConfigError("weights", f"must be 'imagenet', 'random' or a path to a state dict, got {weights!r}")
    if not Path(weights).expanduser().is_file():
        raise ConfigError(
            "weights", f"no weights file at {os.fspath(weights)!r}; use 'imagenet', 'random' or an existing file"
        )


def _check_snapshot_every(c: RunConfig) -> None:
    if not _whole(c.snapshot_every) or c.snapshot_every < 0:
        raise ConfigError("snapshot_every", f"must be a whole number >= 0 (0: no snapshots), got {c.snapshot_every!r}")


def _check_snapshot_layers(c: RunConfig) -> None:
    if c.snapshot_layers is None:
        return
    if isinstance(c.snapshot_layers, (str, bytes)) or not isinstance(c.snapshot_layers, Sequence):
        raise ConfigError("snapshot_layers", "give a list of layer names (or None for the style layers)")
    for layer in c.snapshot_layers:
        _check_layer_name("snapshot_layers", layer)


def _check_start_size(c: RunConfig) -> None:
    if c.start_size is None:
        return
    if not _whole(c.start_size) or not MIN_SIZE <= c.start_size <= c.size:
        raise ConfigError(
            "start_size",
            f"must be None or a whole number of pixels from {MIN_SIZE} to size ({c.size}), got {c.start_size!r}",
        )
    layers = list(c.style_layers) + [c.content_layer] + list(c.snapshot_layers or ())
    empty = [name for name in layers if 0 in layer_shape(name, c.start_size, c.start_size)[1:]]
    if empty:
        raise ConfigError(
            "start_size", f"at {c.start_size} px layer {empty[0]} has no positions left; use a larger start_size"
        )
    if c.steps < len(c.scales):
        raise ConfigError(
            "start_size",
            f"{len(c.scales)} scales from {c.start_size} to {c.size} px need at least {len(c.scales)} steps",
        )


def _check_tv_weight(c: RunConfig) -> None:
    if not _finite_real(c.tv_weight) or float(c.tv_weight) < 0.0:
        raise ConfigError(
            "tv_weight", f"must be a finite number >= 0 (0: no total-variation term), got {c.tv_weight!r}"
        )


def _check_choice(name: str, choices: tuple[str, ...]) -> Any:
    def check(c: RunConfig) -> None:
        if getattr(c, name) not in choices:
            raise ConfigError(name, f"must be one of {', '.join(choices)}, got {getattr(c, name)!r}")

    return check


def _check_regions(c: RunConfig) -> None:
    if c.regions is None:
        return
    if isinstance(c.regions, (str, bytes)) or not isinstance(c.regions, Sequence):
        raise ConfigError("regions", "give a list of mask images, one per style image (or None)")
    if len(c.regions) != len(c.styles):
        raise ConfigError("regions", f"{len(c.regions)} mask(s) for {len(c.styles)} style image(s): give one per style")
    for mask in c.regions:
        _check_image("regions", mask)


def _check_parameterization(c: RunConfig) -> None:
    if c.parameterization is not None and c.parameterization not in PARAMETERIZATIONS:
        raise ConfigError(
            "parameterization",
            f"must be one of {', '.join(PARAMETERIZATIONS)} (or None for the optimiser's default), "
            f"got {c.parameterization!r}",
        )


# In field order, so that the first error reported is the first bad field; layers before size, whose
# check needs valid layer names.
_CHECKS: Final = (
    _check_content,
    _check_style,
    _check_style_blend,
    _check_style_layers,
    _check_content_layer,
    _check_snapshot_layers,
    _check_size,
    _check_weight("alpha"),
    _check_weight("beta"),
    _check_optimizer,
    _check_lr,
    _check_steps,
    _check_init,
    _check_seed,
    _check_device,
    _check_weights,
    _check_snapshot_every,
    _check_start_size,
    _check_tv_weight,
    _check_choice("preserve_colors", PRESERVE_COLORS),
    _check_choice("style_loss", STYLE_LOSSES),
    _check_regions,
    _check_parameterization,
)
_MACHINE_CHECKS: Final = (_check_content, _check_style, _check_device, _check_weights, _check_regions)
