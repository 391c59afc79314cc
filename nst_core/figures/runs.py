"""Plotly figures of a run: its loss curves, and the style Gram target G_S against the generated G_G.
Pure functions of NumPy arrays and history records, drawn by the conventions of ``figures.gram``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np
import plotly.graph_objects as go

from ..gram import style_cost, weighted_style_terms
from ..optim.result import StepRecord
from .gram import DIVERGING, FONT_SIZE, SEQUENTIAL, _axis, base_layout, colourbar, panel_title

MAX_SCATTER_POINTS: Final = 60_000
"""Off-diagonal pairs drawn at most by ``gram_scatter_figure``: a 512-channel layer has 130 816; a
seeded uniform sample of this many shows the same cloud for less than half the payload."""

J_STYLE_L: Final = "J<sub>style</sub><sup>[l]</sup>"
"""J_style^[l] in Plotly's HTML subset (Streamlit ships no MathJax)."""
WEIGHTED_J_STYLE_L: Final = f"λ<sup>[l]</sup>·{J_STYLE_L}"
G_S: Final = "G<sub>S</sub>"
G_G: Final = "G<sub>G</sub>"
STYLE_COLOUR: Final = "#d1495b"
GENERATED_COLOUR: Final = "#0b3c8c"
_LAYER_COLOURS: Final = ("#2e933c", "#edae49", "#7d3c98", "#00798c", "#6c757d", "#b5651d", "#e377c2", "#17becf")
_CELL_HOVER: Final = "k = %{y}<br>k′ = %{x}<br>value = %{z:.4g}<extra></extra>"
_LEGEND: Final = {"font": {"size": FONT_SIZE - 2}}
# One labelled tick per decade: the minor labels (2, 5) of Plotly's log axes are unreadable from afar.
_LOG_AXIS: Final = {"title": {"text": "cost (log scale)"}, "type": "log", "exponentformat": "power", "dtick": 1}


def _as_matrix(matrix: Any) -> np.ndarray:
    array = matrix.detach().cpu().numpy() if hasattr(matrix, "detach") else np.asarray(matrix)
    if array.ndim != 2 or array.shape[0] != array.shape[1]:
        raise ValueError(f"a Gram matrix must be square (n_C, n_C), got shape {array.shape}")
    return array.astype(np.float32, copy=False)


def _pair(g_S: Any, g_G: Any) -> tuple[np.ndarray, np.ndarray]:
    s, g = _as_matrix(g_S), _as_matrix(g_G)
    if s.shape != g.shape:
        raise ValueError(f"G_S {s.shape} and G_G {g.shape} differ in shape")
    return s, g


def _matrix_axes(n: int, suffix: str = "", domain: tuple[float, float] = (0.0, 1.0)) -> dict[str, Any]:
    ticks = {"tickfont": {"size": FONT_SIZE}}
    return {
        f"xaxis{suffix}": _axis("channel k′", domain=domain, anchor=f"y{suffix}", range=[-0.5, n - 0.5], **ticks),
        f"yaxis{suffix}": _axis(
            "channel k", anchor=f"x{suffix}", range=[n - 0.5, -0.5], scaleanchor=f"x{suffix}", **ticks
        ),
    }


def loss_curve_figure(history: Sequence[StepRecord], title: str = "Costs per step", height: int = 440) -> go.Figure:
    """J, J_content, J_style and each layer's J_style^[l] against the step, on a log scale.

    The values are the formulas' own (unscaled), as the history records them.
    """
    steps = np.array([record.step for record in history], dtype=np.int32)
    series: list[tuple[str, list[float], dict[str, Any]]] = [
        ("J", [record.J for record in history], {"width": 4, "color": "black"}),
        ("J<sub>content</sub>", [record.J_content for record in history], {"width": 3, "color": GENERATED_COLOUR}),
        ("J<sub>style</sub>", [record.J_style for record in history], {"width": 3, "color": STYLE_COLOUR}),
    ]
    for index, layer in enumerate(history[0].J_style_layers if history else ()):
        colour = _LAYER_COLOURS[index % len(_LAYER_COLOURS)]
        values = [record.J_style_layers[layer] for record in history]
        series.append((f"{J_STYLE_L} {layer}", values, {"width": 2, "dash": "dot", "color": colour}))
    data = [
        go.Scatter(
            x=steps,
            y=np.asarray(values, dtype=np.float64),
            name=name,
            mode="lines+markers" if len(steps) == 1 else "lines",
            line=line,
            hovertemplate=f"{name}: %{{y:.4g}}<extra></extra>",
        )
        for name, values, line in series
    ]
    return go.Figure(
        data=data,
        layout=base_layout(
            title,
            height,
            {"l": 80, "r": 30, "t": 70 if title else 30, "b": 60},
            xaxis={"title": {"text": "step (evaluations of J)"}, "rangemode": "tozero"},
            yaxis=_LOG_AXIS,
            legend=_LEGEND,
            hovermode="x unified",
        ),
    )


