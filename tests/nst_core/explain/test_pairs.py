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


def test_the_border_share_of_a_gram_entry_counts_the_first_and_last_rows_and_columns() -> None:
    a = torch.zeros(2, 6, 5)
    a[:, 0, 2] = 2.0  # first row: 4
    a[:, 3, 4] = 1.0  # last column: 1
    a[:, 2, 2] = 3.0  # interior: 9
    pair = pair_summary(a, 0, 1)
    assert pair.g == 14.0 and pair.border_g == 5.0
    assert pair.border_share == pytest.approx(5 / 14)
    assert pair.border_positions == 6 * 5 - 4 * 3 and pair.border_fraction == pytest.approx(18 / 30)
    assert pair.largest_at == (2, 2) and not pair.largest_on_border
    a[:, 5, 0] = 5.0
    assert pair_summary(a, 0, 1).largest_on_border
    assert pair_summary(torch.zeros(2, 3, 3), 0, 1).border_share == 0.0
