"""The classic PyTorch neural-style tutorial algorithm, written plainly for ``bench/optimize.py`` only.

It follows pytorch/tutorials ``advanced_source/neural_style_tutorial.py`` (the versions read for this
project, commits 8bcd0ac6 / 0a7e6866): a new ``nn.Sequential`` = normalisation + copies of the VGG
layers with loss modules inserted after the chosen layers and the rest trimmed; Gram = F Fᵀ / (N·C·H·W)
then MSE; content MSE; style weight 1e6, content weight 1; L-BFGS with torch's defaults (no line
search, lr 1); the image clamped to [0, 1] at the start of each closure. As in those versions the
copied layers keep ``requires_grad=True``, so every backward pass also computes weight gradients;
``freeze=True`` gives the later tutorial's ``model.requires_grad_(False)``.

The fair baseline (``bench/optimize.py``): frozen weights, and the run's precision applied the way a careful
user would add it to this code: ``build_model(..., channels_last=True)`` (a channels-last model runs every
convolution channels-last) and ``run_style_transfer(..., autocast=torch.bfloat16)`` (the forward pass in
``torch.autocast``).

Differences on purpose, so the comparison is fair: the layers are ours (style relu1_1..relu5_1,
content relu4_2, named like ``nst_core.layers``) and so are the weights and images.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from nst_core.extractor import IMAGENET_MEAN, IMAGENET_STD
from nst_core.layers import LAYER_NAMES


class ContentLoss(nn.Module):
    def __init__(self, target: Tensor) -> None:
        super().__init__()
        self.target = target.detach()
        self.loss = torch.zeros(())

    def forward(self, x: Tensor) -> Tensor:
        self.loss = F.mse_loss(x, self.target)
        return x


def tutorial_gram(x: Tensor) -> Tensor:
    n, c, h, w = x.size()
    features = x.view(n * c, h * w)
    return torch.mm(features, features.t()).div(n * c * h * w)


class StyleLoss(nn.Module):
    def __init__(self, target_feature: Tensor) -> None:
        super().__init__()
        self.target = tutorial_gram(target_feature).detach()
        self.loss = torch.zeros(())

    def forward(self, x: Tensor) -> Tensor:
        self.loss = F.mse_loss(tutorial_gram(x), self.target)
        return x


class Normalization(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(-1, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(-1, 1, 1))

    def forward(self, image: Tensor) -> Tensor:
        return (image - self.mean) / self.std


def build_model(
    features: nn.Sequential,
    style_image: Tensor,
    content_image: Tensor,
    style_layers: Sequence[str],
    content_layers: Sequence[str],
    freeze: bool = False,
    channels_last: bool = False,
) -> tuple[nn.Sequential, list[StyleLoss], list[ContentLoss]]:
    """The tutorial's ``get_style_model_and_losses``: targets computed while the model is built."""
    cnn = copy.deepcopy(features)
    model = nn.Sequential(Normalization().to(content_image.device))
    style_losses: list[StyleLoss] = []
    content_losses: list[ContentLoss] = []
    for name, layer in zip(LAYER_NAMES, cnn.children(), strict=True):
        if isinstance(layer, nn.ReLU):
            layer = nn.ReLU(inplace=False)
        model.add_module(name, layer)
        if name in content_layers:
            loss = ContentLoss(model(content_image).detach())
            model.add_module(f"content_loss_{name}", loss)
            content_losses.append(loss)
        if name in style_layers:
            loss = StyleLoss(model(style_image).detach())
            model.add_module(f"style_loss_{name}", loss)
            style_losses.append(loss)
    last = max(i for i, module in enumerate(model) if isinstance(module, (ContentLoss, StyleLoss)))
    model = model[: last + 1]
    model.eval()
    model.requires_grad_(not freeze)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    return model, style_losses, content_losses


class Deadline(Exception):
    """Raised inside the closure once the bench's wall-clock budget is spent."""


def run_style_transfer(
    model: nn.Sequential,
    style_losses: list[StyleLoss],
    content_losses: list[ContentLoss],
    input_image: Tensor,
    num_steps: int,
    style_weight: float = 1e6,
    content_weight: float = 1.0,
    on_evaluation: Callable[[int], None] | None = None,
    deadline: float | None = None,
    autocast: torch.dtype | None = None,
) -> Tensor:
    """The tutorial's loop. ``on_evaluation(count)`` and ``deadline`` (a ``time.perf_counter`` value)
    are the bench's instruments; neither changes the algorithm. ``autocast``: the forward pass in
    ``torch.autocast`` of that dtype (the fair baseline)."""
    input_image.requires_grad_(True)
    device = input_image.device.type
    optimizer = torch.optim.LBFGS([input_image])
    count = [0]
    try:
        while count[0] <= num_steps:

            def closure() -> Tensor:
                if deadline is not None and time.perf_counter() > deadline:
                    raise Deadline
                with torch.no_grad():
                    input_image.clamp_(0, 1)
                optimizer.zero_grad()
                with torch.autocast(device, dtype=autocast or torch.bfloat16, enabled=autocast is not None):
                    model(input_image)
                style_score = style_weight * sum(loss.loss for loss in style_losses)
                content_score = content_weight * sum(loss.loss for loss in content_losses)
                total = style_score + content_score
                total.backward()
                count[0] += 1
                if on_evaluation is not None:
                    on_evaluation(count[0])
                return total

            optimizer.step(closure)
    except Deadline:
        pass
    with torch.no_grad():
        input_image.clamp_(0, 1)
    return input_image.detach()
