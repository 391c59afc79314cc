"""The Plotly figure builders: shapes, the click layer, colour bars and shared colour scales."""

from __future__ import annotations

import base64
import io
import json
import re

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest
from PIL import Image

from nst_core.figures import (
    CLICK_MARKER_PX,
    DIVERGING,
    OVERLAY_CELLS,
    SATURATE_PERCENTILE,
    SEQUENTIAL,
    TILE_CELLS,
    ZERO_COLOUR,
    channel_mosaic,
    channel_pair_figure,
    click_block,
    colourise,
    gram_heatmap,
    gram_thumbnail,
    gram_window,
    view_colours,
)


def _symmetric(n: int, seed: int = 0) -> np.ndarray:
    m = np.random.default_rng(seed).random((n, n)).astype(np.float32)
    return m + m.T


def _colours(fig: go.Figure) -> set[str]:
    """Colours the figure itself sets (not its template, which Streamlit may have replaced)."""
    spec = fig.to_plotly_json()
    spec["layout"].pop("template", None)
    return set(re.findall(r"#[0-9a-fA-F]{6}\b", pio.to_json(spec, validate=False)))


def test_heatmap_natural_order_has_a_click_layer_over_every_cell() -> None:
    m = _symmetric(6)
    fig = gram_heatmap(m, "raw", title="t")
    heatmap, overlay = fig.data
    assert heatmap.type == "heatmap" and overlay.type == "scatter"  # few markers: SVG, no WebGL context
    np.testing.assert_array_equal(np.asarray(heatmap.z), m)
    assert heatmap.hoverinfo == "skip"  # the overlay answers hovers and clicks
    assert len(overlay.x) == len(overlay.y) == 36 and overlay.marker.opacity == 0
    # each marker sits on row y = k, column x = k' and carries G[k, k'] as its (hover-only) colour
    rows, cols = np.asarray(overlay.y), np.asarray(overlay.x)
    assert {(int(r), int(c)) for r, c in zip(rows, cols, strict=True)} == {(r, c) for r in range(6) for c in range(6)}
    np.testing.assert_allclose(np.asarray(overlay.marker.color), m[rows, cols])
    assert overlay.customdata is None  # in natural order the position is the channel pair
    assert "%{y}" in overlay.hovertemplate and "%{marker.color" in overlay.hovertemplate
    assert heatmap.colorbar.title.text == "G (raw, as in the cost)"
    assert fig.layout.yaxis.range == (5.5, -0.5)  # row 0 at the top, like a matrix
    assert fig.layout.yaxis.title.text == "channel k" and fig.layout.xaxis.title.text == "channel k′"


def test_heatmap_in_another_order_maps_positions_back_to_channels() -> None:
    m = _symmetric(5, seed=1)
    order = np.array([3, 0, 4, 1, 2])
    fig = gram_heatmap(m, "raw", order, selected=(4, 1))
    heatmap, overlay = fig.data
    np.testing.assert_array_equal(np.asarray(heatmap.z), m[np.ix_(order, order)])
    cell = np.asarray(overlay.customdata)
    rows, cols = np.asarray(overlay.y), np.asarray(overlay.x)
    np.testing.assert_array_equal(cell[:, 0], order[rows])
    np.testing.assert_array_equal(cell[:, 1], order[cols])
    np.testing.assert_allclose(np.asarray(overlay.marker.color), m[order[rows], order[cols]])
    assert "customdata[0]" in overlay.hovertemplate
    # the selected channels (4, 1) sit at positions (2, 3): outlined there and at the mirror cell
    centres = sorted(((s.x0 + s.x1) / 2, (s.y0 + s.y1) / 2) for s in fig.layout.shapes)
    assert centres == [(2.0, 3.0), (3.0, 2.0)]
    assert "clustered" in fig.layout.xaxis.title.text
    assert list(fig.layout.xaxis.ticktext) == ["3", "0", "4", "1", "2"]  # small: every channel is named


