"""Plotly figures: the only part of ``nst_core`` that imports Plotly (the maths, runs and CLI import
without it). ``gram``: Gram matrices and channel maps; ``runs``: a run's losses and its Gram targets."""

from .compare_runs import run_gram_pair_figure, run_pair_bars
from .gram import (
    CLICK_MARKER_PX,
    DIVERGING,
    FONT_SIZE,
    MAPS_SCALE,
    OVERLAY_CELLS,
    SATURATE_PERCENTILE,
    SELECTION_COLOUR,
    SEQUENTIAL,
    THUMBNAIL_CELLS,
    TILE_CELLS,
    ZERO_COLOUR,
    base_layout,
    channel_mosaic,
    channel_pair_figure,
    click_block,
    colourbar,
    colourise,
    gram_heatmap,
    gram_thumbnail,
    gram_window,
    panel_title,
    view_colours,
)
from .losses import covariance_pair_figure, mean_vector_figure, sorted_projections_figure
from .runs import (
    GENERATED_COLOUR,
    MAX_SCATTER_POINTS,
    STYLE_COLOUR,
    gram_difference_figure,
    gram_pair_figure,
    gram_row_figure,
    gram_scatter_figure,
    loss_curve_figure,
    style_layer_bars,
)
from .tuning import patch_grid, patch_locations, tuning_figure
