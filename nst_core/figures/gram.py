"""Plotly figures of Gram matrices and channel maps, sized and coloured to be read on a projector.

Pure functions of NumPy arrays (no Streamlit), so tests and notebooks can build the same figures the app
shows. Conventions: a matrix is drawn like a matrix (row k downwards, column k' to the right); every
colour scale has a colour bar; sequential data use Viridis, signed data a diverging scale centred at 0.
Figures are built in one constructor call: Plotly's incremental ``update_*`` calls cost more than the
data at the sizes drawn here.

Streamlit's front end rewrites the colours #000001 to #000040 in any figure (they are placeholders of its
theme), so no colour scale here may use them: Plotly's Inferno starts at #000004 and is redefined below.
The pages draw with ``theme=None`` so that these figures' own fonts and colours apply.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Final

import numpy as np
import plotly.colors as pcolors
import plotly.graph_objects as go
from PIL import Image

from ..gram_views import VIEW_LABELS, View

FONT_SIZE: Final = 16
SEQUENTIAL: Final = "Viridis"
DIVERGING: Final = "RdBu_r"
MAPS_SCALE: Final = ["#000000", *pcolors.sequential.Inferno[1:]]  # Inferno without the #000004 placeholder
ZERO_COLOUR: Final = "#c8c8c8"
"""Products that are exactly 0: a neutral grey, not a colour of ``MAPS_SCALE``."""
# Largest side of a thumbnail or mosaic tile, in cells: enough to see structure, small to send.
THUMBNAIL_CELLS: Final = 128
TILE_CELLS: Final = 48
SELECTION_COLOUR: Final = "#ff2d95"
SATURATE_PERCENTILE: Final = 99.0
OVERLAY_CELLS: Final = 256
"""Click markers per side of a heatmap at most: one on every cell up to relu3_1's 256 channels; beyond, one
per 2×2 block. A cell of a 512-channel layer is smaller than a screen pixel at 1280×720, so no pointer could
pick it there, and plotly.js on a CPU takes seconds to redraw a quarter of a million WebGL markers (a click
redraws them all): the magnifier (``gram_window``) picks such cells one by one."""
SVG_MARKERS_UP_TO: Final = 1024
"""Click layers with at most this many markers are drawn as SVG, larger ones with WebGL."""
CLICK_MARKER_PX: Final = 2
"""Diameter of the invisible click markers. Plotly's SVG scatter counts every marker whose edge is within
3 px of the pointer as equally close, so a marker wider than a cell would let a click near a cell's edge
pick its neighbour; the pointer finds the nearest marker from up to 20 px (``hoverdistance``) anyway."""
TICK_LABELS_UP_TO: Final = 32
"""Axes of at most this many rows or columns name each one's channel."""
WINDOW_TICK_STEP: Final = 4
"""The magnifier (``gram_window``) labels every this-many-th row and column: each one's is unreadable."""
MIN_TICK_STEPPED: Final = 8
"""Axes of at most this many rows or columns label every one, whatever the tick step."""