def test_relu3_1_sized_matrices_have_a_click_marker_on_every_cell() -> None:
    """relu3_1 (256 channels) used to answer a click with the centre of a 2×2 block."""
    n = OVERLAY_CELLS
    m = _symmetric(n, seed=5)
    order = np.random.default_rng(n).permutation(n)
    overlay = gram_heatmap(m, "raw", order).data[1]
    assert overlay.type == "scattergl"  # tens of thousands of markers: WebGL
    rows, cols, cell = np.asarray(overlay.y), np.asarray(overlay.x), np.asarray(overlay.customdata)
    assert len(rows) == n * n and len(set(zip(rows.tolist(), cols.tolist(), strict=True))) == n * n
    np.testing.assert_array_equal(cell, np.stack([order[rows], order[cols]], axis=1))
    np.testing.assert_allclose(np.asarray(overlay.marker.color), m[order[rows], order[cols]])
    assert "block" not in overlay.hovertemplate
    # markers narrower than a cell: Plotly counts every marker within 3 px of the pointer as equally close
    assert overlay.marker.size == CLICK_MARKER_PX <= 3


def test_larger_matrices_have_a_marker_per_block_at_its_centre_for_its_first_cell() -> None:
    n = 2 * OVERLAY_CELLS  # relu4_1 and relu5_1: 512 channels, a cell smaller than a screen pixel
    m = _symmetric(n, seed=7)
    overlay = gram_heatmap(m, "raw").data[1]
    rows, cols, cell = np.asarray(overlay.y), np.asarray(overlay.x), np.asarray(overlay.customdata)
    assert len(rows) == OVERLAY_CELLS**2
    assert set(np.unique(rows)) == {i + 0.5 for i in range(0, n, 2)}  # the centre of each 2×2 block
    np.testing.assert_array_equal(cell, np.stack([rows - 0.5, cols - 0.5], axis=1))  # its first cell
    np.testing.assert_allclose(np.asarray(overlay.marker.color), m[cell[:, 0], cell[:, 1]])
    assert "2×2 block" in overlay.hovertemplate and "magnifier" in overlay.hovertemplate
    assert [click_block(n) for n in (64, 128, 256, 512)] == [1, 1, 1, 2]  # what the pages tell their users


def test_window_magnifies_rows_and_columns_of_channels_with_the_full_colours() -> None:
    m = _symmetric(40, seed=6)
    colours = view_colours(m, "raw")
    rows, cols = np.arange(10, 14), np.array([30, 2, 7])
    fig = gram_window(m, "raw", rows, cols, selected=(12, 7), colours=colours)
    heatmap, overlay = fig.data
    np.testing.assert_array_equal(np.asarray(heatmap.z), m[np.ix_(rows, cols)])
    assert (heatmap.zmin, heatmap.zmax) == (colours["zmin"], colours["zmax"])
    assert len(overlay.x) == 12
    shown_rows, shown_cols = rows[np.asarray(overlay.y)], cols[np.asarray(overlay.x)]
    np.testing.assert_allclose(np.asarray(overlay.marker.color), m[shown_rows, shown_cols])
    cell = np.asarray(overlay.customdata)
    np.testing.assert_array_equal(cell[:, 0], rows[np.asarray(overlay.y)])
    np.testing.assert_array_equal(cell[:, 1], cols[np.asarray(overlay.x)])
    assert list(fig.layout.xaxis.ticktext) == ["30", "2", "7"]
    assert list(fig.layout.yaxis.ticktext) == ["10", "11", "12", "13"]
    (shape,) = fig.layout.shapes  # (12, 7) is shown; its mirror (7, 12) is not in the window
    assert ((shape.x0 + shape.x1) / 2, (shape.y0 + shape.y1) / 2) == (2.0, 2.0)


def test_heatmap_without_click_layer_hovers_on_the_heatmap() -> None:
    order = np.array([1, 0, 2])
    fig = gram_heatmap(_symmetric(3), "correlation", order, clickable=False)
    assert len(fig.data) == 1
    heatmap = fig.data[0]
    assert "customdata[0]" in heatmap.hovertemplate and "%{z" in heatmap.hovertemplate
    channels = np.asarray(heatmap.customdata)
    np.testing.assert_array_equal(channels[..., 0], np.array([[1, 1, 1], [0, 0, 0], [2, 2, 2]]))
    np.testing.assert_array_equal(channels[..., 1], np.array([[1, 0, 2]] * 3))
    assert fig.layout.clickmode == "none"


def test_correlation_uses_a_fixed_diverging_scale_and_raw_saturates_outliers() -> None:
    m = np.linspace(0.0, 100.0, 10_000).reshape(100, 100)
    assert view_colours(m, "correlation") == {"colorscale": DIVERGING, "zmin": -1.0, "zmax": 1.0}
    raw = view_colours(m, "raw")
    assert raw["colorscale"] == SEQUENTIAL and raw["zmin"] == 0.0
    assert raw["zmax"] == pytest.approx(np.percentile(m, SATURATE_PERCENTILE))
    cov = view_colours(m - 50.0, "covariance")
    assert cov["colorscale"] == DIVERGING and cov["zmin"] == -cov["zmax"]
    fig = gram_heatmap(m[:4, :4] - 50.0, "covariance")
    assert fig.data[0].zmin == -fig.data[0].zmax


