"""What the mean + covariance and sliced-Wasserstein losses compare: mean vectors, covariance matrices
and sorted projections of style and generated."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .gram import FONT_SIZE, base_layout
from .runs import GENERATED_COLOUR, STYLE_COLOUR, gram_pair_figure

_LEGEND: dict[str, Any] = {"orientation": "h", "y": -0.2, "x": 0.0}


def mean_vector_figure(mean_S: Any, mean_G: Any, layer: str, height: int = 360) -> go.Figure:
    """μ_S and μ_G, one value per channel: the first term of W2², |μ_G − μ_S|²."""
    s, g = np.asarray(mean_S, dtype=np.float64), np.asarray(mean_G, dtype=np.float64)
    channels = np.arange(s.shape[0])
    data = [
        go.Scatter(
            x=channels,
            y=values,
            name=name,
            mode="lines",
            line={"color": colour},
            hovertemplate=f"channel %{{x}}<br>{name} = %{{y:.4g}}<extra></extra>",
        )
        for values, name, colour in ((s, "μ_S (style)", STYLE_COLOUR), (g, "μ_G (generated)", GENERATED_COLOUR))
    ]
    distance = float(np.square(g - s).sum())
    title = f"Mean activation per channel at {layer}<br><sup>|μ_G − μ_S|² = {distance:.4g}</sup>"
    return go.Figure(
        data=data,
        layout=base_layout(
            title,
            height,
            {"l": 70, "r": 30, "t": 80, "b": 80},
            xaxis={"title": {"text": "channel"}},
            yaxis={"title": {"text": "mean activation"}},
            legend=_LEGEND,
        ),
    )


def covariance_pair_figure(cov_S: Any, cov_G: Any, layer: str, height: int = 520) -> go.Figure:
    """Σ_S and Σ_G on one colour scale (the Gram matrix of the centred activations, per position)."""
    return retitled(
        gram_pair_figure(cov_S, cov_G, layer, height=height), ("Σ_S (style)", "Σ_G (generated)"), f"Σ at {layer}"
    )


def retitled(pair: go.Figure, titles: tuple[str, str], colour_title: str) -> go.Figure:
    """A ``gram_pair_figure`` with other panel titles and colour-bar title (two matrices on one scale)."""
    for annotation, text in zip(pair.layout.annotations, titles, strict=True):
        annotation.text = text
    return pair.update_layout(coloraxis_colorbar_title_text=colour_title)


def sorted_projections_figure(style: Any, generated: Any, layer: str, height: int = 380) -> go.Figure:
    """Each direction's sorted projections (quantile functions) of style and generated, one panel each:
    the sliced-Wasserstein loss is the mean squared gap between the two curves of every panel."""
    s, g = np.asarray(style, dtype=np.float64), np.asarray(generated, dtype=np.float64)
    n = s.shape[0]
    figure = make_subplots(rows=1, cols=n, subplot_titles=[f"direction {i + 1}" for i in range(n)])
    quantile = np.linspace(0.0, 1.0, s.shape[1])
    for i in range(n):
        for values, name, colour in ((s[i], "style", STYLE_COLOUR), (g[i], "generated", GENERATED_COLOUR)):
            figure.add_trace(
                go.Scatter(
                    x=quantile,
                    y=values,
                    name=name,
                    legendgroup=name,
                    showlegend=i == 0,
                    mode="lines",
                    line={"color": colour},
                    hovertemplate=f"quantile %{{x:.2f}}<br>{name} = %{{y:.4g}}<extra></extra>",
                ),
                row=1,
                col=i + 1,
            )
    gap = float(np.square(g - s).mean())
    title = f"Sorted projections at {layer}<br><sup>mean squared gap over these {n} directions = {gap:.4g}</sup>"
    figure.update_layout(**base_layout(title, height, {"l": 60, "r": 30, "t": 90, "b": 80}, legend=_LEGEND))
    figure.update_annotations(font_size=FONT_SIZE)
    return figure
