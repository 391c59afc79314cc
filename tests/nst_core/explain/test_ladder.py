"""The layer ladder: style-only runs from noise, one rung after another, each lowering its own style cost."""

from __future__ import annotations

import time

import pytest
import torch

from nst_core.errors import TooManyRunsError
from nst_core.explain import LADDER_LAYERS, LayerLadder, ladder_configs
from nst_core.serve import AdmissionPolicy, ExtractorCache, ThreadExecutor

STYLE = torch.rand(1, 3, 40, 48, generator=torch.Generator().manual_seed(2))


def test_each_rung_matches_one_more_layer_with_the_style_term_only() -> None:
    configs = ladder_configs(STYLE, weights="random", device="cpu")
    assert [tuple(c.style_layers) for c in configs] == [LADDER_LAYERS[:n] for n in range(1, 6)]
    assert LADDER_LAYERS == ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
    for config in configs:
        config.validate()
        assert config.alpha == 0.0 and config.beta > 0 and config.init == "noise" and config.size == 128
        assert sum(config.style_layers.values()) == pytest.approx(1.0)


def _wait(ladder: LayerLadder, executor: ThreadExecutor, owner: str, timeout_s: float = 300.0) -> None:
    """Drive the ladder as the page's poll does, until every rung has finished."""
    deadline = time.monotonic() + timeout_s
    while not ladder.finished:
        assert time.monotonic() < deadline, [r.status for r in ladder.rungs()]
        try:
            ladder.advance(executor, owner)
        except TooManyRunsError:
            pass  # the previous rung is finished but not yet out of the worker's hands
        time.sleep(0.05)


def test_the_ladders_images_lower_their_own_style_cost(random_extractor) -> None:
    configs = ladder_configs(STYLE, weights="random", device="cpu", size=48, steps=12)
    ladder = LayerLadder(configs)
    assert [r.status for r in ladder.rungs()] == ["waiting"] * 5
    executor = ThreadExecutor(model_cache=ExtractorCache(loader=lambda *args, **kwargs: random_extractor))
    with executor:
        assert ladder.advance(executor, "visitor")
        # One rung at a time: the visitor has one run in the fair queue, never five.
        assert not ladder.advance(executor, "visitor")
        assert sum(r.status != "waiting" for r in ladder.rungs()) == 1
        _wait(ladder, executor, "visitor")
    rungs, results = ladder.rungs(), ladder.results()
    assert [r.status for r in rungs] == ["done"] * 5
    for rung, result in zip(rungs, results, strict=True):
        assert result is not None and tuple(result.config.style_layers) == rung.layers
        first, last = result.history[0], result.history[-1]
        assert set(last.J_style_layers) == set(rung.layers)
        assert last.J_style < 0.5 * first.J_style, rung.layers
        assert (rung.start_cost, rung.cost) == (first.J_style, last.J_style)
        assert rung.image is not None and rung.image.shape == (40, 48, 3)


def test_a_refused_rung_is_submitted_on_a_later_call(random_extractor) -> None:
    executor = ThreadExecutor(
        model_cache=ExtractorCache(loader=lambda *args, **kwargs: random_extractor),
        policy=AdmissionPolicy(max_active=1, max_queue=5),
    )
    with executor:
        own = executor.submit(ladder_configs(STYLE, weights="random", device="cpu", size=32, steps=3)[0], owner="v")
        ladder = LayerLadder(ladder_configs(STYLE, weights="random", device="cpu", size=32, steps=3)[:1])
        with pytest.raises(TooManyRunsError):
            ladder.advance(executor, "v")
        assert ladder.rungs()[0].status == "waiting"
        own.result(timeout=120)
        _wait(ladder, executor, "v")
    assert ladder.rungs()[0].status == "done"
