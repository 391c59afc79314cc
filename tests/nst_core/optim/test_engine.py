"""The optimisation engine: it stylises, reports the formulas' own values, and fails in typed ways."""

from __future__ import annotations

import io
import json
import math
from dataclasses import replace

import pytest
import torch
from PIL import Image

from nst_core import (
    ConfigError,
    NonFiniteLossError,
    OutOfMemoryError,
    RunCancelled,
    RunConfig,
    gram,
    run,
)
from nst_core.extractor import VGGExtractor
from nst_core.gram import content_cost, layer_style_cost, style_gram_target, total_cost
from nst_core.optim import objective
from nst_core.optim.precision import BFLOAT16, FLOAT32
from nst_core.optim.sources import load_input
from tests.helpers import smooth_image, striped_config, stripes

SMALL_LAYERS = {"relu1_1": 0.3, "relu2_1": 0.3, "relu3_1": 0.4}


@pytest.fixture
def config() -> RunConfig:
    return striped_config(64, 5, content=smooth_image(48, 64, seed=1))


@pytest.mark.parametrize("optimizer, lr, steps", [("lbfgs", None, 25), ("adam", 0.05, 30)])
def test_style_cost_ends_well_under_its_start(config, random_extractor, optimizer, lr, steps) -> None:
    result = run(replace(config, optimizer=optimizer, lr=lr, steps=steps), extractor=random_extractor)
    assert len(result.history) == steps
    assert [record.step for record in result.history] == list(range(1, steps + 1))
    start, end = result.history[0].J_style, result.history[-1].J_style
    assert end < 0.5 * start, f"{optimizer}: J_style {start:.3g} -> {end:.3g}"
    assert result.image.shape == (1, 3, 48, 64)
    assert 0.0 <= float(result.image.min()) and float(result.image.max()) <= 1.0


def test_same_seed_same_result(config, random_extractor) -> None:
    noisy = replace(config, init="noise", seed=7, steps=4)
    first, second = run(noisy, extractor=random_extractor), run(noisy, extractor=random_extractor)
    assert torch.equal(first.image, second.image)
    assert [r.J for r in first.history] == [r.J for r in second.history]
    other = run(replace(noisy, seed=8), extractor=random_extractor)
    assert not torch.equal(first.image, other.image)


# The history reports what the optimiser's forward pass computed (``StepRecord``): activations in the run's
# precision, costs in float32. Against a float32 recomputation: float32 agrees to rounding (1e-4);
# bfloat16 keeps 8 bits of mantissa (relative rounding 2^-8 = 0.4% per value), and a Gram matrix or a
# squared difference sums thousands of such products, so 1e-2 relative (3e-2 for the content cost, a
# difference of two close images) bounds it with margin. Both are run explicitly, on any CPU (bfloat16
# is emulated where it is not native: slow, hence 3 steps at 64 px).
FORMULA_TOLERANCE = [
    pytest.param(FLOAT32, 1e-4, 1e-4, id="float32"),
    pytest.param(BFLOAT16, 1e-2, 3e-2, id="bfloat16"),
]


@pytest.mark.parametrize(("precision", "rel", "rel_content"), FORMULA_TOLERANCE)
def test_history_values_are_the_formulas_recomputed_from_the_final_image(
    config, random_extractor, precision, rel, rel_content
) -> None:
    style = stripes(40, 64)  # another size and aspect than the content: G_S is rescaled per position
    cfg = replace(config, style=style, optimizer="adam", steps=3, alpha=2.0, beta=30.0)
    result = run(cfg, extractor=random_extractor, precision=precision)
    assert result.precision == str(precision)
    layers = [*cfg.style_layers, cfg.content_layer]
    with torch.no_grad():
        acts_G = random_extractor(result.image, layers)
        acts_S = random_extractor(style, layers)
        acts_C = random_extractor(load_input("content", cfg.content, cfg.size), layers)
    last = result.history[-1]
    for layer in cfg.style_layers:
        expected = float(layer_style_cost(acts_S[layer][0], acts_G[layer][0]))
        assert last.J_style_layers[layer] == pytest.approx(expected, rel=rel)
        n_positions = acts_G[layer].shape[-1] * acts_G[layer].shape[-2]
        target = style_gram_target(acts_S[layer][0], n_positions)
        torch.testing.assert_close(result.style_grams[layer], target, rtol=rel, atol=rel * float(target.abs().max()))
    j_style = sum(w * last.J_style_layers[layer] for layer, w in cfg.style_layers.items())
    j_content = float(content_cost(acts_C[cfg.content_layer][0], acts_G[cfg.content_layer][0]))
    assert last.J_style == pytest.approx(j_style, rel=1e-5)
    assert last.J_content == pytest.approx(j_content, rel=rel_content, abs=1e-12)
    assert last.J == pytest.approx(total_cost(last.J_content, last.J_style, cfg.alpha, cfg.beta), rel=1e-5)


def test_loss_scaling_is_explicit_and_makes_each_style_term_start_at_one(config, random_extractor) -> None:
    result = run(replace(config, steps=1), extractor=random_extractor)
    scaling, first = result.loss_scaling, result.history[0]
    for layer, value in first.J_style_layers.items():
        assert scaling.style[layer] * value == pytest.approx(1.0, rel=1e-5)
    # init="content": the content term is 0 at the start, so the objective is β Σ λ = β.
    assert first.objective == pytest.approx(config.beta * sum(config.style_layers.values()), rel=1e-5)
    assert "J_content" in str(scaling) and json.loads(result.to_json())["loss_scaling"]["content"] == scaling.content


