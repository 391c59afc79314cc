"""Figures of the non-Gram losses and of two runs side by side: what they draw, from the arrays given."""

from __future__ import annotations

import numpy as np

from nst_core.figures import (
    covariance_pair_figure,
    mean_vector_figure,
    run_gram_pair_figure,
    run_pair_bars,
    sorted_projections_figure,
)


def test_mean_vector_figure_draws_both_means_and_their_squared_distance() -> None:
    figure = mean_vector_figure(np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0]), "relu1_1")
    assert [list(trace.y) for trace in figure.data] == [[0.0, 1.0, 2.0], [1.0, 1.0, 0.0]]
    assert "= 5" in figure.layout.title.text  # 1² + 0² + 2²


def test_covariance_pair_figure_shares_one_colour_scale_and_names_sigma() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 4))
    cov_S, cov_G = x @ x.T, -(x @ x.T)
    figure = covariance_pair_figure(cov_S, cov_G, "relu2_1")
    assert [trace.coloraxis for trace in figure.data] == ["coloraxis", "coloraxis"]
    assert figure.layout.coloraxis.cmin <= cov_G.min() and figure.layout.coloraxis.cmax >= cov_S.max()
    assert [a.text for a in figure.layout.annotations] == ["Σ_S (style)", "Σ_G (generated)"]


def test_sorted_projections_figure_has_one_panel_per_direction() -> None:
    style = np.sort(np.random.default_rng(1).normal(size=(3, 16)), axis=1)
    figure = sorted_projections_figure(style, style + 1.0, "relu3_1")
    assert len(figure.data) == 6 and len(figure.layout.annotations) == 3
    assert np.allclose(np.asarray(figure.data[1].y) - np.asarray(figure.data[0].y), 1.0)
    assert "= 1" in figure.layout.title.text  # every gap is 1


def test_run_pair_bars_puts_each_runs_layers_side_by_side() -> None:
    figure = run_pair_bars([{"a": 1.0, "b": 2.0}, {"a": 3.0}], ("run 1", "run 2"), ["a", "b"])
    assert [trace.name for trace in figure.data] == ["run 1", "run 2"]
    assert list(figure.data[0].y) == [1.0, 2.0] and figure.data[1].y[0] == 3.0 and np.isnan(figure.data[1].y[1])


def test_run_gram_pair_figure_names_the_runs() -> None:
    figure = run_gram_pair_figure(np.eye(3), 2 * np.eye(3), "relu1_1", ("run 1", "run 2"))
    assert [a.text for a in figure.layout.annotations] == ["G_G of run 1", "G_G of run 2"]
    assert figure.layout.coloraxis.cmax == 2.0
