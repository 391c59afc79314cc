"""Explanations: the numbers the lesson and the explorer show, computed with the run's own functions."""

from .compare import config_differences, record_at, relative_gram_difference
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
from .loss_views import MeanCov, SortedProjections, mean_cov_pair, objective_images, sorted_projection_pair
from .pairs import PairSummary, pair_summary

__all__ = [
    "CostBreakdown",
    "FeatureChannel",
    "FeatureChannels",
    "LayerStyleTerm",
    "MeanCov",
    "PairSummary",
    "SortedProjections",
    "config_differences",
    "cost_breakdown",
    "find_feature_channels",
    "layer_style_term",
    "mean_cov_pair",
    "objective_images",
    "pair_summary",
    "probe_images",
    "record_at",
    "relative_gram_difference",
    "sorted_projection_pair",
]
