"""The numbers Style vs generated shows: the Gram snapshots and layers a run can be compared at, the history
record of a step, and the relative distance of two Gram matrices."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import nst_core
from nst_core.explain import compared_layers, gram_snapshots, record_at, relative_gram_difference
from nst_core.extractor import VGGExtractor
from nst_core.optim import RunResult
from tests.helpers import small_config


@pytest.fixture(scope="module")
def result(random_extractor: VGGExtractor) -> RunResult:
    return nst_core.run(small_config(steps=4, snapshot_every=2), extractor=random_extractor)


def test_gram_snapshots_skip_those_without_grams_and_compared_layers_need_a_target(result: RunResult) -> None:
    no_grams = dataclasses.replace(result.snapshots[0], grams={})
    mixed = dataclasses.replace(result, snapshots=[no_grams, *result.snapshots[1:]])
    assert gram_snapshots(mixed) == result.snapshots[1:]
    assert compared_layers(result) == [layer for layer in result.snapshots[-1].grams if layer in result.style_grams]
    assert compared_layers(result)
    first, *_ = compared_layers(result)
    untargeted = dataclasses.replace(result, style_grams={k: v for k, v in result.style_grams.items() if k != first})
    assert first not in compared_layers(untargeted)
    assert compared_layers(dataclasses.replace(result, snapshots=[no_grams])) == []


def test_record_at_a_step_is_its_own_else_the_last_before(result: RunResult) -> None:
    history = result.history
    assert record_at(history, history[1].step) is history[1]
    assert record_at(history, 10_000) is history[-1]
    assert record_at(history, -1) is history[0]


def test_relative_gram_difference_is_zero_for_equal_matrices_and_scale_free() -> None:
    g_S = np.arange(9, dtype=np.float32).reshape(3, 3)
    assert relative_gram_difference(g_S, g_S) == 0.0
    assert relative_gram_difference(g_S, 2 * g_S) == pytest.approx(1.0)
    assert relative_gram_difference(10 * g_S, 20 * g_S) == pytest.approx(1.0)
    assert relative_gram_difference(np.zeros((3, 3)), g_S) == pytest.approx(float(np.linalg.norm(g_S)))
