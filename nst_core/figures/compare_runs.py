"""Two finished runs side by side: their per-layer style costs and their generated Gram matrices."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from .gram import base_layout
from .losses import _LEGEND, retitled
from .runs import GENERATED_COLOUR, STYLE_COLOUR, gram_pair_figure


def run_pair_bars(
    per_layer: Sequence[Mapping[str, float]], names: Sequence[str], layers: Sequence[str], height: int = 420
) -> go.Figure:
    """J_style^[l] (the Gram formula, as every run records it) of two or more runs, per layer, on a log scale."""
    colours = (GENERATED_COLOUR, STYLE_COLOUR, "#555555")
    data = [
        go.Bar(
            x=list(layers),
            y=[values.get(layer, np.nan) for layer in layers],
            name=name,
            marker_color=colours[i % len(colours)],
            hovertemplate=f"{name}<br>%{{x}}: J_style^[l] = %{{y:.4g}}<extra></extra>",
        )
        for i, (values, name) in enumerate(zip(per_layer, names, strict=True))
    ]
    return go.Figure(
        data=data,
        layout=base_layout(
            "Style cost per layer at the last step (the Gram formula, for every loss)",
            height,
            {"l": 80, "r": 30, "t": 70, "b": 80},
            xaxis={"title": {"text": "style layer l"}},
            yaxis={"type": "log", "title": {"text": "J_style^[l]"}},
            barmode="group",
            legend=_LEGEND,
        ),
    )


def run_gram_pair_figure(g_A: Any, g_B: Any, layer: str, names: tuple[str, str], height: int = 520) -> go.Figure:
    """The generated Gram matrices G_G of two runs at ``layer``, on one colour scale."""
    return retitled(
        gram_pair_figure(g_A, g_B, layer, height=height), (f"G_G of {names[0]}", f"G_G of {names[1]}"), f"G at {layer}"
    )
