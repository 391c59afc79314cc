"""The objective of one scale: an evaluation whose Gram terms read G_G from the network's pass (``evaluate``) equals
the one computed from the activations (``evaluate_activations`` without grams, as a batch of runs evaluates), in
values and in the gradient, in every precision."""

from __future__ import annotations

import pytest
import torch

from nst_core.optim.objective import Objective, RunImages
from nst_core.optim.precision import BFLOAT16, FLOAT32, FLOAT32_CHANNELS_LAST, Precision
from tests.helpers import small_config

PRECISIONS = {"float32": FLOAT32, "float32 channels-last": FLOAT32_CHANNELS_LAST, "bfloat16": BFLOAT16}


def _objective(extractor, precision: Precision, style_loss: str, regions: bool) -> tuple[Objective, torch.Tensor]:
    config = small_config(style_layers={"relu1_1": 0.5, "relu2_1": 0.3, "relu3_1": 0.2}, style_loss=style_loss)
    content, style = config.content, config.style
    masks = None
    if regions:
        left = torch.zeros(1, 1, 32, 32)
        left[..., :16] = 1.0
        masks = [left, 1.0 - left]
    images = RunImages(content, [style] if masks is None else [style, style.flip(-1)], masks)
    objective = Objective(extractor, precision, config, images)
    objective.normalise(content)
    image = (content + 0.1 * torch.rand(content.shape, generator=torch.Generator().manual_seed(3))).clamp(0, 1)
    return objective, image


def _evaluate(objective: Objective, image: torch.Tensor, tapped: bool):
    variable = image.clone().requires_grad_(True)
    layers = ["relu1_1", "relu3_1"]
    if tapped:
        evaluation = objective.evaluate_backward(variable, layers)
    else:
        evaluation = objective.evaluate_activations(
            variable, objective.features(variable, objective.layers(layers)), layers
        )
        evaluation.objective.backward()
    return evaluation, variable.grad


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize(("style_loss", "regions"), [("gram", False), ("gram", True), ("mean_cov", False)])
def test_grams_from_the_pass_give_the_evaluation_from_the_activations(
    random_extractor, precision, style_loss, regions
) -> None:
    objective, image = _objective(random_extractor, PRECISIONS[precision], style_loss, regions)
    tapped, tapped_grad = _evaluate(objective, image, tapped=True)
    plain, plain_grad = _evaluate(objective, image, tapped=False)
    # The same activations: the values differ by float32 summation order alone.
    for name, value in plain.named_values().items():
        assert tapped.named_values()[name] == pytest.approx(value, rel=1e-5, abs=1e-12), name
    for layer, g in plain.grams.items():
        assert g.dtype == torch.float32 and g.device.type == "cpu" and not tapped.grams[layer].requires_grad
        torch.testing.assert_close(tapped.grams[layer], g, rtol=1e-5, atol=1e-5 * float(g.abs().max()))
    # The gradients within the precision's rounding (bfloat16: a style layer's two gradients summed in a float32
    # accumulator here, rounded to bfloat16 each and then summed there).
    scale = plain_grad.abs().max()
    atol = 2e-2 if precision == "bfloat16" else 1e-5
    torch.testing.assert_close(tapped_grad / scale, plain_grad / scale, rtol=0, atol=atol)
