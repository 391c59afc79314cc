"""The lesson's numbers (nst_core.explain) against the core's costs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nst_core import content_cost, gram_matrix, layer_style_cost, style_cost, total_cost
from nst_core.explain import cost_breakdown, find_feature_channels, pair_summary, probe_images
from nst_core.explain.lesson import ORANGE
from nst_core.extractor import VGGExtractor


def test_probes_differ_only_in_the_property_they_test() -> None:
    probes = probe_images(32)
    assert all(p.shape == (1, 3, 32, 32) for p in probes.values())
    # same stripes, turned a quarter
    torch.testing.assert_close(probes["vertical"][0].transpose(1, 2), probes["horizontal"][0])
    # same pattern and brightness, different hue
    luma = torch.tensor([0.2126, 0.7152, 0.0722]).view(1, 3, 1, 1)
    torch.testing.assert_close((probes["orange"] * luma).sum(1), (probes["grey"] * luma).sum(1))
    bright = probes["orange"][0, :, 0, 0] if probes["orange"][0, 0, 0, 0] > 0.5 else probes["orange"][0, :, 0, 4]
    torch.testing.assert_close(bright, torch.tensor(ORANGE))


def test_feature_channels_are_selective(random_extractor: VGGExtractor) -> None:
    found = find_feature_channels(random_extractor, "relu2_1")
    assert found.vertical.on_probe > found.vertical.on_contrast
    assert found.orange.on_probe > found.orange.on_contrast
    assert found.vertical.channel != found.orange.channel


def test_pair_summary_against_numpy() -> None:
    rng = np.random.default_rng(0)
    a = np.maximum(rng.standard_normal((6, 5, 7)), 0.0).astype(np.float32)
    summary = pair_summary(torch.from_numpy(a), 1, 4)
    flat = a.reshape(6, -1).astype(np.float64)
    g = flat @ flat.T
    assert summary.g == pytest.approx(g[1, 4], rel=1e-6)
    assert summary.n_positions == 35
    assert summary.per_position == pytest.approx(g[1, 4] / 35, rel=1e-6)
    assert summary.correlation == pytest.approx(np.corrcoef(flat)[1, 4], abs=1e-5)


def test_cost_breakdown_matches_the_core_costs() -> None:
    gen = torch.Generator().manual_seed(1)
    layers = {"relu1_1": (4, 8, 10), "relu2_1": (6, 4, 5)}
    acts_S = {name: torch.rand(c, h + 2, w, generator=gen) for name, (c, h, w) in layers.items()}  # other size
    acts_G = {name: torch.rand(*shape, generator=gen) for name, shape in layers.items()}
    acts_C = {name: torch.rand(*shape, generator=gen) for name, shape in layers.items()}
    layer_weights = {"relu1_1": 0.3, "relu2_1": 0.7}
    breakdown = cost_breakdown(acts_S, acts_G, acts_C, layer_weights, "relu2_1", alpha=10.0, beta=40.0)
    for term in breakdown.style_terms:
        n_C, n_H, n_W = layers[term.layer]
        assert (term.n_C, term.n_H, term.n_W) == (n_C, n_H, n_W)
        assert term.constant == pytest.approx(1.0 / (2 * n_H * n_W * n_C) ** 2)
        assert term.cost == pytest.approx(float(layer_style_cost(acts_S[term.layer], acts_G[term.layer])), rel=1e-6)
        assert term.constant * term.squared_difference == pytest.approx(term.cost, rel=1e-5)
    assert breakdown.j_style == pytest.approx(float(style_cost(acts_S, acts_G, layer_weights)), rel=1e-6)
    assert breakdown.j_content == pytest.approx(float(content_cost(acts_C["relu2_1"], acts_G["relu2_1"])), rel=1e-6)
    assert breakdown.j == pytest.approx(float(total_cost(breakdown.j_content, breakdown.j_style, 10.0, 40.0)))
    g = gram_matrix(acts_G["relu1_1"])
    assert g.shape == (4, 4)