def test_heatmap_serialises_arrays_compactly() -> None:
    spec = json.loads(pio.to_json(gram_heatmap(_symmetric(64), "raw")))
    assert "bdata" in spec["data"][0]["z"] and "bdata" in spec["data"][1]["x"]


def test_colourise_maps_the_range_ends_to_the_scale_ends() -> None:
    rgb = colourise(np.array([[0.0, 1.0], [0.5, np.nan]]), "Greys", 0.0, 1.0)
    assert rgb.dtype == np.uint8 and rgb.shape == (2, 2, 3)
    assert tuple(rgb[0, 0]) == (255, 255, 255) and tuple(rgb[0, 1]) == (0, 0, 0)
    assert tuple(rgb[1, 1]) == (255, 255, 255)  # NaN draws as the low end


@pytest.mark.parametrize("n", [64, 512])
def test_thumbnail_is_a_small_crisp_rgb_picture(n: int) -> None:
    thumb = gram_thumbnail(_symmetric(n), "raw", side=256)
    assert thumb.dtype == np.uint8 and thumb.ndim == 3 and thumb.shape[2] == 3
    assert 128 <= thumb.shape[0] == thumb.shape[1] <= 256


def test_pair_figure_shares_one_scale_for_both_maps_and_one_for_the_product() -> None:
    rng = np.random.default_rng(2)
    a_k, a_k2 = rng.random((6, 9)), 3.0 * rng.random((6, 9))
    image = (rng.random((24, 36, 3)) * 255).astype(np.uint8)
    fig = channel_pair_figure(a_k, a_k2, 4, 7, image)
    coloured = [t for t in fig.data if t.type == "heatmap" and t.coloraxis]
    assert [t.coloraxis for t in coloured] == ["coloraxis", "coloraxis", "coloraxis2"]
    assert sum(t.type == "image" for t in fig.data) == 1  # the picture in a panel of its own, under nothing
    np.testing.assert_allclose(np.asarray(coloured[2].z), a_k * a_k2, rtol=1e-6)
    assert fig.layout.coloraxis.cmax == pytest.approx(max(a_k.max(), a_k2.max()))
    assert fig.layout.coloraxis2.cmax == pytest.approx((a_k * a_k2).max())
    assert fig.layout.coloraxis.colorbar.title.text == "activation"
    assert fig.layout.coloraxis2.colorbar.title.text == "product"
    titles = [a.text for a in fig.layout.annotations]
    assert titles == ["image", "channel 4", "channel 7", "product 4 × 7"]
    picture = next(t for t in fig.data if t.type == "image")
    decoded = Image.open(io.BytesIO(base64.b64decode(picture.source.split(",", 1)[1])))
    # the picture spans exactly the map's cells, numbered from 1 as the sum of G counts them: 0.5 to n + 0.5
    assert picture.x0 - picture.dx / 2 == pytest.approx(0.5) and picture.dx * decoded.width == pytest.approx(9)
    assert picture.y0 - picture.dy / 2 == pytest.approx(0.5) and picture.dy * decoded.height == pytest.approx(6)
    maps = [t for t in fig.data if t.type == "heatmap"]
    assert all(list(t.x) == list(range(1, 10)) and list(t.y) == list(range(1, 7)) for t in maps)
    assert list(fig.layout.xaxis2.range) == [0.5, 9.5] and list(fig.layout.yaxis2.range) == [6.5, 0.5]


