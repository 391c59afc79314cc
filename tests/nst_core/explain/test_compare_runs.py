"""What two runs have in common and where they differ (the Compare runs page's numbers)."""

from __future__ import annotations

import dataclasses

import torch

import nst_core
from nst_core import RunConfig
from nst_core.explain import common_final_grams, common_style_layers, config_differences
from nst_core.extractor import VGGExtractor
from tests.helpers import small_config


def test_config_differences_names_only_the_fields_that_differ() -> None:
    a = RunConfig(content="chelsea", style="orange_strokes")
    b = RunConfig(content="chelsea", style="orange_strokes", style_loss="mean_cov", tv_weight=0.5)
    assert config_differences(a, b) == {"tv_weight": (0.0, 0.5), "style_loss": ("gram", "mean_cov")}
    assert config_differences(a, a) == {}


def test_common_style_layers_keep_the_first_runs_order() -> None:
    a = small_config(style_layers={"relu2_1": 0.5, "relu1_1": 0.5})
    b = small_config(style_layers={"relu1_1": 0.2, "relu3_1": 0.8, "relu2_1": 0.0})
    assert common_style_layers(a, b) == ["relu2_1", "relu1_1"]


def test_common_final_grams_pair_the_last_snapshots_layers_of_the_same_shape(random_extractor: VGGExtractor) -> None:
    a = nst_core.run(small_config(steps=2, snapshot_every=1), extractor=random_extractor)
    b = nst_core.run(small_config(steps=4, snapshot_every=2), extractor=random_extractor)
    pairs = common_final_grams(a, b)
    assert list(pairs) == list(a.snapshots[-1].grams)
    for layer, (g_a, g_b) in pairs.items():
        assert g_a is a.snapshots[-1].grams[layer] and g_b is b.snapshots[-1].grams[layer]
    odd = dataclasses.replace(b.snapshots[-1], grams={"relu1_1": torch.zeros(3, 3)})
    assert common_final_grams(a, dataclasses.replace(b, snapshots=[odd])) == {}
    assert common_final_grams(a, dataclasses.replace(b, snapshots=[])) == {}