def gram_pair_figure(g_S: Any, g_G: Any, layer: str, step: int | None = None, height: int | None = 560) -> go.Figure:
    """G_S (the style target) and G_G (the generated image's) side by side on one colour scale.

    Both heatmaps use the layout's one ``coloraxis``: a colour means the same value in both panels.
    ``height`` None: as tall as its element (square panels of 44 % of the plot width, 110 px of margins).
    """
    s, g = _pair(g_S, g_G)
    n = s.shape[0]
    finite = np.concatenate([s[np.isfinite(s)], g[np.isfinite(g)]])
    low = min(0.0, float(finite.min())) if finite.size else 0.0
    high = float(finite.max()) if finite.size else 1.0
    domains = ((0.0, 0.44), (0.50, 0.94))
    generated = f"{G_G} (generated" + (f", step {step})" if step is not None else ")")
    layout: dict[str, Any] = {
        **_matrix_axes(n, "", domains[0]),
        **_matrix_axes(n, "2", domains[1]),
        "coloraxis": {
            "colorscale": SEQUENTIAL,
            "cmin": low,
            "cmax": high if high > low else low + 1.0,
            "colorbar": colourbar(f"G at {layer}", x=domains[1][1] + 0.01, len=0.9),
        },
        "annotations": [
            panel_title(f"{G_S} (style target)", "", FONT_SIZE + 2),
            panel_title(generated, "2", FONT_SIZE + 2),
        ],
    }
    layout["yaxis2"]["title"] = {"text": ""}
    data = [
        go.Heatmap(
            z=matrix,
            coloraxis="coloraxis",
            zsmooth=False,
            xaxis=f"x{suffix}",
            yaxis=f"y{suffix}",
            hovertemplate=_CELL_HOVER,
        )
        for matrix, suffix in ((s, ""), (g, "2"))
    ]
    return go.Figure(data=data, layout=base_layout("", height, {"l": 80, "r": 80, "t": 50, "b": 60}, **layout))


def gram_difference_figure(g_S: Any, g_G: Any, layer: str, height: int = 520) -> go.Figure:
    """G_G − G_S on a diverging scale centred at 0: red where two channels fire together more in the
    generated image than in the style, blue where less."""
    s, g = _pair(g_S, g_G)
    difference = (g.astype(np.float64) - s.astype(np.float64)).astype(np.float32)
    label = f"{G_G} − {G_S}"
    heatmap = go.Heatmap(
        z=difference,
        zmid=0.0,
        colorscale=DIVERGING,
        zsmooth=False,
        hovertemplate=_CELL_HOVER.replace("value", label),
        colorbar=colourbar(label),
    )
    return go.Figure(
        data=[heatmap],
        layout=base_layout(
            f"Difference {label} at {layer}", height, {"l": 80, "r": 30, "t": 70, "b": 60}, **_matrix_axes(s.shape[0])
        ),
    )


