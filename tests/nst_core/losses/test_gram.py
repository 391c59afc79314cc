"""The Gram loss is the course formula of ``nst_core.gram``, its target rescaled per position."""

from __future__ import annotations

import torch

from nst_core import layer_style_cost
from nst_core.losses import GramLoss
from tests.helpers import relu_activations


def test_gram_loss_is_the_course_formula_and_all_one_weights_change_nothing() -> None:
    # Different sizes: G_S is rescaled per position.
    a_S, a_G = relu_activations(8, 6, 5, seed=0), relu_activations(8, 4, 4, seed=1)
    loss = GramLoss()
    target = loss.target([a_S], [1.0])
    torch.testing.assert_close(loss(target, a_G), layer_style_cost(a_S, a_G))
    torch.testing.assert_close(loss(target, a_G, torch.ones(4, 4)), loss(target, a_G))
