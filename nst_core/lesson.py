"""Old path of ``nst_core.explain``, kept so that existing imports keep working."""

from .explain.lesson import (  # noqa: F401
    DARK,
    GREY,
    ORANGE,
    PROBE_SIDE,
    STRIPE_PERIOD,
    CostBreakdown,
    FeatureChannel,
    FeatureChannels,
    LayerStyleTerm,
    cost_breakdown,
    find_feature_channels,
    layer_style_term,
    probe_images,
)
from .explain.pairs import PairSummary, pair_summary  # noqa: F401
