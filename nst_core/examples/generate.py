"""Re-create the generated style examples, deterministically: ``python -m nst_core.examples.generate [FOLDER]``.

Each texture isolates one thing a Gram matrix can see: one orientation together with one colour
(orange_strokes, blue_waves), flat colour regions with dark borders (mosaic), every orientation at once
(rings). Only NumPy, SciPy and Pillow are used, and every random draw comes from a fixed seed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.spatial import KDTree

SIZE = 512


def orange_strokes(size: int = SIZE) -> Image.Image:
    """Vertical orange brush strokes on a dark ground: "vertical lines" and "orange" fire together."""
    rng = np.random.default_rng(1)
    canvas = np.empty((size, size, 3))
    canvas[:] = (0.07, 0.06, 0.09)
    rows = np.arange(size, dtype=np.float64)[:, None]
    for _ in range(size // 6):
        centre, half_width = rng.uniform(0, size), rng.uniform(2.5, 7.0)
        top = rng.uniform(-0.2 * size, size)
        bottom = top + rng.uniform(0.25, 0.7) * size
        red = rng.uniform(0.85, 1.0)
        colour = np.array([red, red * rng.uniform(0.42, 0.62), rng.uniform(0.0, 0.1)])
        x0, x1 = max(0, int(centre - half_width) - 1), min(size, int(centre + half_width) + 2)
        y0, y1 = max(0, int(top)), min(size, int(bottom) + 1)
        if x0 >= x1 or y0 >= y1:
            continue
        columns = np.arange(x0, x1, dtype=np.float64)[None, :]
        # A one-pixel ramp at the sides antialiases the edge; ends taper over 12 px, like a lifted brush.
        across = np.clip(half_width + 0.5 - np.abs(columns - centre), 0.0, 1.0)
        along = np.clip(np.minimum(rows[y0:y1] - top, bottom - rows[y0:y1]) / 12.0, 0.0, 1.0)
        # Bristles: a brightness profile across the stroke, constant along it, so the texture stays vertical.
        bristles = rng.uniform(0.7, 1.0, size=x1 - x0)[None, :, None]
        alpha = (0.92 * across * along)[:, :, None]
        patch = canvas[y0:y1, x0:x1]
        canvas[y0:y1, x0:x1] = patch * (1.0 - alpha) + colour * bristles * alpha
    return _to_image(canvas)


def mosaic(size: int = SIZE) -> Image.Image:
    """Flat coloured tiles (a Voronoi diagram of a jittered grid) separated by dark grout."""
    rng = np.random.default_rng(2)
    cell = 40.0
    grid = np.arange(-cell / 2, size + cell, cell)
    seeds = np.stack(np.meshgrid(grid, grid, indexing="ij"), axis=-1).reshape(-1, 2)
    seeds += rng.uniform(-0.35 * cell, 0.35 * cell, size=seeds.shape)
    palette = np.array(
        [
            (0.80, 0.36, 0.22),
            (0.88, 0.66, 0.24),
            (0.16, 0.50, 0.52),
            (0.18, 0.30, 0.62),
            (0.93, 0.88, 0.76),
            (0.46, 0.55, 0.22),
        ]
    )
    tile_colours = palette[rng.integers(0, len(palette), size=len(seeds))]
    tile_colours = np.clip(tile_colours + rng.uniform(-0.05, 0.05, size=tile_colours.shape), 0.0, 1.0)
    pixels = np.stack(np.meshgrid(np.arange(size), np.arange(size), indexing="ij"), axis=-1).reshape(-1, 2) + 0.5
    distances, nearest = KDTree(seeds).query(pixels, k=2)
    # Distance to the bisector between the two nearest seeds: exact distance to the tile border.
    gap = np.linalg.norm(seeds[nearest[:, 1]] - seeds[nearest[:, 0]], axis=1)
    border = (distances[:, 1] ** 2 - distances[:, 0] ** 2) / (2.0 * gap)
    grout = np.clip(2.5 - border, 0.0, 1.0)[:, None]
    canvas = tile_colours[nearest[:, 0]] * (1.0 - grout) + np.array([0.15, 0.14, 0.13]) * grout
    return _to_image(canvas.reshape(size, size, 3))


def rings(size: int = SIZE) -> Image.Image:
    """Concentric navy and cream rings: every orientation at once, in two colours."""
    radius = np.hypot(*np.meshgrid(np.arange(size) + 0.5 - size / 2, np.arange(size) + 0.5 - size / 2))
    return _two_tone(np.cos(2.0 * np.pi * radius / 22.0), (0.10, 0.16, 0.36), (0.95, 0.87, 0.67))


def blue_waves(size: int = SIZE) -> Image.Image:
    """Horizontal wavy blue lines on a pale ground: orange_strokes turned by 90 degrees and recoloured."""
    columns, rows = np.meshgrid(np.arange(size, dtype=np.float64), np.arange(size, dtype=np.float64))
    height = rows + 6.0 * np.sin(2.0 * np.pi * columns / 128.0)
    return _two_tone(np.cos(2.0 * np.pi * height / 16.0), (0.08, 0.24, 0.63), (0.88, 0.92, 0.96))


def _two_tone(wave: np.ndarray, dark: tuple[float, float, float], light: tuple[float, float, float]) -> Image.Image:
    """Sharpen a cosine wave into bands with soft (antialiased) edges, then colour them."""
    weight = (0.5 + 0.5 * np.tanh(3.0 * wave))[:, :, None]
    return _to_image(np.array(dark) * weight + np.array(light) * (1.0 - weight))


def _to_image(canvas: np.ndarray) -> Image.Image:
    return Image.fromarray(np.round(np.clip(canvas, 0.0, 1.0) * 255.0).astype(np.uint8))


GENERATORS: dict[str, Callable[[], Image.Image]] = {
    draw.__name__: draw for draw in (orange_strokes, mosaic, rings, blue_waves)
}
"""Example name -> the function that draws it; each is saved as ``<name>.png``."""


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    folder = Path(args[0]) if args else Path(__file__).parent
    for name, draw in GENERATORS.items():
        draw().save(folder / f"{name}.png", optimize=True)
        print(folder / f"{name}.png")


if __name__ == "__main__":
    main()
