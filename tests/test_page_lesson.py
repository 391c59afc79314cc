"""The lesson: its numbers (nst_core.lesson) against the core's costs, and the page (AppTest)."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from tests.test_app_frame import assert_no_exception, new_app

from nst_core import content_cost, gram_matrix, layer_style_cost, style_cost, total_cost
from nst_core.extractor import VGGExtractor
from nst_core.layers import DEFAULT_STYLE_LAYERS
from nst_core.lesson import (
    ORANGE,
    cost_breakdown,
    find_feature_channels,
    pair_summary,
    probe_images,
)


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
    weights = {"relu1_1": 0.3, "relu2_1": 0.7}
    breakdown = cost_breakdown(acts_S, acts_G, acts_C, weights, "relu2_1", alpha=10.0, beta=40.0)
    for term in breakdown.style_terms:
        n_C, n_H, n_W = layers[term.layer]
        assert (term.n_C, term.n_H, term.n_W) == (n_C, n_H, n_W)
        assert term.constant == pytest.approx(1.0 / (2 * n_H * n_W * n_C) ** 2)
        assert term.cost == pytest.approx(float(layer_style_cost(acts_S[term.layer], acts_G[term.layer])), rel=1e-6)
        assert term.constant * term.squared_difference == pytest.approx(term.cost, rel=1e-5)
    assert breakdown.j_style == pytest.approx(float(style_cost(acts_S, acts_G, weights)), rel=1e-6)
    assert breakdown.j_content == pytest.approx(float(content_cost(acts_C["relu2_1"], acts_G["relu2_1"])), rel=1e-6)
    assert breakdown.j == pytest.approx(float(total_cost(breakdown.j_content, breakdown.j_style, 10.0, 40.0)))
    g = gram_matrix(acts_G["relu1_1"])
    assert g.shape == (4, 4)


def _latex_numbers(text: str) -> list[float]:
    """Plain and "m \\times 10^{e}" numbers of a LaTeX string, in order."""
    text = re.sub(r"([-\d.]+) \\times 10\^\{(-?\d+)\}", lambda m: f"{float(m[1]) * 10 ** int(m[2])!r}", text)
    return [float(x) for x in re.findall(r"(?<![\w^_{])-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", text)]


def test_lesson_page_walks_through_with_live_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    at = new_app(monkeypatch)
    at.run()
    at.switch_page("pages/lesson.py").run()
    assert_no_exception(at)
    headers = [h.value for h in at.header]
    assert len(headers) == 6 and headers[0].startswith("1 · Style is a correlation")
    assert any("uncentred cross-covariance" in m.value for m in at.markdown)

    latex = [block.value.strip("$\n") for block in at.latex]
    layer_cost = next(text for text in latex if text.startswith("= \\frac{1}{(2"))
    # chelsea (451 x 300) is analysed at 256 x 170; relu2_1 halves it: n_H = 85, n_W = 128, n_C = 128
    assert "(2 \\cdot 85 \\cdot 128 \\cdot 128)^2" in layer_cost
    total = next(text for text in latex if text.startswith("J(G)"))
    alpha, j_content, beta, j_style, j = _latex_numbers(total.split("=", 2)[2])
    assert (alpha, beta) == (10.0, 40.0)
    assert j_content == 0.0  # the content image stands in for G
    assert j == pytest.approx(alpha * j_content + beta * j_style, rel=1e-3)
    style_sum = next(text for text in latex if "J_{style}(S,G) &= " in text)
    assert len(_latex_numbers(style_sum.split("=", 2)[2])) == 2 * len(DEFAULT_STYLE_LAYERS) + 1

    at.selectbox(key="lesson_generated").select("White noise (stand-in: another common start)").run()
    assert_no_exception(at)
    total = next(text for text in (block.value.strip("$\n") for block in at.latex) if text.startswith("J(G)"))
    _, j_content, _, _, _ = _latex_numbers(total.split("=", 2)[2])
    assert j_content > 0.0
