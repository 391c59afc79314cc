"""The numbers behind the style-cost lesson: feature-finding probes and the costs term by term.

Everything here is computed with the same functions as a run (``nst_core.gram``), so the lesson's
numbers are the optimiser's numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import torch
from torch import Tensor

from ..extractor import VGGExtractor
from ..gram import (
    content_cost,
    gram_matrix,
    layer_style_cost,
    style_cost,
    style_gram_target,
    total_cost,
    weighted_style_terms,
)

PROBE_SIDE: Final = 96
STRIPE_PERIOD: Final = 8
ORANGE: Final = (1.0, 0.55, 0.0)
DARK: Final = (0.08, 0.08, 0.1)
# A grey with the luminance of ORANGE (Rec. 709 weights), so that "orange" probes colour, not brightness.
_LUMA: Final = 0.2126 * ORANGE[0] + 0.7152 * ORANGE[1] + 0.0722 * ORANGE[2]
GREY: Final = (_LUMA, _LUMA, _LUMA)


def _paint(mask: Tensor, colour: tuple[float, float, float]) -> Tensor:
    """(H, W) mask in [0, 1] -> (1, 3, H, W) image: ``colour`` where the mask is 1, ``DARK`` elsewhere."""
    fg = torch.tensor(colour).view(3, 1, 1)
    bg = torch.tensor(DARK).view(3, 1, 1)
    return (bg + (fg - bg) * mask).unsqueeze(0)


def _stripes(side: int, vertical: bool) -> Tensor:
    coords = torch.arange(side)
    on = ((coords // (STRIPE_PERIOD // 2)) % 2 == 0).float()
    return on.view(1, side).expand(side, side) if vertical else on.view(side, 1).expand(side, side)


def probe_images(side: int = PROBE_SIDE) -> dict[str, Tensor]:
    """Four synthetic images that isolate one property each, as (1, 3, side, side) tensors in [0, 1].

    "vertical" and "horizontal": the same grey stripes in two orientations (only orientation differs);
    "orange" and "grey": the same checkerboard in orange or in a grey of equal luminance (only hue differs).
    """
    checker = (_stripes(side, True) + _stripes(side, False) == 1).float()
    return {
        "vertical": _paint(_stripes(side, True), GREY),
        "horizontal": _paint(_stripes(side, False), GREY),
        "orange": _paint(checker, ORANGE),
        "grey": _paint(checker, GREY),
    }


@dataclass(frozen=True)
class FeatureChannel:
    """A channel picked by a probe: its mean activation on the probe and on its contrast image."""

    channel: int
    on_probe: float
    on_contrast: float


@dataclass(frozen=True)
class FeatureChannels:
    layer: str
    vertical: FeatureChannel  # fires more on vertical than on horizontal stripes
    orange: FeatureChannel  # fires more on orange than on equally bright grey


def find_feature_channels(extractor: VGGExtractor, layer: str, side: int = PROBE_SIDE) -> FeatureChannels:
    """The channel of ``layer`` most selective for vertical lines, and (another one) for orange.

    Selectivity is the difference of mean activations over the interior of the probe images (the
    border is left out: zero padding creates edges of its own).
    """
    probes = probe_images(side)
    batch = torch.cat(list(probes.values())).to(extractor.device)
    with torch.inference_mode():
        a = extractor(batch, [layer])[layer].to("cpu", torch.float64)
    h, w = a.shape[-2:]
    mh, mw = max(1, h // 8), max(1, w // 8)
    means = dict(zip(probes, a[:, :, mh : h - mh or None, mw : w - mw or None].mean(dim=(-2, -1)), strict=True))
    vertical = int(torch.argmax(means["vertical"] - means["horizontal"]))
    colour_score = means["orange"] - means["grey"]
    colour_score[vertical] = -torch.inf
    orange = int(torch.argmax(colour_score))
    return FeatureChannels(
        layer,
        FeatureChannel(vertical, float(means["vertical"][vertical]), float(means["horizontal"][vertical])),
        FeatureChannel(orange, float(means["orange"][orange]), float(means["grey"][orange])),
    )


@dataclass(frozen=True)
class LayerStyleTerm:
    """J_style^[l] of one layer, with the pieces of its formula."""

    layer: str
    layer_weight: float  # λ^[l]
    n_C: int
    n_H: int
    n_W: int
    constant: float  # 1 / (2 n_H n_W n_C)²
    squared_difference: float  # Σ_k Σ_k' (G_S[k,k'] − G_G[k,k'])²
    cost: float  # J_style^[l] (from nst_core.layer_style_cost)
    weighted: float  # λ^[l] J_style^[l] (from nst_core.gram.weighted_style_terms)


@dataclass(frozen=True)
class CostBreakdown:
    """J = α J_content + β J_style, term by term."""

    style_terms: list[LayerStyleTerm]
    j_style: float
    content_layer: str
    content_shape: tuple[int, int, int]  # (n_C, n_H, n_W)
    j_content: float
    alpha: float
    beta: float
    j: float


def layer_style_term(layer: str, layer_weight: float, a_S: Tensor, a_G: Tensor) -> LayerStyleTerm:
    """The style cost of one layer; ``a_S`` and ``a_G`` are (n_C, n_H, n_W), sizes may differ."""
    n_C, n_H, n_W = a_G.shape
    # The pieces of the formula, in float64 so that the shown product reproduces the cost's digits.
    g_S = style_gram_target(a_S.to(torch.float64), n_H * n_W)
    squared = float((g_S - gram_matrix(a_G.to(torch.float64))).square().sum())
    cost = float(layer_style_cost(a_S, a_G))
    constant, weighted = 1.0 / (2.0 * n_H * n_W * n_C) ** 2, weighted_style_terms({layer: cost}, {layer: layer_weight})
    return LayerStyleTerm(layer, layer_weight, n_C, n_H, n_W, constant, squared, cost, weighted[layer])


def cost_breakdown(
    acts_S: Mapping[str, Tensor],
    acts_G: Mapping[str, Tensor],
    acts_C: Mapping[str, Tensor],
    layer_weights: Mapping[str, float],
    content_layer: str,
    alpha: float,
    beta: float,
) -> CostBreakdown:
    """Every term of J(G) for activations keyed by layer, each (n_C, n_H, n_W)."""
    terms = [layer_style_term(layer, lw, acts_S[layer], acts_G[layer]) for layer, lw in layer_weights.items()]
    j_style = float(style_cost(layer_costs={t.layer: t.cost for t in terms}, layer_weights=layer_weights))
    a_C, a_G = acts_C[content_layer], acts_G[content_layer]
    j_content = float(content_cost(a_C, a_G))
    j = float(total_cost(j_content, j_style, alpha, beta))
    return CostBreakdown(terms, j_style, content_layer, tuple(a_G.shape), j_content, alpha, beta, j)
