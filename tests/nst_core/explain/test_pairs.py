"""The pair summary of one Gram entry: it agrees with the Gram matrix and with its own products."""

from __future__ import annotations

import pytest
import torch

from nst_core.explain import pair_summary
from nst_core.gram import gram_matrix


def test_pair_summary_matches_the_gram_entry_and_its_largest_product() -> None:
    a = torch.relu(torch.randn(4, 5, 6, generator=torch.Generator().manual_seed(0)))
    pair = pair_summary(a, 1, 3)
    assert pair.g == pytest.approx(float(gram_matrix(a.double())[1, 3]), rel=1e-12)
    products = a[1].double() * a[3].double()
    assert pair.n_positions == 30
    assert pair.nonzero == int((products != 0).sum())
    i, j = pair.largest_at
    assert pair.largest == float(products.max()) == float(products[i, j])
    assert pair.per_position == pytest.approx(pair.g / 30)
    assert -1.0 <= pair.correlation <= 1.0
