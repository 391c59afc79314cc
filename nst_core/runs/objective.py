"""The objective of one run: targets computed once, then J and its scaled form from one forward pass per step."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from .. import gram  # looked up at call time, so a test can swap a formula (to inject a NaN, say)
from ..extractor import VGGExtractor
from ..layers import LAYER_INDEX, layer_shape
from .precision import Precision
from .result import LossScaling


@dataclass(frozen=True)
class Evaluation:
    """One step: ``objective`` (scaled, differentiable), its ``value`` and the formulas' values, as floats."""

    objective: Tensor
    value: float
    J: float
    J_content: float
    J_style: float
    J_style_layers: dict[str, float]
    grams: dict[str, Tensor]


def _ordered(layers: Sequence[str] | set[str]) -> list[str]:
    return sorted(set(layers), key=LAYER_INDEX.__getitem__)


class Objective:
    """J(G) = α J_content(C, G) + β Σ_l λ^[l] J_style^[l](S, G) for one content, blended styles and one size.

    The content target a_C and the style targets G_S (the blend's weighted sum of each style's Gram,
    rescaled per position to G's size) are computed once, without gradients. The optimiser minimises
    α·s_C·J_content + β·Σ λ^[l]·s_l·J_style^[l] with the scales of ``LossScaling``; every step reports
    the unscaled values.
    """

    def __init__(
        self,
        extractor: VGGExtractor,
        content: Tensor,
        styles: Sequence[Tensor],
        blend: Sequence[float],
        style_layers: dict[str, float],
        content_layer: str,
        alpha: float,
        beta: float,
        recorded_layers: Sequence[str],
        precision: Precision,
    ) -> None:
        self.extractor = extractor
        self.precision = precision
        self.device = extractor.device
        self.style_layers = {layer: float(style_layers[layer]) for layer in _ordered(style_layers)}
        self.content_layer = content_layer
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.step_layers = _ordered([*self.style_layers, content_layer])
        height, width = content.shape[-2:]
        self.shapes = {
            layer: layer_shape(layer, height, width) for layer in _ordered([*self.step_layers, *recorded_layers])
        }
        target_layers = _ordered([*self.style_layers, *recorded_layers])
        with torch.no_grad():
            a_C = self.features(content.to(self.device), [content_layer])[content_layer][0].float()
            self.content_target = a_C
            self.style_targets = {layer: torch.zeros((), device=self.device) for layer in target_layers}
            for style, weight in zip(styles, blend):
                acts = self.features(style.to(self.device), target_layers)
                for layer in target_layers:
                    _, n_H, n_W = self.shapes[layer]
                    g_S = gram.style_gram_target(acts[layer][0].float(), n_H * n_W)
                    self.style_targets[layer] = self.style_targets[layer] + weight * g_S
        self.content_scale = _inverse(float(gram.content_cost(a_C, torch.zeros_like(a_C))), 1.0)
        self.style_scales: dict[str, float] | None = None

    def features(self, image: Tensor, layers: Sequence[str]) -> dict[str, Tensor]:
        with self.precision.context(self.device):
            return self.extractor(self.precision.prepare(image), layers)

    @property
    def loss_scaling(self) -> LossScaling:
        if self.style_scales is None:
            raise RuntimeError("the scaling is set by the first evaluation")
        return LossScaling(self.content_scale, dict(self.style_scales))

    def evaluate(self, image: Tensor, gram_layers: Sequence[str] = ()) -> Evaluation:
        """One forward pass for every layer of the step (plus ``gram_layers``, whose G_G are returned)."""
        acts = self.features(image, _ordered([*self.step_layers, *gram_layers]))
        grams = {layer: gram.gram_matrix(acts[layer][0].float()) for layer in self.style_layers}
        with torch.no_grad():
            grams.update(
                {layer: gram.gram_matrix(acts[layer][0].float()) for layer in gram_layers if layer not in grams}
            )
        j_layers = {}
        for layer in self.style_layers:
            n_C, n_H, n_W = self.shapes[layer]
            j_layers[layer] = gram.gram_style_cost(self.style_targets[layer], grams[layer], n_H, n_W, n_C)
        j_content = gram.content_cost(self.content_target, acts[self.content_layer][0].float())
        j_style = torch.stack([self.style_layers[layer] * j for layer, j in j_layers.items()]).sum()
        j_total = self.alpha * j_content + self.beta * j_style
        if self.style_scales is None:
            at_start = torch.stack(list(j_layers.values())).detach().tolist()
            self.style_scales = {
                layer: _inverse(value, self._zero_gram_cost(layer)) for layer, value in zip(j_layers, at_start)
            }
        scaled_style = torch.stack(
            [self.style_layers[layer] * self.style_scales[layer] * j for layer, j in j_layers.items()]
        ).sum()
        objective = self.alpha * self.content_scale * j_content + self.beta * scaled_style
        # One transfer of every value (one device sync per step).
        values = torch.stack([objective, j_total, j_content, j_style, *j_layers.values()]).detach().tolist()
        return Evaluation(
            objective=objective,
            value=values[0],
            J=values[1],
            J_content=values[2],
            J_style=values[3],
            J_style_layers=dict(zip(j_layers, values[4:])),
            grams={layer: grams[layer].detach().to("cpu", copy=True) for layer in gram_layers},
        )

    def _zero_gram_cost(self, layer: str) -> float:
        """J_style^[l] of an image whose activations are all zero: the target's own scale."""
        n_C, n_H, n_W = self.shapes[layer]
        target = self.style_targets[layer]
        return float(gram.gram_style_cost(target, torch.zeros_like(target), n_H, n_W, n_C))


def _inverse(value: float, fallback: float) -> float:
    """1 / value; when the start already matches the style (value 0), 1 / the target's own scale."""
    for reference in (value, fallback):
        if math.isfinite(reference) and reference > 0.0:
            return 1.0 / reference
    return 1.0
