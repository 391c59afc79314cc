"""The estimate follows the pace measured on finished runs: the table's constants are only a prior."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from itertools import pairwise

import pytest
import torch

from nst_core import RunConfig, estimate_run, run
from nst_core.extractor import VGGExtractor
from nst_core.optim import estimate
from nst_core.optim.estimate import PACE_BOUNDS, PACE_MIN_ESTIMATE_S, forget_pace, pace_factor, record_pace
from tests.helpers import smooth_image, striped_config


@pytest.fixture(autouse=True)
def _no_pace() -> Iterator[None]:
    forget_pace()
    yield
    forget_pace()


@pytest.fixture
def config() -> RunConfig:
    return striped_config(32, 3)


def test_later_estimates_follow_the_measured_pace(config: RunConfig) -> None:
    config = replace(config, content="chelsea", size=256, steps=200)
    prior = estimate_run(config)
    assert prior.seconds >= PACE_MIN_ESTIMATE_S
    record_pace("cpu", prior.precision, prior.seconds, 3 * prior.seconds)
    slower = estimate_run(config)
    assert slower.seconds == pytest.approx(3 * prior.seconds)
    assert slower.seconds_per_step == pytest.approx(3 * prior.seconds_per_step)
    assert slower.calibrated and "x3.00 as measured" in slower.note
    assert estimate_run(config, measured_pace=False).seconds == pytest.approx(prior.seconds)
    record_pace("cpu", prior.precision, prior.seconds, prior.seconds)  # the newest run weighs half
    assert pace_factor("cpu", prior.precision) == pytest.approx(2.0)
    assert pace_factor("cuda", prior.precision) is None  # another device keeps the table's figure
    record_pace("cpu", prior.precision, prior.seconds, 1e6 * prior.seconds)
    assert pace_factor("cpu", prior.precision) <= PACE_BOUNDS[1]
    forget_pace()  # in the run's own precision, whichever this CPU chose
    record_pace("cpu", prior.precision, PACE_MIN_ESTIMATE_S / 2, 100.0)  # a tiny run: mostly fixed costs
    assert pace_factor("cpu", prior.precision) is None


def test_a_finished_run_teaches_the_estimate_its_own_time(
    config: RunConfig, random_extractor: VGGExtractor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(estimate, "PACE_MIN_ESTIMATE_S", 0.0)  # a tiny run counts here
    result = run(config, extractor=random_extractor)
    height, width = result.image.shape[-2:]
    prior = estimate_run(config, height, width, measured_pace=False).seconds
    low, high = PACE_BOUNDS
    # With one run measured, the estimate of that same run is its measured time (within the bounds).
    expected = prior * min(high, max(low, result.seconds / prior))
    assert estimate_run(config, height, width).seconds == pytest.approx(expected, rel=1e-6)


def test_a_tensor_contents_shape_is_estimated_not_a_square(config: RunConfig) -> None:
    wide = replace(config, content=torch.rand(1, 3, 300, 600), size=128)  # runs at 64 x 128
    assert estimate_run(wide).seconds == pytest.approx(estimate_run(wide, 64, 128).seconds)
    assert estimate_run(wide).seconds < estimate_run(replace(wide, content="chelsea")).seconds


def test_estimate_grows_with_size_steps_and_lbfgs_history(config) -> None:
    config = replace(config, content=smooth_image(512, 512, 0))  # a smaller content would not be enlarged
    # The prior alone (the autouse fixture forgets the paces recorded by earlier runs of this process: each
    # precision its own, measured on a machine whose load varies, they would scale the sizes differently).
    sizes = [estimate_run(replace(config, size=s)) for s in (64, 128, 256, 512)]
    assert all(a.seconds < b.seconds and a.peak_bytes < b.peak_bytes for a, b in pairwise(sizes))
    assert estimate_run(replace(config, steps=10)).seconds < estimate_run(replace(config, steps=20)).seconds
    assert estimate_run(replace(config, optimizer="adam")).peak_bytes < estimate_run(config).peak_bytes
    assert sizes[0].device == "cpu"


def test_usable_memory_is_the_headroom_share_of_the_free_memory(monkeypatch) -> None:
    monkeypatch.setattr("os.sysconf", lambda name: 2**18 if name == "SC_AVPHYS_PAGES" else 4096)  # 1 GiB free
    assert estimate.usable_memory_bytes(torch.device("cpu")) == int(2**30 * estimate.MEMORY_HEADROOM)
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device: (2**31, 2**34))  # 2 GiB free of 16
    assert estimate.usable_memory_bytes(torch.device("cuda", 0)) == int(2**31 * estimate.MEMORY_HEADROOM)
