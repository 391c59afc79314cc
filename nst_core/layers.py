"""VGG19 layer names, their place in ``torchvision.models.vgg19().features`` and the defaults of a run."""

from __future__ import annotations

from typing import Final

# Conv channels per block of VGG19; the names follow the usual convention (conv{block}_{i}, relu..., pool{block}).
_BLOCKS: Final = ((64, 2), (128, 2), (256, 4), (512, 4), (512, 4))


def _build() -> tuple[list[str], dict[str, int], dict[str, int]]:
    layers: list[tuple[str, int, int]] = []  # (name, channels, downsampling of the input)
    for block, (n_c, n_conv) in enumerate(_BLOCKS, start=1):
        scale = 2 ** (block - 1)
        layers += [(f"{kind}{block}_{i}", n_c, scale) for i in range(1, n_conv + 1) for kind in ("conv", "relu")]
        layers.append((f"pool{block}", n_c, 2 * scale))
    return [name for name, _, _ in layers], {name: c for name, c, _ in layers}, {name: d for name, _, d in layers}


LAYER_NAMES, LAYER_CHANNELS, LAYER_DOWNSAMPLE = _build()
LAYER_INDEX: Final[dict[str, int]] = {name: i for i, name in enumerate(LAYER_NAMES)}
RELU_LAYERS: Final[list[str]] = [n for n in LAYER_NAMES if n.startswith("relu")]

DEFAULT_STYLE_LAYERS: Final[dict[str, float]] = dict.fromkeys(
    ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"), 0.2
)
DEFAULT_CONTENT_LAYER: Final = "relu4_2"


def check_layer(name: str) -> str:
    """Return ``name`` if it is a VGG19 layer, else raise ``KeyError`` listing the valid names."""
    if name not in LAYER_INDEX:
        raise KeyError(f"unknown VGG19 layer {name!r}; valid layers: {', '.join(LAYER_NAMES)}")
    return name


def layer_shape(name: str, height: int, width: int) -> tuple[int, int, int]:
    """(n_C, n_H, n_W) of layer ``name`` for an input of ``height`` x ``width`` (max/avg pools floor)."""
    check_layer(name)
    d = LAYER_DOWNSAMPLE[name]
    h, w = height, width
    while d > 1:
        h, w, d = h // 2, w // 2, d // 2
    return LAYER_CHANNELS[name], h, w