def test_several_styles_blend_their_gram_targets(config, random_extractor) -> None:
    a, b = stripes(64, 64), smooth_image(64, 64, seed=5)
    cfg = replace(config, style=[a, b], style_blend=[3.0, 1.0], steps=1, style_layers=SMALL_LAYERS)
    blended = run(cfg, extractor=random_extractor).style_grams
    only_a = run(replace(cfg, style=a, style_blend=None), extractor=random_extractor).style_grams
    only_b = run(replace(cfg, style=b, style_blend=None), extractor=random_extractor).style_grams
    for layer in SMALL_LAYERS:
        torch.testing.assert_close(blended[layer], 0.75 * only_a[layer] + 0.25 * only_b[layer], rtol=1e-5, atol=1e-3)


def test_snapshots_arrive_at_the_requested_interval(config, random_extractor) -> None:
    cfg = replace(config, steps=7, snapshot_every=3, snapshot_layers=["relu1_1", "relu3_2"], style_layers=SMALL_LAYERS)
    seen: list[int] = []
    result = run(cfg, on_progress=lambda p: seen.append(p.step) if p.snapshot else None, extractor=random_extractor)
    assert [s.step for s in result.snapshots] == [0, 3, 6] and seen == [3, 6]
    # Snapshot 0 is the starting image (init="content": the content itself), before any step.
    start = load_input("content", cfg.content, cfg.size)
    torch.testing.assert_close(result.snapshots[0].image, start)
    for snapshot in result.snapshots:
        assert snapshot.image.shape == (1, 3, 48, 64) and snapshot.image.device.type == "cpu"
        assert set(snapshot.grams) == {"relu1_1", "relu3_2"}
        assert snapshot.grams["relu3_2"].shape == (256, 256) and snapshot.grams["relu3_2"].dtype == torch.float32
    assert set(result.style_grams) == {*SMALL_LAYERS, "relu3_2"}
    assert run(replace(cfg, snapshot_every=0), extractor=random_extractor).snapshots == []


def test_lbfgs_line_search_evaluations_each_count_as_a_step(config, random_extractor) -> None:
    progress: list[int] = []
    result = run(replace(config, steps=9), on_progress=lambda p: progress.append(p.step), extractor=random_extractor)
    assert progress == list(range(1, 10)) and len(result.history) == 9


def test_cancel_stops_within_one_step(config, random_extractor) -> None:
    seen: list[int] = []
    with pytest.raises(RunCancelled, match="after step 3"):
        run(
            replace(config, steps=50),
            on_progress=lambda p: seen.append(p.step),
            cancel=lambda: len(seen) >= 3,
            extractor=random_extractor,
        )
    assert seen == [1, 2, 3]


def test_a_non_finite_loss_stops_the_run_with_a_hint(config, random_extractor, monkeypatch) -> None:
    done: list[int] = []

    def poisoned(a_C: torch.Tensor, a_G: torch.Tensor) -> torch.Tensor:
        value = content_cost(a_C, a_G)
        return value * math.nan if len(done) == 2 else value  # the third step's J_content is NaN

    monkeypatch.setattr(gram, "content_cost", poisoned)
    with pytest.raises(NonFiniteLossError, match="step 3") as info:
        run(replace(config, steps=10), on_progress=lambda p: done.append(p.step), extractor=random_extractor)
    assert done == [1, 2]
    assert "lr" in info.value.hint and "J_content" in str(info.value)


def test_running_out_of_memory_is_typed_and_suggests_a_smaller_size(config, random_extractor, monkeypatch) -> None:
    def exhausted(*args: object, **kwargs: object) -> None:
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(objective.Objective, "evaluate", exhausted)
    monkeypatch.setattr("os.sysconf", lambda name: 2**17 if name == "SC_AVPHYS_PAGES" else 4096)  # 512 MiB free
    with pytest.raises(OutOfMemoryError) as info:
        run(replace(config, size=1024), extractor=random_extractor)
    assert info.value.suggested_size is not None and 16 <= info.value.suggested_size < 1024
    assert str(info.value.suggested_size) in info.value.hint


def test_a_too_elongated_image_names_the_size(config, random_extractor) -> None:
    with pytest.raises(ConfigError) as info:
        run(replace(config, content=torch.rand(1, 3, 16, 200), size=100), extractor=random_extractor)
    assert info.value.field == "size"


def test_result_json_holds_the_history_and_the_config(config, random_extractor) -> None:
    result = run(replace(config, steps=2, content=smooth_image(32, 32, 3)), extractor=random_extractor)
    document = json.loads(result.to_json())
    assert [r["step"] for r in document["history"]] == [1, 2]
    assert document["history"][1]["J_style_layers"] == result.history[1].J_style_layers
    assert document["config"]["content"] == "tensor 1x3x32x32" and document["config"]["lr"] == 1.0
    assert document["weights_source"] == result.weights_source and document["device"] == "cpu"


def test_run_loads_the_configured_weights_itself(config) -> None:
    result = run(replace(config, steps=1, content=smooth_image(32, 32, 7), style=stripes(32, 32)))
    assert "random" in result.weights_source


def test_run_uses_the_extractor_it_is_given(config, random_extractor: VGGExtractor) -> None:
    result = run(replace(config, steps=1, weights="imagenet"), extractor=random_extractor)
    assert result.weights_source == random_extractor.weights_source


def test_bytes_of_a_png_and_an_example_name_run(random_extractor) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 120, 40)).save(buffer, format="PNG")
    cfg = RunConfig(
        content=buffer.getvalue(), style="orange_strokes", size=32, steps=1, weights="random", snapshot_every=0
    )
    assert run(cfg, extractor=random_extractor).image.shape == (1, 3, 24, 32)
