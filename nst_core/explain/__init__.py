"""Explanations: the numbers the lesson and the explorer show, computed with the run's own functions."""

from .compare import record_at, relative_gram_difference
from .lesson import (
    CostBreakdown,
    FeatureChannel,
    FeatureChannels,
    LayerStyleTerm,
    cost_breakdown,
    find_feature_channels,
    layer_style_term,
    probe_images,
)
from .pairs import PairSummary, pair_summary

__all__ = [
    "CostBreakdown",
    "FeatureChannel",
    "FeatureChannels",
    "LayerStyleTerm",
    "PairSummary",
    "cost_breakdown",
    "find_feature_channels",
    "layer_style_term",
    "pair_summary",
    "probe_images",
    "record_at",
    "relative_gram_difference",
]
