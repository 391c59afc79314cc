"""What a channel detects: the grating probes find a hand-built filter's orientation and colour."""

from __future__ import annotations

import pytest
import torch

from nst_core.explain import ChannelTuning, channel_tuning, layer_responses, tuning_sentence
from nst_core.explain.tuning import HUES, ORIENTATIONS, grating, orientation_label
from nst_core.extractor import IMAGENET_STD, VGGExtractor
from nst_core.weights import build_features, random_state_dict

CHANNEL = 5


def _extractor_with_conv1_1(channel: int, colour: tuple[float, float, float], kernel: torch.Tensor) -> VGGExtractor:
    """Random VGG19 whose conv1_1 channel ``channel`` is ``kernel`` (3x3) applied to the pixels' projection on
    ``colour``: the extractor normalises by the ImageNet std first, which the weights undo."""
    state = random_state_dict(0)
    in_pixels = torch.tensor(colour) * torch.tensor(IMAGENET_STD)
    state["0.weight"][channel] = in_pixels.view(3, 1, 1) * kernel
    state["0.bias"][channel] = 0.0
    features = build_features(device="cpu")
    features.load_state_dict(state)
    return VGGExtractor(features, "hand-built")


VERTICAL_EDGE = torch.tensor([[-1.0, 0.0, 1.0]] * 3)  # changes along the width: fires on vertical lines
ORANGE = (1.0, 0.5, 0.0)


def test_a_vertical_orange_edge_filter_in_conv1_1_is_found_vertical_and_orange() -> None:
    extractor = _extractor_with_conv1_1(CHANNEL, ORANGE, VERTICAL_EDGE)
    tuning = channel_tuning(extractor, "relu1_1", CHANNEL)
    assert isinstance(tuning, ChannelTuning)
    assert tuning.orientation == "vertical"
    assert tuning.orientation_deg == pytest.approx(90.0, abs=5.0)
    assert tuning.hue == "orange"
    red, green, blue = tuning.rgb
    assert red > green > blue
    # An edge filter never answers stripes parallel to the other axis; its colour also matters a lot.
    assert tuning.orientation_selectivity > 0.9
    assert 0.3 < tuning.colour_selectivity <= 1.0
    assert tuning.selectivity.orientation == tuning.orientation_selectivity
    assert tuning.selectivity["colour"] == tuning.colour_selectivity
    assert 0.0 <= tuning.selectivity <= 1.0
    # The same channel read through conv1_1 (before the ReLU) agrees.
    assert channel_tuning(extractor, "conv1_1", CHANNEL).orientation == "vertical"


def test_a_horizontal_blue_edge_filter_is_found_horizontal_and_blue() -> None:
    extractor = _extractor_with_conv1_1(CHANNEL, (0.0, 0.0, 1.0), VERTICAL_EDGE.T.contiguous())
    tuning = channel_tuning(extractor, "relu1_1", CHANNEL)
    assert tuning.orientation == "horizontal"
    assert min(tuning.orientation_deg, 180.0 - tuning.orientation_deg) < 5.0
    assert tuning.hue == "blue"


def test_a_colour_blind_blob_filter_is_unoriented_and_prefers_light_dark_patterns() -> None:
    extractor = _extractor_with_conv1_1(CHANNEL, (1.0, 1.0, 1.0), torch.ones(3, 3))
    tuning = channel_tuning(extractor, "relu1_1", CHANNEL)
    assert tuning.orientation == "unoriented"
    assert tuning.hue == "white"
    assert tuning.describe() == "unoriented, light–dark texture"


def test_gratings_draw_their_lines_at_the_angle_named() -> None:
    vertical = grating(32, 90.0, 8.0, (1.0, 1.0, 1.0))[0, 0]
    horizontal = grating(32, 0.0, 8.0, (1.0, 1.0, 1.0))[0, 0]
    assert torch.allclose(vertical[0], vertical[-1]) and not torch.allclose(vertical[:, 0], vertical[:, 2])
    assert torch.allclose(horizontal[:, 0], horizontal[:, -1]) and not torch.allclose(horizontal[0], horizontal[2])
    diagonal = grating(32, 45.0, 8.0, (1.0, 1.0, 1.0))[0, 0]
    # "/" lines: constant along the up-right direction (row - 1, column + 1).
    assert torch.allclose(diagonal[10, 10], diagonal[9, 11], atol=1e-5)
    assert orientation_label(44.0, 0.5) == "diagonal" and orientation_label(170.0, 0.5) == "horizontal"


def test_every_channel_of_a_random_layer_gets_a_tuning_from_one_set_of_responses(random_extractor) -> None:
    responses = layer_responses(random_extractor, "relu2_1")
    assert responses.achromatic.shape == (len(ORIENTATIONS), len(responses.periods), 128)
    assert responses.colour.shape == (len(HUES), len(ORIENTATIONS), 128)
    tunings = [channel_tuning(random_extractor, "relu2_1", k, responses) for k in range(128)]
    assert {t.orientation for t in tunings} >= {"horizontal", "vertical", "diagonal"}
    assert all(0.0 <= t.orientation_selectivity <= 1.0 and 0.0 <= t.colour_selectivity <= 1.0 for t in tunings)
    assert all(0.0 <= t.orientation_deg < 180.0 and all(0.0 <= c <= 1.0 for c in t.rgb) for t in tunings)
    # The responses are only a shortcut: without them the same tuning comes out.
    assert channel_tuning(random_extractor, "relu2_1", 7) == tunings[7]


def test_a_channel_out_of_range_is_refused(random_extractor) -> None:
    with pytest.raises(ValueError, match="0 to 63"):
        channel_tuning(random_extractor, "relu1_1", 64)


def test_the_seed_sentence_carries_the_live_values() -> None:
    extractor = _extractor_with_conv1_1(CHANNEL, ORANGE, VERTICAL_EDGE)
    k = channel_tuning(extractor, "relu1_1", CHANNEL)
    sentence = tuning_sentence(k, k, 1234.5, 0.81)
    assert sentence.startswith("Channel 5 fires on vertical, orange texture; channel 5 on vertical, orange texture;")
    assert "where one fires the other does (G[5, 5] = 1234, correlation +0.81)" in sentence
    assert "independently" in tuning_sentence(k, k, 1.0, 0.0)
