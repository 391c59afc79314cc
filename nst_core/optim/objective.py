"""The objective of one run at one scale: its terms, built once, evaluated by name from one forward pass per step.

J(G) = α J_content + β Σ_l λ^[l] J_style^[l] (+ tv_weight J_tv). Each style layer is one ``StyleTerm``
(layer, λ^[l], the loss's targets, a normaliser): the chosen ``StyleLoss`` drives the optimiser,
and the course's Gram terms are evaluated beside it (from the same activations, without gradients) so
every record keeps the Gram formula's values.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import torch
import torch.nn.functional as F
from torch import Tensor

from .. import gram  # looked up at call time, so a test can swap a formula (to inject a NaN, say)
from ..extractor import VGGExtractor
from ..layers import LAYER_INDEX, layer_shape
from ..losses import GramLoss, StyleLoss, StyleTarget, make_style_loss, total_variation
from .config import RunConfig
from .precision import Precision
from .result import LossScaling

TV_NORMALISER: Final = 100.0
"""×J_tv in the objective. A fixed normaliser, not the content's own J_tv: a smooth content (a flat sky) would make
the same weight flatten everything. Measured J_tv of the bundled photos: 0.0035-0.013 at 256 px, 0.006-0.023 at
128 px; 0.05 pixel noise adds ~0.01. So the term is ~0.4-1 per unit of ``tv_weight`` on a clean image, beside
style terms that start at β λ^[l]."""


@dataclass(frozen=True)
class RunImages:
    """The images of one scale: content (1, 3, H, W), the styles, and the region masks (1, 1, H, W) or None."""

    content: Tensor
    styles: Sequence[Tensor]
    masks: Sequence[Tensor] | None = None


@dataclass(frozen=True)
class Evaluation:
    """One step: ``objective`` (scaled, differentiable), its ``value``, and every term's value by name, as floats."""

    objective: Tensor
    value: float
    J: float
    J_content: float
    J_style: float
    J_tv: float
    J_style_layers: dict[str, float]
    loss_layers: dict[str, float]
    grams: dict[str, Tensor]

    def named_values(self) -> dict[str, float]:
        """Every value by its name, the most specific first (J_style^[l], loss^[l], then the totals)."""
        values = {f"J_style^[{layer}]": v for layer, v in self.J_style_layers.items()}
        values.update({f"loss^[{layer}]": v for layer, v in self.loss_layers.items()})
        values.update(J_content=self.J_content, J_style=self.J_style, J_tv=self.J_tv, J=self.J, objective=self.value)
        return values


class StyleTerm:
    """loss(target, a_G^[l]) of one layer, summed over the regions (one target and mask each, or one blended target).

    ``layer_weight`` is λ^[l]; ``normaliser`` (set by ``Objective.normalise``) makes the term start at 1.
    """

    def __init__(
        self,
        layer: str,
        layer_weight: float,
        loss: StyleLoss,
        targets: Sequence[StyleTarget],
        masks: Sequence[Tensor | None],
    ) -> None:
        self.layer = layer
        self.layer_weight = layer_weight
        self.loss = loss
        self.targets = tuple(targets)
        self.masks = tuple(masks)
        self.normaliser: float | None = None
        # The course's Gram cost over the whole image is a function of G_G alone: it can take the G_G that the
        # network's pass computes (``VGGExtractor.activations_and_grams``) instead of the activations.
        self.reads_gram = isinstance(loss, GramLoss) and all(mask is None for mask in self.masks)

    def __call__(self, acts: Tensor) -> Tensor:
        """The term's value, a scalar, for ``acts`` (n_C, n_H, n_W), or (1, n_C, n_H, n_W) for a batched loss."""
        values = [self.loss(target, acts, mask) for target, mask in zip(self.targets, self.masks, strict=True)]
        return values[0].sum() if len(values) == 1 else torch.stack(values).sum()

    def of_gram(self, g_G: Tensor, n_H: int, n_W: int) -> Tensor:
        """The term's value, a scalar, from G_G (1, n_C, n_C) of a map of n_H x n_W positions (``reads_gram`` terms)."""
        return self.loss.of_gram(self.targets[0], g_G, n_H, n_W).sum()  # type: ignore[attr-defined]

    def set_normaliser(self, first_value: float, shape: tuple[int, int, int]) -> None:
        """1 / the value at the start; when the start already matches the style (0), 1 / that of zero activations."""
        with torch.no_grad():
            zero = float(self(torch.zeros(shape, device=self.targets[0][0].device)))
        self.normaliser = _inverse(first_value, zero)


