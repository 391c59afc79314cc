"""What a channel detects, drawn: its tuning curves (orientation, colour) and the image patches where it fires."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import plotly.graph_objects as go
from PIL import Image, ImageDraw

from ..explain.patches import Patch
from ..explain.tuning import HUE_NAMES, WHITE, ChannelTuning, hue_rgb
from .gram import FONT_SIZE, _axis, base_layout, panel_title

PATCH_PX: Final = 96
"""Side of each patch as drawn: patches of early layers are a few pixels, enlarged without smoothing."""
BOX_COLOUR: Final = (255, 45, 149)
# A stroke that shows the angle of the lines each bar stands for.
_ANGLE_GLYPHS: Final[dict[float, str]] = {0.0: "—", 45.0: "/", 90.0: "|", 135.0: "\\"}


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(255 * c):02x}" for c in rgb)


def tuning_figure(tuning: ChannelTuning, height: int | None = 230) -> go.Figure:
    """Two bar charts of channel k's mean response: to stripes at each orientation (at its preferred colour
    or light-dark, and period), and to stripes of each hue (and white), each bar in its hue."""
    angles = np.arange(len(tuning.orientation_curve)) * 180.0 / len(tuning.orientation_curve)
    angle_labels = [f"{a:g}° {_ANGLE_GLYPHS.get(float(a), '')}".strip() for a in angles]
    names = [*HUE_NAMES.values(), WHITE]
    colours = [_hex(hue_rgb(hue)) for hue in [*HUE_NAMES, WHITE]]
    preferred = int(np.argmax(tuning.orientation_curve))
    stripes = "light–dark" if tuning.orientation_stimulus == WHITE else tuning.orientation_stimulus
    orientation = go.Bar(
        x=angle_labels,
        y=list(tuning.orientation_curve),
        marker={"color": ["#444444" if i != preferred else "#ff2d95" for i in range(len(angles))]},
        hovertemplate="lines at %{x}<br>mean response %{y:.3g}<extra></extra>",
    )
    colour = go.Bar(
        x=names,
        y=list(tuning.colour_curve),
        marker={"color": colours, "line": {"color": "#444444", "width": 1}},
        hovertemplate="%{x} stripes<br>mean response %{y:.3g}<extra></extra>",
        xaxis="x2",
        yaxis="y2",
    )
    layout = base_layout(
        "",
        height,
        {"l": 60, "r": 10, "t": 30, "b": 78},
        showlegend=False,
        xaxis=_axis(
            f"{stripes} stripes, {tuning.period_px:g} px",
            domain=[0.0, 0.40],
            tickangle=-60,
            tickfont={"size": FONT_SIZE - 2},
        ),
        yaxis=_axis("response", rangemode="tozero"),
        xaxis2=_axis(
            "stripes of each hue", domain=[0.48, 1.0], anchor="y2", tickangle=-60, tickfont={"size": FONT_SIZE - 2}
        ),
        yaxis2=_axis("", anchor="x2", rangemode="tozero"),
        annotations=[
            panel_title(f"orientation: {tuning.orientation} ({tuning.orientation_selectivity:.2f})", "", FONT_SIZE - 2),
            panel_title(f"colour: {tuning.hue} ({tuning.colour_selectivity:.2f})", "2", FONT_SIZE - 2),
        ],
    )
    return go.Figure(data=[orientation, colour], layout=layout)


def patch_grid(patches: Sequence[Patch], columns: int = 3, side: int = PATCH_PX, gap: int = 6) -> np.ndarray:
    """The patches in rows of ``columns``, strongest first, each enlarged to ``side`` px with nearest-neighbour
    (a 3-pixel patch stays 3 visible pixels), as one uint8 RGB image on white."""
    if not patches:
        return np.full((side, side, 3), 255, dtype=np.uint8)
    columns = min(columns, len(patches))
    rows = -(-len(patches) // columns)
    grid = Image.new("RGB", (columns * (side + gap) - gap, rows * (side + gap) - gap), "white")
    for n, patch in enumerate(patches):
        height, width = patch.pixels.shape[:2]
        scale = side / max(height, width)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        tile = Image.fromarray(patch.pixels).resize(size, Image.Resampling.NEAREST)
        row, column = divmod(n, columns)
        grid.paste(tile, (column * (side + gap) + (side - size[0]) // 2, row * (side + gap) + (side - size[1]) // 2))
    return np.asarray(grid)


def patch_locations(image: np.ndarray, patches: Sequence[Patch], width: int = 2) -> np.ndarray:
    """``image`` (H, W, 3) uint8 with each patch's box drawn and numbered in its rank (1 = strongest)."""
    picture = Image.fromarray(np.ascontiguousarray(image))
    draw = ImageDraw.Draw(picture)
    for rank, patch in reversed(list(enumerate(patches, start=1))):
        top, left, bottom, right = patch.box
        draw.rectangle((left, top, right - 1, bottom - 1), outline=BOX_COLOUR, width=width)
        draw.text((left + 2, top + 1), str(rank), fill=BOX_COLOUR)
    return np.asarray(picture)
