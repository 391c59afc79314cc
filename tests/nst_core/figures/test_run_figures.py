"""The run figures: one colour scale for G_S and G_G, a difference centred at 0, the diagonal, the rows,
the per-layer bars and the loss curves."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import plotly.graph_objects as go
import pytest

from nst_core.figures import (
    DIVERGING,
    MAX_SCATTER_POINTS,
    SEQUENTIAL,
    gram_difference_figure,
    gram_pair_figure,
    gram_row_figure,
    gram_scatter_figure,
    loss_curve_figure,
    style_layer_bars,
)


def _grams(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a_S, a_G = rng.random((n, 50)), rng.random((n, 50)) * 1.5
    return (a_S @ a_S.T).astype(np.float32), (a_G @ a_G.T).astype(np.float32)


def _history(steps: int, layers: tuple[str, ...] = ("relu1_1", "relu2_1")) -> list[SimpleNamespace]:
    return [
        SimpleNamespace(
            step=step,
            J=100.0 / step,
            J_content=1.0 + step,
            J_style=10.0 / step,
            J_style_layers={layer: (i + 1) * 5.0 / step for i, layer in enumerate(layers)},
        )
        for step in range(1, steps + 1)
    ]


def _axis_titles(fig: go.Figure) -> list[str]:
    return [axis.title.text for axis in (fig.layout.xaxis, fig.layout.yaxis)]


def test_pair_shares_one_colour_scale_spanning_both_matrices() -> None:
    g_S, g_G = _grams(16)
    fig = gram_pair_figure(g_S, g_G, "relu2_1", step=30)
    heatmaps = [trace for trace in fig.data if isinstance(trace, go.Heatmap)]
    assert len(heatmaps) == 2
    assert {trace.coloraxis for trace in heatmaps} == {"coloraxis"}
    np.testing.assert_array_equal(heatmaps[0].z, g_S)
    np.testing.assert_array_equal(heatmaps[1].z, g_G)
    axis = fig.layout.coloraxis
    assert axis.cmin == 0.0 and axis.cmax == pytest.approx(max(g_S.max(), g_G.max()))
    assert axis.colorbar.title.text == "G at relu2_1"
    assert axis.colorscale == go.layout.Coloraxis(colorscale=SEQUENTIAL).colorscale
    titles = [annotation.text for annotation in fig.layout.annotations]
    assert "step 30" in titles[1]
    # Drawn like matrices: row k downwards, square cells.
    assert fig.layout.yaxis.range == (15.5, -0.5) and fig.layout.yaxis2.scaleanchor == "x2"


def test_difference_is_generated_minus_style_centred_at_zero() -> None:
    g_S, g_G = _grams(8)
    (heatmap,) = gram_difference_figure(g_S, g_G, "relu1_1").data
    assert heatmap.zmid == 0.0 and heatmap.zmin is None and heatmap.zmax is None
    assert heatmap.colorscale == go.Heatmap(colorscale=DIVERGING).colorscale
    np.testing.assert_allclose(heatmap.z, g_G - g_S, rtol=1e-6)
    assert heatmap.colorbar.title.text


def test_scatter_has_every_upper_pair_the_diagonal_and_the_identity_line() -> None:
    g_S, g_G = _grams(10)
    fig = gram_scatter_figure(g_S, g_G, "relu3_1")
    pairs, diagonal, line = fig.data
    assert isinstance(pairs, go.Scattergl) and len(pairs.x) == 10 * 9 // 2
    k, k2 = pairs.customdata[:, 0], pairs.customdata[:, 1]
    assert (k < k2).all()
    np.testing.assert_array_equal(pairs.x, g_S[k, k2])
    np.testing.assert_array_equal(pairs.y, g_G[k, k2])
    np.testing.assert_array_equal(diagonal.x, np.diag(g_S))
    np.testing.assert_array_equal(diagonal.y, np.diag(g_G))
    assert line.x == line.y and line.x[0] <= min(g_S.min(), g_G.min()) and line.x[1] >= max(g_S.max(), g_G.max())
    assert fig.layout.xaxis.range == fig.layout.yaxis.range
    assert "sampled" not in fig.layout.title.text
    assert all(_axis_titles(fig))


def test_scatter_of_a_512_channel_layer_is_capped_and_says_so() -> None:
    g_S, g_G = _grams(512)
    fig = gram_scatter_figure(g_S, g_G, "relu4_1")
    assert len(fig.data[0].x) == MAX_SCATTER_POINTS and len(fig.data[1].x) == 512
    assert "sampled" in fig.layout.title.text
    again = gram_scatter_figure(g_S, g_G, "relu4_1")  # a seeded sample: the same picture every time
    np.testing.assert_array_equal(fig.data[0].customdata, again.data[0].customdata)


def test_row_figure_shows_row_k_of_both_matrices() -> None:
    g_S, g_G = _grams(12)
    fig = gram_row_figure(g_S, g_G, 5, "relu2_1")
    np.testing.assert_array_equal(fig.data[0].y, g_S[5])
    np.testing.assert_array_equal(fig.data[1].y, g_G[5])
    assert fig.layout.shapes[0].x0 == 5
    assert all(_axis_titles(fig))
    with pytest.raises(ValueError, match="0..11"):
        gram_row_figure(g_S, g_G, 12, "relu2_1")


def test_mismatched_matrices_are_refused() -> None:
    with pytest.raises(ValueError, match="differ in shape"):
        gram_pair_figure(np.eye(3), np.eye(4), "relu1_1")


def test_layer_bars_show_raw_and_weighted_costs_and_their_sum() -> None:
    costs = {"relu1_1": 40.0, "relu2_1": 2.0, "relu3_1": 0.5}
    layer_weights = {"relu1_1": 0.5, "relu2_1": 0.25, "relu3_1": 2.0}
    fig = style_layer_bars(costs, layer_weights, step=7)
    raw, weighted = fig.data
    assert list(raw.x) == list(costs) and list(raw.y) == list(costs.values())
    assert list(weighted.y) == [20.0, 0.5, 1.0]
    assert "21.5" in fig.layout.title.text and "step 7" in fig.layout.title.text
    assert fig.layout.yaxis.type == "log"


def test_loss_curves_draw_every_cost_on_a_log_scale() -> None:
    history = _history(20)
    fig = loss_curve_figure(history)
    names = [trace.name for trace in fig.data]
    assert names[:3] == ["J", "J<sub>content</sub>", "J<sub>style</sub>"]
    assert [name.split()[-1] for name in names[3:]] == ["relu1_1", "relu2_1"]
    assert fig.layout.yaxis.type == "log"
    np.testing.assert_array_equal(fig.data[0].x, np.arange(1, 21))
    np.testing.assert_allclose(fig.data[4].y, [record.J_style_layers["relu2_1"] for record in history])
    assert len(loss_curve_figure([]).data) == 3  # no step yet: empty curves, no error
