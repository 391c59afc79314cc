"""Old path of ``nst_core.figures.runs``, kept so that existing imports keep working."""

from .figures.runs import (  # noqa: F401
    GENERATED_COLOUR,
    MAX_SCATTER_POINTS,
    STYLE_COLOUR,
    StepLosses,
    gram_difference_figure,
    gram_pair_figure,
    gram_row_figure,
    gram_scatter_figure,
    loss_curve_figure,
    style_layer_bars,
)
