"""Many runs, one batch: batched runs equal their solo runs, and each keeps its own progress, cancel and failure.

Tolerances. VGG19 has no batch statistics, so a batch changes an image's activations only by the order in which
a convolution sums (a kernel may choose another blocking for another batch size). Float32: one evaluation agrees
to float32 rounding (1e-5 relative); over a run L-BFGS's line search and curvature pairs amplify that rounding,
as they amplify a change of memory layout (float32 channels-last against NCHW, the floor the precision policy
uses): measured here, up to 3e-4 relative on J after 10 L-BFGS steps for either change, so 2e-3 over 6 steps.
Bfloat16 (8-bit mantissa): a changed summation order moves a value by up to ~1e-2 relative, so one evaluation
agrees within 3e-2 and a run's first and last steps within 5e-2 (the policy's accepted bfloat16 error; a line
search's trial point mid-run can amplify a rounding difference more). On the Xeon with AMX where
this was written the batched bfloat16 runs were bitwise equal to the solo ones; the tolerance is for kernels
that choose by batch size. Every precision path is run explicitly, on any CPU (bfloat16 is emulated where it
is not native: slow, hence 32 px and few steps). Nothing here waits on timing: a round is computed when every
seated run has asked, whatever the machine's speed.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import replace

import pytest
import torch

from nst_core import ConfigError, RunCancelled, RunConfig, RunResult, run
from nst_core.optim import BatchedEvaluator, BatchKey, BatchSeat, batch_key, batched, run_batch
from nst_core.optim.canvas import Canvas
from nst_core.optim.engine import scale_images
from nst_core.optim.objective import Objective
from nst_core.optim.precision import BFLOAT16, FLOAT32, FLOAT32_CHANNELS_LAST, Precision, choose_precision
from nst_core.optim.sources import ImageInputError
from tests.helpers import assert_same_run, small_config

LAYERS = {"relu1_1": 0.4, "relu2_1": 0.3, "relu3_1": 0.3}

EVALUATION_TOLERANCE = [
    pytest.param(FLOAT32, 1e-5, id="float32"),
    pytest.param(FLOAT32_CHANNELS_LAST, 1e-5, id="float32-channels-last"),
    pytest.param(BFLOAT16, 3e-2, id="bfloat16"),
]
RUN_TOLERANCE = [pytest.param(FLOAT32, 2e-3, True, id="float32"), pytest.param(BFLOAT16, 5e-2, False, id="bfloat16")]


def _picture(seed: int, height: int = 32, width: int = 32) -> torch.Tensor:
    """A smooth random picture (coarse noise upsampled), different for each seed."""
    coarse = torch.rand(1, 3, height // 4, width // 4, generator=torch.Generator().manual_seed(seed))
    return torch.nn.functional.interpolate(coarse, size=(height, width), mode="bilinear", align_corners=False)


def _configs(optimizer: str = "adam", steps: tuple[int, ...] = (6, 6, 6)) -> list[RunConfig]:
    """Runs of one size whose objectives differ in every way a run's can: images, seeds, start, loss, TV, regions."""
    left = torch.zeros(1, 3, 32, 32)
    left[..., :16] = 1.0
    variants = [
        {"tv_weight": 0.5},
        {"init": "noise", "seed": 3, "alpha": 2.0, "beta": 20.0},
        {"style": [_picture(21), _picture(22)], "regions": [left, 1.0 - left]},
        {"style_loss": "mean_cov", "init": "noise", "seed": 4},
    ]
    return [
        small_config(
            steps=count,
            **{
                "optimizer": optimizer,
                "content": _picture(10 + i),
                "style": _picture(20 + i),
                "style_layers": LAYERS,
                **variants[i % len(variants)],
            },
        )
        for i, count in enumerate(steps)
    ]


def _results(outcomes: list[RunResult | Exception]) -> list[RunResult]:
    for outcome in outcomes:
        if isinstance(outcome, Exception):
            raise outcome
    return outcomes  # type: ignore[return-value]