def _scatter_sample(n: int, cap: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Rows and columns of the upper triangle without its diagonal, a seeded uniform sample of ``cap``
    of them when there are more; and how many there are in all."""
    rows, cols = np.triu_indices(n, k=1)
    total = rows.size
    if total > cap:
        keep = np.sort(np.random.default_rng(0).choice(total, size=cap, replace=False))
        rows, cols = rows[keep], cols[keep]
    return rows, cols, total


def gram_scatter_figure(
    g_S: Any, g_G: Any, layer: str, max_points: int = MAX_SCATTER_POINTS, height: int = 520
) -> go.Figure:
    """Every entry G_S[k, k'] against G_G[k, k'] (WebGL); matched entries lie on the diagonal line.

    The matrices are symmetric, so only pairs k < k' are drawn (trace 0), the diagonal entries G[k, k]
    as their own trace (1), then the line G_G = G_S (2). Above ``max_points`` pairs k < k' a seeded
    uniform sample of that many is drawn, and the title says so.
    """
    s, g = _pair(g_S, g_G)
    n = s.shape[0]
    rows, cols, total = _scatter_sample(n, max_points)
    diagonal = np.arange(n)
    high = float(max(np.nanmax(s), np.nanmax(g), 0.0)) or 1.0
    low = float(min(np.nanmin(s), np.nanmin(g), 0.0))
    pad = 0.03 * (high - low)
    hover = (
        f"k = %{{customdata[0]}}, k′ = %{{customdata[1]}}<br>{G_S} = %{{x:.4g}}<br>{G_G} = %{{y:.4g}}<extra></extra>"
    )
    points = (
        (rows, cols, {"size": 4, "color": GENERATED_COLOUR, "opacity": 0.35}, "pairs k ≠ k′"),
        (diagonal, diagonal, {"size": 7, "color": STYLE_COLOUR, "symbol": "diamond"}, "diagonal k = k′"),
    )
    data = [
        *(
            go.Scattergl(
                x=s[r, c],
                y=g[r, c],
                customdata=np.stack([r, c], axis=1).astype(np.int16),
                mode="markers",
                marker=marker,
                name=name,
                hovertemplate=hover,
            )
            for r, c, marker, name in points
        ),
        go.Scatter(
            x=[low, high],
            y=[low, high],
            mode="lines",
            line={"color": "black", "dash": "dash", "width": 2},
            name=f"{G_G} = {G_S}",
            hoverinfo="skip",
        ),
    ]
    sampled = "" if rows.size == total else f"<br><sup>{rows.size:,} of the {total:,} pairs k < k′, sampled</sup>"
    axis = {"range": [low - pad, high + pad], "zeroline": False}
    return go.Figure(
        data=data,
        layout=base_layout(
            f"{G_S} against {G_G} at {layer}{sampled}",
            height,
            {"l": 80, "r": 30, "t": 80, "b": 60},
            xaxis={**axis, "title": {"text": f"{G_S}[k, k′] (style)"}},
            yaxis={**axis, "title": {"text": f"{G_G}[k, k′] (generated)"}, "scaleanchor": "x"},
            legend={**_LEGEND, "x": 0.02, "y": 0.98, "bgcolor": "rgba(255,255,255,0.75)"},
        ),
    )


def gram_row_figure(g_S: Any, g_G: Any, k: int, layer: str, height: int = 440) -> go.Figure:
    """Row k of both matrices, channel by channel: how strongly channel k fires together with each k'."""
    s, g = _pair(g_S, g_G)
    n = s.shape[0]
    if not 0 <= k < n:
        raise ValueError(f"channel k must be in 0..{n - 1}, got {k}")
    channels = np.arange(n, dtype=np.int16)
    mode, width = ("lines+markers", 3) if n <= 128 else ("lines", 1.5)  # thin lines: 512 channels in ~600 px
    data = [
        go.Scatter(
            x=channels,
            y=row,
            mode=mode,
            name=f"{name}[{k}, k′] ({who})",
            line={"color": colour, "width": width},
            opacity=0.85,
            hovertemplate=f"{name}[{k}, %{{x}}] = %{{y:.4g}}<extra></extra>",
        )
        for row, name, who, colour in ((s[k], G_S, "style", STYLE_COLOUR), (g[k], G_G, "generated", GENERATED_COLOUR))
    ]
    column_k = {"type": "line", "x0": k, "x1": k, "yref": "paper", "y0": 0, "y1": 1}
    marker = {**column_k, "line": {"color": "grey", "dash": "dot", "width": 2}}
    return go.Figure(
        data=data,
        layout=base_layout(
            f"Row k = {k} of both matrices at {layer}",
            height,
            {"l": 80, "r": 30, "t": 70, "b": 135},
            xaxis={"title": {"text": "channel k′"}, "range": [-0.5, n - 0.5]},
            yaxis={"title": {"text": f"G[{k}, k′]"}},
            shapes=[marker],
            # Below the axis title: above the plot, a narrow column puts the legend over the title.
            legend={**_LEGEND, "orientation": "h", "y": -0.35, "yanchor": "top", "x": 0.0, "xanchor": "left"},
            hovermode="x unified",
        ),
    )


def style_layer_bars(
    j_style_layers: Mapping[str, float], layer_weights: Mapping[str, float], step: int | None = None, height: int = 440
) -> go.Figure:
    """Each style layer's J_style^[l] and its weighted share λ^[l]·J_style^[l], on a log scale since the
    layers differ by orders of magnitude; their sum J_style is in the title."""
    present = {layer: layer_weight for layer, layer_weight in layer_weights.items() if layer in j_style_layers}
    layers = list(present)
    raw = np.array([j_style_layers[layer] for layer in layers], dtype=np.float64)
    terms = weighted_style_terms(j_style_layers, present) if present else {}
    weighted = np.array(list(terms.values()), dtype=np.float64)
    data = [
        go.Bar(
            x=layers,
            y=values,
            name=name,
            marker_color=colour,
            hovertemplate=f"%{{x}}<br>{name} = %{{y:.4g}}<extra></extra>",
        )
        for values, name, colour in ((raw, J_STYLE_L, GENERATED_COLOUR), (weighted, WEIGHTED_J_STYLE_L, STYLE_COLOUR))
    ]
    at_step = "" if step is None else f" at step {step}"
    j_style = style_cost(layer_costs=j_style_layers, layer_weights=present) if present else 0.0
    total = f"J<sub>style</sub> = Σ<sub>l</sub> {WEIGHTED_J_STYLE_L} = {j_style:.4g}"
    title = f"Style cost per layer{at_step}<br><sup>{total}</sup>"
    return go.Figure(
        data=data,
        layout=base_layout(
            title,
            height,
            {"l": 80, "r": 30, "t": 90, "b": 60},
            # automargin places the axis title below the labels, tilted or not: they ran into each other.
            xaxis={"title": {"text": "style layer l", "standoff": 12}, "automargin": True},
            yaxis=_LOG_AXIS,
            barmode="group",
            legend=_LEGEND,
        ),
    )