def click_block(n_channels: int) -> int:
    """Cells per side of what one click selects among in a heatmap of ``n_channels``: 1 up to
    ``OVERLAY_CELLS`` (the cell under the pointer), else the side of the block under it."""
    return -(-n_channels // OVERLAY_CELLS)


def colourbar(title: str, **extra: Any) -> dict[str, Any]:
    """A colour bar's settings: projector-sized fonts and ``title`` written along its right side."""
    return {
        "thickness": 18,
        "tickfont": {"size": FONT_SIZE - 2},
        "title": {"text": title, "side": "right", "font": {"size": FONT_SIZE - 1}},
        **extra,
    }


def _axis(title: str = "", **extra: Any) -> dict[str, Any]:
    return {
        "title": {"text": title, "font": {"size": FONT_SIZE}},
        "tickfont": {"size": FONT_SIZE - 2},
        "showgrid": False,
        "zeroline": False,
        "constrain": "domain",
        **extra,
    }


def base_layout(title: str, height: int | None, margin: dict[str, int], **extra: Any) -> dict[str, Any]:
    """The layout every figure here starts from: projector-sized fonts, a white plot area, ``extra`` on top.

    ``height`` None: as tall as the element that holds the figure (``autosize``)."""
    return {
        "title": {"text": title, "font": {"size": FONT_SIZE + 4}, "x": 0.0, "xanchor": "left"},
        "font": {"size": FONT_SIZE},
        "height": height,
        "margin": margin,
        "plot_bgcolor": "white",
        "hoverlabel": {"font": {"size": FONT_SIZE}},
        **extra,
    }


def view_colours(matrix: np.ndarray, view: View) -> dict[str, Any]:
    """Colour scale and range for a view: diverging around 0 for signed views, sequential otherwise.

    Raw and covariance views are dominated by a few large entries (the diagonal, loud channels), so
    their colours saturate at the ``SATURATE_PERCENTILE``-th percentile; the hover keeps exact values.
    """
    if view == "correlation":
        return {"colorscale": DIVERGING, "zmin": -1.0, "zmax": 1.0}
    finite = matrix[np.isfinite(matrix)]
    if view == "covariance":
        bound = float(np.percentile(np.abs(finite), SATURATE_PERCENTILE)) if finite.size else 0.0
        return {"colorscale": DIVERGING, "zmin": -(bound or 1.0), "zmax": bound or 1.0}
    low = min(0.0, float(finite.min())) if finite.size else 0.0
    high = float(np.percentile(finite, SATURATE_PERCENTILE)) if finite.size else 1.0
    return {"colorscale": SEQUENTIAL, "zmin": low, "zmax": high if high > low else low + 1.0}


def _matrix_figure(
    shown: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    view: View,
    colours: dict[str, Any],
    selected: tuple[int, int] | None,
    clickable: bool,
    axis_titles: tuple[str, str],
    title: str,
    height: int | None,
    tick_step: int = 1,
    show_scale: bool = True,
) -> go.Figure:
    """``shown`` (r, c) drawn like a matrix; ``rows``/``cols`` name the channel of each row/column.

    Axes longer than ``MIN_TICK_STEPPED`` label every ``tick_step``-th row/column only.
    """
    n_rows, n_cols = shown.shape
    label = VIEW_LABELS[view]

    def hover(k: str, k2: str, value: str, note: str = "") -> str:
        return f"{note}k = {k}<br>k′ = {k2}<br>{label}: {value}<extra></extra>"

    # The colour bar spans the plot area's height, which the square matrix fills (see ``_axis``).
    bar = colourbar(label, len=1.0, lenmode="fraction", y=0.5, yanchor="middle", ypad=0)
    heatmap = go.Heatmap(z=shown, zsmooth=False, colorbar=bar, showscale=show_scale, **colours)
    traces: list[Any] = [heatmap]
    if clickable:
        # The click layer ``gram_heatmap`` describes; the cell's value rides as the (transparent) marker's colour.
        stride = click_block(max(n_rows, n_cols))
        grid = np.meshgrid(np.arange(0, n_rows, stride), np.arange(0, n_cols, stride), indexing="ij")
        r, c = grid[0].ravel(), grid[1].ravel()
        natural = stride == 1 and np.array_equal(rows, np.arange(n_rows)) and np.array_equal(cols, np.arange(n_cols))
        channels = {} if natural else {"customdata": np.stack([rows[r], cols[c]], axis=1).astype(np.int16)}
        k, k2 = ("%{y}", "%{x}") if natural else ("%{customdata[0]}", "%{customdata[1]}")
        note = "" if stride == 1 else f"this {stride}×{stride} block's first cell (pick one in the magnifier)<br>"
        # A block's marker sits at its centre: the nearest marker is the block under the pointer.
        offset = (stride - 1) / 2
        position = np.int16 if stride == 1 else np.float32
        heatmap.hoverinfo = "skip"
        # WebGL only when SVG would choke: every WebGL figure costs the browser a context of its own.
        scatter = go.Scattergl if len(r) > SVG_MARKERS_UP_TO else go.Scatter
        traces.append(
            scatter(
                x=(c + offset).astype(position),
                y=(r + offset).astype(position),
                mode="markers",
                marker={"opacity": 0, "size": CLICK_MARKER_PX, "color": shown[r, c], "showscale": False},
                hovertemplate=hover(k, k2, "%{marker.color:.4g}", note),
                hoverlabel={"bgcolor": "white", "font": {"color": "black", "size": FONT_SIZE}},
                showlegend=False,
                **channels,
            )
        )
    else:
        heatmap.customdata = np.stack(np.meshgrid(rows, cols, indexing="ij"), axis=-1).astype(np.int16)
        heatmap.hovertemplate = hover("%{customdata[0]}", "%{customdata[1]}", "%{z:.4g}")
    shapes = []
    if selected is not None:
        # G is symmetric: outline the cell (k, k') and its mirror (k', k) wherever they are shown.
        pad = max(0.5, max(n_rows, n_cols) / 120)
        for k, k2 in {selected, selected[::-1]}:
            for y, x in zip(*np.nonzero((rows[:, None] == k) & (cols[None, :] == k2)), strict=True):
                corners = {"x0": x - pad, "x1": x + pad, "y0": y - pad, "y1": y + pad}
                shapes.append({"type": "rect", **corners, "line": {"color": SELECTION_COLOUR, "width": 3}})
    ticks: list[dict[str, Any]] = [{}, {}]
    for axis, channels in enumerate((cols, rows)):
        step = tick_step if len(channels) > MIN_TICK_STEPPED else 1
        if len(channels) <= TICK_LABELS_UP_TO and not np.array_equal(channels, np.arange(len(channels))):
            positions = range(0, len(channels), step)
            ticks[axis] = {"tickvals": list(positions), "ticktext": [str(channels[i]) for i in positions]}
        elif step > 1:
            ticks[axis] = {"dtick": step}
    return go.Figure(
        data=traces,
        layout=base_layout(
            title,
            height,
            {"l": 70, "r": 30, "t": 70 if title else 20, "b": 60},
            # Square cells: the wider side gives up room (towards the colour bar), so a plot area wider
            # than tall keeps the full height and the colour bar stays as tall as the matrix.
            xaxis=_axis(axis_titles[1], range=[-0.5, n_cols - 0.5], constraintoward="right", **ticks[0]),
            yaxis=_axis(axis_titles[0], range=[n_rows - 0.5, -0.5], scaleanchor="x", **ticks[1]),
            shapes=shapes,
            clickmode="event+select" if clickable else "none",
            dragmode="zoom",
        ),
    )


def gram_heatmap(
    matrix: np.ndarray,
    view: View = "raw",
    order: np.ndarray | None = None,
    selected: tuple[int, int] | None = None,
    title: str = "",
    height: int | None = 680,
    clickable: bool = True,
) -> go.Figure:
    """The (n_C, n_C) matrix as a heatmap, rows and columns in ``order``, with a click layer.

    Trace 0 is the heatmap. With ``clickable``, trace 1 is an invisible scatter (Plotly heatmaps send no
    click selection, scatter points do; WebGL above ``SVG_MARKERS_UP_TO`` markers) with one marker on every
    cell up to ``OVERLAY_CELLS`` a side, so a click selects exactly the cell under the pointer; in larger
    matrices one marker per block of cells, at its centre, standing for the block's first cell. Marker x/y
    are display positions (column, row) and ``marker.color`` the cell's value; ``customdata`` is (k, k') of
    the marker's cell, except with one marker per cell in natural order, where they are its (y, x). The cells of
    ``selected`` = (k, k') and its mirror are outlined. Cells are square and the colour bar is as tall as
    the plot area: give the figure a plot area at least as wide as tall (``height`` None: the height of its
    container).
    """
    order = np.arange(matrix.shape[0]) if order is None else np.asarray(order)
    shown = np.asarray(matrix, dtype=np.float32)[np.ix_(order, order)]
    natural = bool(np.array_equal(order, np.arange(matrix.shape[0])))
    titles = ("channel k", "channel k′") if natural else ("channel k (clustered order)", "channel k′ (clustered order)")
    return _matrix_figure(
        shown, order, order, view, view_colours(shown, view), selected, clickable, titles, title, height
    )


def gram_window(
    matrix: np.ndarray,
    view: View,
    rows: np.ndarray,
    cols: np.ndarray,
    selected: tuple[int, int] | None = None,
    colours: dict[str, Any] | None = None,
    height: int = 420,
) -> go.Figure:
    """A magnifier: the entries G[rows, cols] (channel ids) cell by cell, clickable like ``gram_heatmap``.

    Pass the full matrix's ``view_colours`` as ``colours`` so that colours mean the same as there; the
    window then draws no colour bar of its own (the full matrix's applies). Every
    ``WINDOW_TICK_STEP``-th row and column is labelled.
    """
    rows, cols = np.asarray(rows), np.asarray(cols)
    shown = np.asarray(matrix, dtype=np.float32)[np.ix_(rows, cols)]
    scale, titles = colours or view_colours(shown, view), ("channel k", "channel k′")
    return _matrix_figure(
        shown, rows, cols, view, scale, selected, True, titles, "", height, WINDOW_TICK_STEP, colours is None
    )


def _block_mean(array: np.ndarray, cells: int) -> np.ndarray:
    """Average (…, H, W) down by an integer factor so that the longest side is at most ``cells``."""
    factor = int(np.ceil(max(array.shape[-2:]) / cells))
    if factor <= 1:
        return array
    h, w = (array.shape[-2] // factor) * factor, (array.shape[-1] // factor) * factor
    trimmed = array[..., :h, :w]
    return trimmed.reshape(*array.shape[:-2], h // factor, factor, w // factor, factor).mean(axis=(-3, -1))


@lru_cache(maxsize=8)
def _lookup_table(colorscale: str) -> np.ndarray:
    samples = pcolors.sample_colorscale(colorscale, np.linspace(0.0, 1.0, 256).tolist())
    return np.array([pcolors.unlabel_rgb(c) for c in samples], dtype=np.float64).round().astype(np.uint8)


def colourise(values: np.ndarray, colorscale: str, zmin: float, zmax: float) -> np.ndarray:
    """Map a 2-D array through a named Plotly colour scale to an (H, W, 3) uint8 image."""
    span = zmax - zmin if zmax > zmin else 1.0
    index = np.clip((np.nan_to_num(values, nan=zmin) - zmin) / span * 255.0, 0, 255).astype(np.uint8)
    return _lookup_table(colorscale)[index]


def gram_thumbnail(matrix: np.ndarray, view: View, side: int = 256) -> np.ndarray:
    """A small RGB picture (about ``side`` px, uint8) of a Gram matrix in ``view``'s colours.

    Cells are averaged down to at most ``THUMBNAIL_CELLS`` a side, then repeated so the picture stays
    crisp when the browser scales it.
    """
    small = _block_mean(np.asarray(matrix, dtype=np.float64), THUMBNAIL_CELLS)
    rgb = colourise(small, **view_colours(small, view))
    repeat = max(1, side // max(rgb.shape[:2]))
    return np.repeat(np.repeat(rgb, repeat, axis=0), repeat, axis=1)


def _png_data_uri(rgb: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def channel_pair_figure(
    map_k: np.ndarray,
    map_k2: np.ndarray,
    k: int,
    k2: int,
    image: np.ndarray | None = None,
    height: int | None = 400,
) -> go.Figure:
    """Channel k's map, channel k''s map (one shared colour scale) and their element-wise product.

    The sum of the product over all positions is G[k, k']. Maps are (n_H, n_W), drawn opaque so that
    nothing but the colour scale gives a cell its colour; products that are exactly 0 (one of the two
    channels silent) are drawn ``ZERO_COLOUR``, a grey no colour scale here contains. ``image`` (H, W, 3)
    uint8, if given, is drawn as a first panel of its own, for where things are.
    """
    product = map_k.astype(np.float64) * map_k2.astype(np.float64)
    zero = product == 0
    n_h, n_w = product.shape
    # Positions are numbered from 1, as the sum of G runs i = 1 … n_H, j = 1 … n_W.
    rows, columns = np.arange(1, n_h + 1), np.arange(1, n_w + 1)
    hover = "row i = %{y}<br>column j = %{x}<br>value = %{z:.4g}<extra></extra>"

    def heatmap(values: np.ndarray, colour_axis: str) -> go.Heatmap:
        return go.Heatmap(
            z=values.astype(np.float32), x=columns, y=rows, coloraxis=colour_axis, zsmooth=False, hovertemplate=hover
        )

    zeros = go.Heatmap(
        x=columns,
        y=rows,
        z=np.where(zero, 0.0, np.nan).astype(np.float32),
        colorscale=[[0.0, ZERO_COLOUR], [1.0, ZERO_COLOUR]],
        showscale=False,
        zsmooth=False,
        hovertemplate="row i = %{y}<br>column j = %{x}<br>product = 0<extra></extra>",
    )
    panels: list[tuple[str, list[Any]]] = [
        (f"channel {k}", [heatmap(map_k, "coloraxis")]),
        (f"channel {k2}", [heatmap(map_k2, "coloraxis")]),
        (f"product {k} × {k2}", [zeros, heatmap(np.where(zero, np.nan, product), "coloraxis2")]),
    ]
    # Room for a colour bar right of the second map and right of the product.
    domains = [(0.0, 0.26), (0.29, 0.55), (0.72, 0.98)]
    if image is not None:
        # The picture stretched over the maps' n_H × n_W cells, so that its axes read like theirs.
        picture = go.Image(
            source=_png_data_uri(np.ascontiguousarray(image)),
            x0=0.5 + n_w / image.shape[1] / 2,
            y0=0.5 + n_h / image.shape[0] / 2,
            dx=n_w / image.shape[1],
            dy=n_h / image.shape[0],
            hoverinfo="skip",
        )
        panels.insert(0, ("image", [picture]))
        domains = [(0.0, 0.18), (0.21, 0.39), (0.42, 0.60), (0.80, 0.98)]
    data: list[Any] = []
    layout: dict[str, Any] = {}
    annotations = []
    for index, ((title, traces), domain) in enumerate(zip(panels, domains, strict=True)):
        suffix = "" if index == 0 else str(index + 1)
        data.extend(trace.update(xaxis=f"x{suffix}", yaxis=f"y{suffix}") for trace in traces)
        layout[f"xaxis{suffix}"] = _axis("j (width)", domain=domain, anchor=f"y{suffix}", range=[0.5, n_w + 0.5])
        layout[f"yaxis{suffix}"] = _axis(
            "i (height)" if index == 0 else "",
            anchor=f"x{suffix}",
            range=[n_h + 0.5, 0.5],
            scaleanchor=f"x{suffix}",
            # Every panel has the same rows: only the first labels them, so no labels crowd a neighbour.
            showticklabels=index == 0,
        )
        annotations.append(panel_title(title, suffix, FONT_SIZE - 1))

    def colour_axis(title: str, high: float, x: float) -> dict[str, Any]:
        bar = colourbar(title, x=x + 0.01, xanchor="left", len=1.0, lenmode="fraction", ypad=0)
        return {"colorscale": MAPS_SCALE, "cmin": 0.0, "cmax": high or 1.0, "colorbar": bar}

    layout.update(
        coloraxis=colour_axis("activation", float(max(map_k.max(), map_k2.max(), 0.0)), domains[-2][1]),
        coloraxis2=colour_axis("product", float(product.max()), domains[-1][1]),
        annotations=annotations,
    )
    return go.Figure(data=data, layout=base_layout("", height, {"l": 70, "r": 90, "t": 40, "b": 60}, **layout))


def channel_mosaic(
    maps: np.ndarray,
    channels: Sequence[int],
    labels: Sequence[str] | None = None,
    columns: int = 8,
    title: str = "",
    tile_px: int = 130,
) -> go.Figure:
    """Several channel maps (N, h, w) as one tiled heatmap on one shared colour scale.

    One trace keeps the figure light for hundreds of maps; each tile carries its label (default
    "ch k") above it and the hover names its channel. Tiles are averaged down to at most
    ``TILE_CELLS`` cells a side.
    """
    labels = [f"ch {c}" for c in channels] if labels is None else labels
    tiles = _block_mean(np.asarray(maps, dtype=np.float32), TILE_CELLS)
    n, h, w = tiles.shape
    columns = max(1, min(columns, n))
    rows = -(-n // columns)
    gap_x, gap_y = max(1, w // 8), max(2, h // 3)  # room above each tile for its label
    mosaic = np.full((rows * (h + gap_y), columns * (w + gap_x)), np.nan, dtype=np.float32)
    tile_channel = np.full(mosaic.shape, -1, dtype=np.int16)
    annotations = []
    for index, (tile, channel, label) in enumerate(zip(tiles, channels, labels, strict=True)):
        r, c = divmod(index, columns)
        top, left = r * (h + gap_y) + gap_y, c * (w + gap_x)
        mosaic[top : top + h, left : left + w] = tile
        tile_channel[top : top + h, left : left + w] = channel
        above = {"x": left + w / 2 - 0.5, "y": top - 0.5, "yanchor": "bottom"}
        annotations.append({**above, "text": label, "showarrow": False, "font": {"size": FONT_SIZE - 2}})
    high = float(np.nanmax(mosaic)) if np.isfinite(mosaic).any() else 0.0
    width_cells = columns * (w + gap_x)
    height = int(rows * tile_px * (h + gap_y) / max(w + gap_x, 1)) + (90 if title else 40)
    hidden_axis = {"visible": False, "constrain": "domain"}
    return go.Figure(
        data=go.Heatmap(
            z=mosaic,
            customdata=tile_channel,
            zsmooth=False,
            zmin=0.0,
            zmax=high if high > 0 else 1.0,
            colorscale=MAPS_SCALE,
            hovertemplate="channel %{customdata}<br>activation = %{z:.4g}<extra></extra>",
            colorbar=colourbar("activation"),
        ),
        layout=base_layout(
            title,
            height,
            {"l": 10, "r": 10, "t": 60 if title else 10, "b": 10},
            xaxis={**hidden_axis, "range": [-0.5, width_cells - 0.5]},
            yaxis={**hidden_axis, "autorange": "reversed", "scaleanchor": "x"},
            annotations=annotations,
        ),
    )


def panel_title(text: str, suffix: str, size: int = FONT_SIZE) -> dict[str, Any]:
    """A title centred over the drawn area of the panel on axes ``x{suffix}``/``y{suffix}`` (narrower
    than its domain when cells are square)."""
    return {
        "text": text,
        "x": 0.5,
        "y": 1.0,
        "xref": f"x{suffix} domain",
        "yref": f"y{suffix} domain",
        "xanchor": "center",
        "yanchor": "bottom",
        "showarrow": False,
        "font": {"size": size},
    }