@pytest.mark.parametrize(("precision", "rel"), EVALUATION_TOLERANCE)
def test_one_batched_evaluation_gives_each_image_its_own_cost_and_gradient(random_extractor, precision, rel) -> None:
    configs = _configs(steps=(1, 1, 1, 1))
    objectives, variables = [], []
    for config in configs:
        images, content = scale_images(config, config.size)
        objective = Objective(random_extractor, precision, config, images)
        canvas = Canvas(config, content)
        start = canvas.initial(config)
        objective.normalise(canvas.seen(start))
        objectives.append((objective, canvas))
        variables.append(canvas.encode(start + 0.05 * _picture(30 + len(variables))).requires_grad_(True))

    alone = []
    for (objective, canvas), variable in zip(objectives, variables, strict=True):
        evaluation = objective.evaluate_backward(canvas.evaluated(variable), ["relu2_1"])
        alone.append((evaluation, variable.grad.clone()))
        variable.grad = None

    evaluator = BatchedEvaluator()
    seats = [evaluator.seat() for _ in configs]
    shared: list[object] = [None] * len(configs)

    def evaluate(index: int) -> None:
        (objective, canvas), variable = objectives[index], variables[index]
        with torch.enable_grad(), seats[index]:
            shared[index] = seats[index].evaluate(objective, canvas.evaluated(variable), ["relu2_1"])

    threads = [threading.Thread(target=evaluate, args=(i,)) for i in range(len(configs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert evaluator.batch_sizes == Counter({len(configs): 1})  # one network pass for the four images
    for (solo, gradient), evaluation, variable in zip(alone, shared, variables, strict=True):
        assert evaluation.J == pytest.approx(solo.J, rel=rel)
        assert evaluation.J_style_layers == pytest.approx(solo.J_style_layers, rel=rel)
        assert evaluation.J_content == pytest.approx(solo.J_content, rel=rel, abs=1e-9)
        assert evaluation.J_tv == pytest.approx(solo.J_tv, rel=rel)
        gram = solo.grams["relu2_1"]
        torch.testing.assert_close(evaluation.grams["relu2_1"], gram, rtol=0.0, atol=rel * float(gram.abs().max()))
        scale = float(gradient.abs().max())
        torch.testing.assert_close(variable.grad, gradient, rtol=0.0, atol=rel * scale * 10)
        assert torch.dot(variable.grad.flatten(), gradient.flatten()) > 0.99 * gradient.square().sum()


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
@pytest.mark.parametrize(("precision", "rel", "every_step"), RUN_TOLERANCE)
def test_batched_runs_equal_their_solo_runs(random_extractor, optimizer, precision, rel, every_step) -> None:
    configs = _configs(optimizer, steps=(6, 3, 6))  # the second run ends first: the others go on alone
    solo = [run(config, extractor=random_extractor, precision=precision) for config in configs]
    progress: list[list[int]] = [[] for _ in configs]
    callbacks = [lambda p, seen=seen: seen.append(p.step) for seen in progress]
    batched = _results(run_batch(configs, extractor=random_extractor, on_progress=callbacks, precision=precision))
    for ours, theirs, config, seen in zip(batched, solo, configs, progress, strict=True):
        assert len(ours.history) == config.steps and seen == list(range(1, config.steps + 1))
        assert ours.precision == str(precision)
        assert_same_run(ours, theirs, rel, every_step)


def test_one_run_alone_in_a_batch_is_exactly_its_solo_run(random_extractor) -> None:
    config = _configs("lbfgs", steps=(5,))[0]
    (batched,) = _results(run_batch([config], extractor=random_extractor))
    solo = run(config, extractor=random_extractor)
    assert torch.equal(batched.image, solo.image)
    assert [r.J for r in batched.history] == [r.J for r in solo.history]


def test_cancelling_one_run_stops_it_alone(random_extractor) -> None:
    configs = _configs("lbfgs", steps=(5, 8, 5))
    stop = threading.Event()

    def cancel_at_step_2(progress) -> None:
        if progress.step == 2:
            stop.set()

    outcomes = run_batch(
        configs, extractor=random_extractor, on_progress=[None, cancel_at_step_2, None], cancel=[None, stop, None]
    )
    assert isinstance(outcomes[1], RunCancelled) and "after step 2" in str(outcomes[1])
    for index in (0, 2):
        result = outcomes[index]
        assert isinstance(result, RunResult) and len(result.history) == 5
        assert_same_run(result, run(configs[index], extractor=random_extractor), 2e-3)


def test_a_failing_run_leaves_the_others_to_finish(random_extractor) -> None:
    configs = _configs("adam", steps=(4, 4, 4, 4))
    configs[1] = replace(configs[1], content="no such image.png")  # fails before its first step

    def explode(progress) -> None:
        if progress.step == 2:
            raise ValueError("the visitor's callback broke")

    outcomes = run_batch(configs, extractor=random_extractor, on_progress=[None, None, explode, None])
    assert isinstance(outcomes[1], ConfigError) and outcomes[1].field == "content"
    assert isinstance(outcomes[2], ValueError)
    for index in (0, 3):
        assert isinstance(outcomes[index], RunResult) and len(outcomes[index].history) == 4


def test_runs_of_other_sizes_and_scales_share_the_evaluator_correctly(random_extractor) -> None:
    """Coarse to fine (32 then 45 then 64 px), a wide image and a square one: each size is its own group."""
    wide = small_config(steps=6, optimizer="adam", content=_picture(1, 32, 64), style=_picture(2), size=64)
    configs = [
        replace(wide, content=_picture(3, 64, 64), start_size=32),
        replace(wide, content=_picture(4, 64, 64), start_size=32, seed=9, init="noise"),
        wide,
    ]
    batched = _results(run_batch(configs, extractor=random_extractor, precision=FLOAT32))
    for ours, config in zip(batched, configs, strict=True):
        assert_same_run(ours, run(config, extractor=random_extractor, precision=FLOAT32), 1e-5)
    assert [r.scale for r in batched[0].history] == [32, 32, 45, 45, 64, 64]


def test_runs_reading_other_layers_share_a_pass_and_each_gets_its_own_gradient(random_extractor) -> None:
    """A layer one run reads and another does not (its style layers, its snapshot layers) is computed once for
    the batch; the run that does not read it gets no gradient from it."""
    base = _configs("adam", steps=(4,))[0]
    configs = [
        replace(base, style_layers={"relu1_1": 1.0}, snapshot_every=2, snapshot_layers=["relu3_2"]),
        replace(base, content=_picture(40), style_layers={"relu2_1": 0.5, "relu3_1": 0.5}, snapshot_every=0),
        replace(base, content=_picture(41), content_layer="relu1_2", snapshot_every=3),
    ]
    evaluator = BatchedEvaluator()
    batched = _results(run_batch(configs, extractor=random_extractor, precision=FLOAT32, evaluator=evaluator))
    assert evaluator.batch_sizes == Counter({3: 4})
    for ours, config in zip(batched, configs, strict=True):
        assert_same_run(ours, run(config, extractor=random_extractor, precision=FLOAT32), 1e-5)
    assert set(batched[0].snapshots[-1].grams) == {"relu3_2"}


def test_extractors_are_loaded_once_per_weights_and_device(random_extractor, monkeypatch) -> None:
    loaded: list[tuple[object, object]] = []

    def load(weights: object, device: object) -> object:
        loaded.append((weights, device))
        return random_extractor

    monkeypatch.setattr(batched, "load_extractor", load)
    configs = _configs("adam", steps=(2, 2, 2))
    assert all(isinstance(r, RunResult) for r in run_batch(configs))
    assert loaded == [("random", "cpu")]


def test_a_closed_seat_evaluates_nothing_and_closes_once(random_extractor) -> None:
    evaluator = BatchedEvaluator()
    seat = evaluator.seat()
    assert isinstance(seat, BatchSeat)
    seat.close()
    seat.close()
    config = _configs(steps=(1,))[0]
    with pytest.raises(RuntimeError, match="given up"):
        run(config, extractor=random_extractor, evaluator=seat)
    # The next seat is alone at the evaluator: its run is not kept waiting by the closed one.
    assert len(run(config, extractor=random_extractor, evaluator=evaluator.seat()).history) == 1
    assert evaluator.batch_sizes == Counter({1: 1})


def test_run_batch_wants_one_callback_and_one_cancel_per_run(random_extractor) -> None:
    with pytest.raises(ValueError, match="one on_progress"):
        run_batch(_configs(steps=(1, 1)), extractor=random_extractor, cancel=[None])


def test_batch_key_groups_runs_that_share_every_pass() -> None:
    base = small_config(steps=5, size=64, content=_picture(1, 32, 64))
    key = batch_key(base)
    assert isinstance(key, BatchKey)
    assert key.shapes == ((32, 64),) and key.deepest_layer == "relu2_2" and key.device == "cpu"
    assert key.precision == choose_precision(torch.device("cpu"), "lbfgs", 64)
    # What a run's own objective holds never matters: images of one shape, seeds, steps, weights of the terms.
    for same in (
        replace(base, content=_picture(2, 32, 64), style=_picture(3), seed=4, steps=50, alpha=3.0, tv_weight=0.1),
        replace(base, content=_picture(5, 64, 128)),  # scaled to the same shape
    ):
        assert batch_key(same) == key
    for other in (
        replace(base, size=48),
        replace(base, content=_picture(6, 64, 64)),
        replace(base, start_size=32),
        replace(base, style_layers={"relu4_1": 1.0}),
        replace(base, weights="imagenet"),
    ):
        assert batch_key(other) != key
    coarse_to_fine = replace(base, start_size=32)
    loaded = tuple(tuple(scale_images(coarse_to_fine, scale)[1].shape[-2:]) for scale in coarse_to_fine.scales)
    assert batch_key(coarse_to_fine).shapes == loaded and len(loaded) == 3
    with pytest.raises(ImageInputError) as info:
        batch_key(replace(base, content=b"not an image"))
    assert info.value.field == "content"


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_batch_key_precision_is_the_one_each_run_uses(optimizer) -> None:
    config = small_config(optimizer=optimizer, size=64)
    expected: Precision = choose_precision(torch.device("cpu"), optimizer, 64)
    assert batch_key(config).precision == expected == batch_key(config, device="cpu").precision
