"""Explanations: the numbers the lesson and the explorer show, computed with the run's own functions."""

from .compare_runs import common_final_grams, common_style_layers, config_differences
from .ladder import LADDER_LAYERS, LADDER_SIZE, LayerLadder, Rung, ladder_configs
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
from .patches import Patch, receptive_field, top_patches
from .style_vs_generated import compared_layers, gram_snapshots, record_at, relative_gram_difference
from .tuning import ChannelTuning, GratingResponses, Selectivity, channel_tuning, layer_responses, tuning_sentence