def test_pair_figure_draws_exact_zero_products_grey_and_the_rest_opaque() -> None:
    a_k = np.zeros((4, 4))
    a_k2 = np.ones((4, 4))
    a_k[1, 2], a_k[3, 0] = 2.0, 0.5  # two non-zero products of 16
    fig = channel_pair_figure(a_k, a_k2, 0, 1)
    zeros = next(t for t in fig.data if t.type == "heatmap" and not t.coloraxis)
    product = next(t for t in fig.data if t.type == "heatmap" and t.coloraxis == "coloraxis2")
    # Every position is drawn by exactly one of the two: grey where the product is 0, the scale elsewhere.
    zero_cells = np.isfinite(np.asarray(zeros.z, dtype=float))
    product_cells = np.isfinite(np.asarray(product.z, dtype=float))
    assert zero_cells.sum() == 14 and product_cells.sum() == 2
    assert not (zero_cells & product_cells).any() and (zero_cells | product_cells).all()
    assert {c for _, c in zeros.colorscale} == {ZERO_COLOUR}
    assert not zeros.showscale
    # No colour scale of the figure is transparent or contains the zero grey.
    for axis in (fig.layout.coloraxis, fig.layout.coloraxis2):
        colours = [c.lower() for _, c in axis.colorscale]
        assert ZERO_COLOUR not in colours and not any(c.startswith("rgba") for c in colours)
    assert not any(t.type == "image" for t in fig.data)


def test_pair_figure_colour_bars_span_the_plot_height() -> None:
    rng = np.random.default_rng(3)
    fig = channel_pair_figure(rng.random((5, 5)), rng.random((5, 5)), 0, 1, height=None)
    assert fig.layout.height is None  # sized by its container (see ui.sizing)
    for axis in (fig.layout.coloraxis, fig.layout.coloraxis2):
        assert axis.colorbar.len == 1.0 and axis.colorbar.lenmode == "fraction" and axis.colorbar.ypad == 0
    for name in ("yaxis", "yaxis2", "yaxis3"):
        assert fig.layout[name].scaleanchor == "x" + name[5:]  # square cells in every panel


@pytest.mark.parametrize("height", [680, None])
def test_heatmap_cells_are_square_and_its_colour_bar_as_tall_as_the_plot(height: int | None) -> None:
    fig = gram_heatmap(_symmetric(12), "raw", height=height)
    layout = fig.layout
    assert layout.height == height
    assert layout.yaxis.scaleanchor == "x"
    # Both axes give up domain, not range, to stay square: the matrix keeps every cell in view.
    assert layout.xaxis.constrain == "domain" and layout.yaxis.constrain == "domain"
    assert list(layout.xaxis.range) == [-0.5, 11.5] and list(layout.yaxis.range) == [11.5, -0.5]
    bar = fig.data[0].colorbar
    assert bar.len == 1.0 and bar.lenmode == "fraction" and bar.ypad == 0
    assert bar.y == 0.5 and bar.yanchor == "middle"
    # The plot area's full height is the matrix's when the wider x axis is the one constrained.
    assert layout.xaxis.constraintoward == "right"


def test_mosaic_tiles_maps_on_one_scale_and_names_their_channels() -> None:
    rng = np.random.default_rng(3)
    maps = rng.random((5, 10, 10)).astype(np.float32)
    maps[2] *= 4.0
    fig = channel_mosaic(maps, [7, 8, 9, 10, 11], columns=3)
    (heatmap,) = fig.data
    assert heatmap.zmax == pytest.approx(maps.max())
    assert heatmap.colorbar.title.text == "activation"
    assert [a.text for a in fig.layout.annotations] == ["ch 7", "ch 8", "ch 9", "ch 10", "ch 11"]
    z, channel = np.asarray(heatmap.z), np.asarray(heatmap.customdata)
    assert set(np.unique(channel)) == {-1, 7, 8, 9, 10, 11}
    np.testing.assert_allclose(np.sort(z[channel == 9]), np.sort(maps[2].ravel()), rtol=1e-6)
    assert np.isnan(z[channel == -1]).all()


def test_mosaic_averages_large_maps_down() -> None:
    fig = channel_mosaic(np.ones((2, 4 * TILE_CELLS, 4 * TILE_CELLS), dtype=np.float32), [0, 1])
    channel = np.asarray(fig.data[0].customdata)
    assert (channel == 0).sum() == TILE_CELLS * TILE_CELLS


def test_no_figure_uses_streamlit_placeholder_colours() -> None:
    # Streamlit's front end rewrites #000001..#000040 in every figure (its theme's placeholders).
    placeholders = {f"#{i:06d}" for i in range(1, 41)}
    rng = np.random.default_rng(4)
    figures = [gram_heatmap(_symmetric(8), view) for view in ("raw", "per_position", "covariance", "correlation")] + [
        channel_pair_figure(rng.random((4, 4)), rng.random((4, 4)), 0, 1),
        channel_mosaic(rng.random((3, 4, 4)), [0, 1, 2]),
    ]
    for fig in figures:
        assert not _colours(fig) & placeholders
