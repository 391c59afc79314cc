"""What a run produces: one ``StepRecord`` per step, ``Snapshot``s, and the ``RunResult`` that holds them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from torch import Tensor

from .config import RunConfig

JSON_FORMAT = "style-lens-run/1"


@dataclass(frozen=True)
class StepRecord:
    """The costs at one step (one evaluation of J): the formulas' own values, never scaled.

    They are what the optimiser's own forward pass computed, so the history shows what was minimised:
    activations in the run's precision (``RunResult.precision``: under bfloat16 autocast the convolutions
    run in bfloat16), Gram matrices and costs in float32 from those activations. Under float32 they match a
    float32 recomputation to ~1e-5 relative; under bfloat16 (8-bit mantissa) to ~1e-2.

    ``J = alpha * J_content + beta * J_style``, ``J_style = Σ_l λ^[l] J_style_layers[l]``: the course's
    Gram formula whatever the style loss (guided by the masks when the run has regions), so every run
    compares. ``loss_layers`` holds the chosen style loss's per-layer values (the Gram formula's again
    for "gram"); ``J_tv`` the total-variation term's (weighted by ``tv_weight`` in the objective only).
    ``scale`` is the longest side (px) of the image evaluated at this step (coarse-to-fine runs
    change it). ``objective`` is the scaled value the optimiser minimised (see ``LossScaling``);
    ``elapsed_s`` counts from the start of the run (weights loading excluded) to the end of this step.
    """

    step: int
    J: float
    J_content: float
    J_style: float
    J_style_layers: Mapping[str, float]
    elapsed_s: float
    objective: float
    J_tv: float = 0.0
    loss_layers: Mapping[str, float] = field(default_factory=dict)
    scale: int | None = None

    def to_dict(self) -> dict[str, Any]:
        layers = {"J_style_layers": dict(self.J_style_layers), "loss_layers": dict(self.loss_layers)}
        return {f.name: getattr(self, f.name) for f in fields(self)} | layers


@dataclass(frozen=True)
class Snapshot:
    """The image evaluated at ``step`` (1, 3, H, W) on the CPU, and its Gram matrices G_G (float32, CPU)."""

    step: int
    image: Tensor
    grams: Mapping[str, Tensor]


@dataclass(frozen=True)
class LossScaling:
    """The normalisers by which the optimiser's objective divides the formulas' terms; the reported J values
    are never scaled.

    objective = alpha * content * J_content + beta * Σ_l λ^[l] * style[l] * L^[l] + tv_weight * tv * J_tv,
    L^[l] the style loss's value at layer l (``StepRecord.loss_layers``). ``content`` is
    1 / J_content(C, 0) = 4 / mean(a_C²) (the content target's mean square), so the content term is the
    relative squared error of the activations; ``style[l]`` is 1 / L^[l] of the run's starting image (at
    the last scale: the content, or the noise, at ``size``), so each layer's term starts at 1; ``tv`` is a
    fixed 100 (``objective.TV_NORMALISER``; 0 without a TV term). Every term is relative: the same α and β
    work whatever the activations' magnitude (ImageNet or random weights, shallow or deep layers) and
    whatever the loss. Stored runs name ``style`` by its former key too (``serve.validation.RENAMED_KEYS``).
    """

    content: float
    style: Mapping[str, float]
    tv: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "objective": "alpha*content*J_content + beta*sum_l(lambda_l*style[l]*loss_l) + tv_weight*tv*J_tv",
            "content": self.content,
            "style": dict(self.style),
            "tv": self.tv,
        }

    def __str__(self) -> str:
        layers = ", ".join(f"{layer} ×{normaliser:.3g}" for layer, normaliser in self.style.items())
        return (
            f"J_content ×{self.content:.3g} (4 / the content target's mean square); "
            f"each layer's style loss divided by its value at step 1 ({layers})"
            + (f"; J_tv ×{self.tv:.3g}" if self.tv else "")
        )


@dataclass(frozen=True)
class RunProgress:
    """Passed to ``on_progress`` after every step. ``image`` is the evaluated image on the run's device:
    valid during the call only (copy it to keep it); ``snapshot`` is set at snapshot steps."""

    step: int
    steps: int
    record: StepRecord
    image: Tensor
    snapshot: Snapshot | None


@dataclass(frozen=True)
class RunResult:
    """A finished run. ``image`` (1, 3, H, W) in [0, 1] on the CPU is the image evaluated at the last
    step, so ``history[-1]`` holds its costs. ``style_grams`` holds the target G_S (CPU, float32) of
    every style and snapshot layer, rescaled to the generated image's positions as the cost uses it
    (with ``regions``: the styles blended by the share of the image each mask covers; at the last scale)."""

    image: Tensor
    history: list[StepRecord]
    snapshots: list[Snapshot]
    style_grams: dict[str, Tensor]
    config: RunConfig
    weights_source: str
    device: str
    loss_scaling: LossScaling
    precision: str
    seconds: float

    def to_json(self, indent: int | None = None) -> str:
        """The configuration, the scaling and every step's costs, as a JSON document."""
        return json.dumps(
            {
                "format": JSON_FORMAT,
                "config": self.config.describe(),
                "weights_source": self.weights_source,
                "device": self.device,
                "precision": self.precision,
                "seconds": self.seconds,
                "image_size": list(self.image.shape[-2:]),
                "loss_scaling": self.loss_scaling.to_dict(),
                "snapshot_steps": [s.step for s in self.snapshots],
                "history": [record.to_dict() for record in self.history],
            },
            indent=indent,
        )
