"""The figures of what a channel detects: tuning bars in their hues, patches enlarged without smoothing."""

from __future__ import annotations

import numpy as np

from nst_core.explain.patches import Patch
from nst_core.explain.tuning import HUES, ORIENTATIONS, ChannelTuning
from nst_core.figures import patch_grid, patch_locations, tuning_figure


def _tuning() -> ChannelTuning:
    orientation = tuple(float(v) for v in np.sin(np.radians(ORIENTATIONS)) ** 2)
    colour = tuple(float(v) for v in np.linspace(1.0, 0.1, len(HUES) + 1))
    red = (1.0, 0.0, 0.0)
    return ChannelTuning("relu1_1", 3, 90.0, "vertical", 1.0, "red", red, 0.8, 4.0, 1.0, orientation, colour)


def test_tuning_figure_has_one_bar_per_orientation_and_per_hue_in_that_hue() -> None:
    fig = tuning_figure(_tuning())
    orientation, colour = fig.data
    assert len(orientation.y) == len(ORIENTATIONS) and len(colour.y) == len(HUES) + 1
    assert orientation.x[4].startswith("90°") and list(colour.x[:2]) == ["red", "orange"]
    assert colour.x[-1] == "white" and colour.marker.color[0] == "#ff0000" and colour.marker.color[-1] == "#ffffff"
    titles = [a.text for a in fig.layout.annotations]
    assert titles == ["orientation: vertical (1.00)", "colour: red (0.80)"]


def test_patch_grid_enlarges_each_patch_crisply_side_by_side() -> None:
    pixels = np.zeros((3, 3, 3), dtype=np.uint8)
    pixels[1, 1] = 255
    patches = [Patch(2, 2, 5.0, (0, 0, 3, 3), pixels), Patch(5, 5, 4.0, (3, 3, 6, 6), pixels[:, :2])]
    grid = patch_grid(patches, columns=3, side=30, gap=6)
    assert grid.shape == (30, 66, 3) and grid.dtype == np.uint8  # two patches: one row of two
    assert (grid[10:20, 10:20] == 255).all() and (grid[:10, :10] == 0).all()  # nearest: no blur
    assert patch_grid(patches * 2, columns=3, side=30, gap=6).shape == (66, 102, 3)
    boxed = patch_locations(np.zeros((8, 8, 3), dtype=np.uint8), patches)
    assert boxed.shape == (8, 8, 3) and boxed[0, 0].tolist() == [255, 45, 149]