def _ordered(layers: Sequence[str] | set[str]) -> list[str]:
    return sorted(set(layers), key=LAYER_INDEX.__getitem__)


class Objective:
    """The terms of ``config``'s objective for ``images`` (one scale), targets computed once without gradients."""

    def __init__(self, extractor: VGGExtractor, precision: Precision, config: RunConfig, images: RunImages) -> None:
        self.extractor = extractor
        self.precision = precision
        # The step's network holds its weights in the step's precision and layout; the style targets use the
        # float32 extractor.
        self.network = extractor.stored_as(precision.autocast, precision.channels_last)
        self.device = extractor.device
        self.layer_weights = {layer: float(config.style_layers[layer]) for layer in _ordered(config.style_layers)}
        self.content_layer = config.content_layer
        self.alpha, self.beta, self.tv_weight = float(config.alpha), float(config.beta), float(config.tv_weight)
        self.step_layers = _ordered([*self.layer_weights, self.content_layer])
        height, width = images.content.shape[-2:]
        resolved = config.resolved()
        target_layers = _ordered([*self.layer_weights, *resolved.snapshot_layers])  # type: ignore[union-attr]
        self.shapes = {
            layer: layer_shape(layer, height, width) for layer in _ordered([*self.step_layers, *target_layers])
        }
        with torch.no_grad():
            content = images.content.to(self.device)
            self.content_target = self.features(content, [self.content_layer])[self.content_layer][0].float()
            # The style targets in float32 whatever the step's precision: the G_S a run optimises towards and
            # stores is the one the Gram explorer shows for the same pixels (``nst_core.load_image``).
            style_acts = [
                {layer: a[0].float() for layer, a in self.extractor(s.to(self.device), target_layers).items()}
                for s in images.styles
            ]
        masks = None if images.masks is None else [m.to(self.device) for m in images.masks]
        # With regions each style is its own target, confined to its mask; the full-image Gram targets
        # (for the views) then blend the styles by the share of the image each mask covers.
        coverage = [] if masks is None else [float(m.mean()) for m in masks]
        blend = [c / sum(coverage) for c in coverage] if sum(coverage) > 0.0 else resolved.style_blend
        self.style_grams = {
            layer: gram.style_gram_target(
                [acts[layer] for acts in style_acts], self.shapes[layer][1] * self.shapes[layer][2], blend
            )
            for layer in target_layers
        }
        loss = make_style_loss(config.style_loss, config.seed)
        self.style_terms = {
            layer: self._term(layer, loss, style_acts, resolved.style_blend, masks) for layer in self.layer_weights
        }
        self.gram_terms = (
            self.style_terms
            if isinstance(loss, GramLoss)
            else {
                layer: self._term(layer, GramLoss(), style_acts, resolved.style_blend, masks)
                for layer in self.layer_weights
            }
        )
        self.content_normaliser = _inverse(
            float(gram.content_cost(self.content_target, torch.zeros_like(self.content_target))), 1.0
        )
        self.tv_normaliser = TV_NORMALISER

    def _term(
        self,
        layer: str,
        loss: StyleLoss,
        style_acts: list[dict[str, Tensor]],
        blend: list[float],
        masks: list[Tensor] | None,
    ) -> StyleTerm:
        layer_weight = self.layer_weights[layer]
        if masks is None:
            return StyleTerm(
                layer, layer_weight, loss, [loss.target([acts[layer] for acts in style_acts], blend)], [None]
            )
        _, n_H, n_W = self.shapes[layer]
        return StyleTerm(
            layer,
            layer_weight,
            loss,
            [loss.target([acts[layer]], [1.0]) for acts in style_acts],
            [F.interpolate(mask, size=(n_H, n_W), mode="area")[0, 0] for mask in masks],
        )

    def features(self, image: Tensor, layers: Sequence[str]) -> dict[str, Tensor]:
        with self.precision.context(self.device):
            return self.network(self.precision.prepare(image), layers)

    def features_and_grams(
        self, image: Tensor, layers: Sequence[str], gram_layers: Sequence[str]
    ) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        """``features``, and the float32 Gram matrices of ``gram_layers`` computed within the network's pass."""
        with self.precision.context(self.device):
            return self.network.activations_and_grams(self.precision.prepare(image), layers, gram_layers)

    def normalise(self, start: Tensor) -> None:
        """Scale each style term to start at 1 on ``start``, the image a one-scale run at this size starts from.

        A later scale of a coarse-to-fine run resumes from an already stylised image: normalising on that
        image would multiply β by what the coarser scales gained (measured: the cat dissolved at β = 1).
        """
        with torch.no_grad():
            acts = self.features(start, list(self.layer_weights))
            at_start = torch.stack([term(acts[layer][0].float()) for layer, term in self.style_terms.items()]).tolist()
        for (layer, term), value in zip(self.style_terms.items(), at_start, strict=True):
            term.set_normaliser(value, self.shapes[layer])

    @property
    def loss_scaling(self) -> LossScaling:
        style = {layer: term.normaliser for layer, term in self.style_terms.items()}
        if any(normaliser is None for normaliser in style.values()):
            raise RuntimeError("normalise(start) sets the normalisers")
        return LossScaling(self.content_normaliser, style, self.tv_normaliser if self.tv_weight else 0.0)  # type: ignore[arg-type]

    def layers(self, gram_layers: Sequence[str] = ()) -> list[str]:
        """The layers an evaluation reads: the step's, and ``gram_layers`` whose G_G it returns."""
        return _ordered([*self.step_layers, *gram_layers])

    def evaluate(self, image: Tensor, gram_layers: Sequence[str] = ()) -> Evaluation:
        """One forward pass for every layer of the step (plus ``gram_layers``, whose G_G are returned)."""
        acts, grams = self.features_and_grams(image, self.layers(gram_layers), self.tapped_layers(gram_layers))
        return self.evaluate_activations(image, acts, gram_layers, grams)

    def tapped_layers(self, gram_layers: Sequence[str] = ()) -> list[str]:
        """The layers whose G_G a step takes from the network's pass: the Gram terms' and ``gram_layers``."""
        terms = [*self.style_terms.values(), *self.gram_terms.values()]
        return _ordered([*(term.layer for term in terms if term.reads_gram), *gram_layers])

    def evaluate_backward(self, image: Tensor, gram_layers: Sequence[str] = ()) -> Evaluation:
        """``evaluate``, then its backward pass: ∇J is left in the ``.grad`` of the leaves ``image`` is made from.
        A run evaluates through this alone, or through a ``BatchedEvaluator`` shared with other runs."""
        evaluation = self.evaluate(image, gram_layers)
        evaluation.objective.backward()
        return evaluation

    def evaluate_activations(
        self,
        image: Tensor,
        acts: Mapping[str, Tensor],
        gram_layers: Sequence[str] = (),
        grams: Mapping[str, Tensor] | None = None,
    ) -> Evaluation:
        """The evaluation of ``image`` (1, C, H, W) from ``acts``, its activations (1, n_C, n_H, n_W) by layer
        (``features``, of this image alone or of its slice of a batch), covering ``layers(gram_layers)``. ``grams``:
        G_G (1, n_C, n_C) by layer from the same pass (``features_and_grams``), which the Gram terms over the whole
        image and the snapshots then read instead of computing them from ``acts``."""
        grams = grams or {}
        # The Gram loss takes the network's own activations, batch dimension included (``gram.activation_style_cost``
        # computes in float32 and returns a gradient in their dtype and layout). Selecting image 0 would cost a
        # full-size NCHW zero tensor per layer in the backward pass (the select's gradient), which the network's
        # channels-last backward must then convert: measured, that doubled the step's overhead at 256 px. The
        # other losses are written for one float32 image.
        style_acts = {
            layer: acts[layer] if self.gram_terms is self.style_terms else acts[layer][0].float()
            for layer in self.layer_weights
        }

        def value(term: StyleTerm) -> Tensor:
            if term.reads_gram and term.layer in grams:
                _, n_H, n_W = self.shapes[term.layer]
                return term.of_gram(grams[term.layer], n_H, n_W)
            return term(style_acts[term.layer])

        loss_values = {layer: value(term) for layer, term in self.style_terms.items()}
        if self.gram_terms is self.style_terms:
            gram_values = loss_values
        else:
            with torch.no_grad():
                gram_values = {layer: value(term) for layer, term in self.gram_terms.items()}
        j_content = gram.content_cost(self.content_target, acts[self.content_layer]).sum()
        j_tv = total_variation(image.float())
        j_style = gram.style_cost(layer_costs=gram_values, layer_weights=self.layer_weights)
        j_total = gram.total_cost(j_content, j_style, self.alpha, self.beta)
        if any(term.normaliser is None for term in self.style_terms.values()):
            raise RuntimeError("normalise(start) sets the style terms' normalisers before the first evaluation")
        # The optimiser's objective is J with each term divided by its value at the start (``normalise``).
        scaled = {layer: self.style_terms[layer].normaliser * value for layer, value in loss_values.items()}  # type: ignore[operator]
        objective = gram.total_cost(
            self.content_normaliser * j_content,
            gram.style_cost(layer_costs=scaled, layer_weights=self.layer_weights),
            self.alpha,
            self.beta,
        )
        if self.tv_weight:
            objective = objective + self.tv_weight * self.tv_normaliser * j_tv
        # One transfer of every value (one device sync per step).
        n = len(self.layer_weights)
        values = (
            torch.stack([objective, j_total, j_content, j_style, j_tv, *gram_values.values(), *loss_values.values()])
            .detach()
            .tolist()
        )
        with torch.no_grad():
            recorded = {
                layer: grams[layer][0] if layer in grams else gram.gram_matrix(acts[layer][0], torch.float32)
                for layer in gram_layers
            }
            recorded = {layer: g.to("cpu", copy=True) for layer, g in recorded.items()}
        return Evaluation(
            objective=objective,
            value=values[0],
            J=values[1],
            J_content=values[2],
            J_style=values[3],
            J_tv=values[4],
            J_style_layers=dict(zip(self.layer_weights, values[5 : 5 + n], strict=True)),
            loss_layers=dict(zip(self.layer_weights, values[5 + n :], strict=True)),
            grams=recorded,
        )


def _inverse(value: float, fallback: float) -> float:
    """1 / value; when the start already matches the style (value 0), 1 / ``fallback`` (the target's own size)."""
    for reference in (value, fallback):
        if math.isfinite(reference) and reference > 0.0:
            return 1.0 / reference
    return 1.0


Evaluate = Callable[[Objective, Tensor, Sequence[str]], Evaluation]
"""How a run evaluates J at an image and gets ∇J into its variable: ``Objective.evaluate_backward`` alone, or
``BatchSeat.evaluate`` through a batch shared with other runs (``nst_core.optim.batched``)."""
