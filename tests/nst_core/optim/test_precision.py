"""The precision policy on any machine: the CUDA side by stubbing the device's compute capability, the CPU side by
stubbing whether bfloat16 is fast, so both branches are checked on AVX2-only and AMX CPUs alike."""

from __future__ import annotations

import pytest
import torch

from nst_core import RunCancelled, RunConfig, estimate_run, run
from nst_core.optim import engine, precision
from nst_core.optim.precision import (
    BFLOAT16,
    FLOAT32,
    FLOAT32_CHANNELS_LAST,
    LBFGS_BF16_MIN_SIZE,
    Precision,
    choose_precision,
    cpu_has_fast_bf16,
)
from tests.helpers import striped_config


@pytest.mark.parametrize(
    ("capability", "adam"),
    [((7, 5), FLOAT32_CHANNELS_LAST), ((8, 0), BFLOAT16), ((9, 0), BFLOAT16)],
)
def test_cuda_runs_adam_in_bfloat16_only_where_the_gpu_has_it(monkeypatch, capability, adam) -> None:
    # Turing and older emulate bfloat16 (slower than float32), though is_bf16_supported() says yes.
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    cuda = torch.device("cuda", 0)
    assert choose_precision(cuda, "adam") == adam
    assert choose_precision(cuda, "lbfgs") == FLOAT32_CHANNELS_LAST  # L-BFGS needs an accurate objective


@pytest.mark.parametrize("fast", [True, False], ids=["fast-bf16-cpu", "avx2-only-cpu"])
def test_cpu_runs_lbfgs_in_bfloat16_from_the_measured_size_up_where_bfloat16_is_fast(monkeypatch, fast) -> None:
    monkeypatch.setattr(precision, "cpu_has_fast_bf16", lambda: fast)
    cpu = torch.device("cpu")
    below = choose_precision(cpu, "lbfgs", LBFGS_BF16_MIN_SIZE - 1)
    assert below == choose_precision(cpu, "lbfgs") == (FLOAT32_CHANNELS_LAST if fast else FLOAT32)  # None: unknown
    assert choose_precision(cpu, "lbfgs", LBFGS_BF16_MIN_SIZE) == (BFLOAT16 if fast else FLOAT32)
    assert choose_precision(cpu, "adam", 64) == (BFLOAT16 if fast else FLOAT32)


def test_bfloat16_is_not_fast_where_torch_dispatches_to_avx2_kernels(monkeypatch) -> None:
    # ATEN_CPU_CAPABILITY=avx2 (the AVX2 emulation of bench/optimize.py) on a CPU that has AMX.
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True)
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX2")
    assert not cpu_has_fast_bf16() and choose_precision(torch.device("cpu"), "adam") == FLOAT32


@pytest.mark.parametrize("size", [LBFGS_BF16_MIN_SIZE - 16, LBFGS_BF16_MIN_SIZE])
def test_a_run_and_its_estimate_take_the_precision_of_its_size(monkeypatch, random_extractor, size) -> None:
    monkeypatch.setattr(precision, "cpu_has_fast_bf16", lambda: True)
    chosen: list[Precision] = []

    def capture(config: RunConfig, extractor: object, precision: Precision, *args: object) -> None:
        chosen.append(precision)
        raise RunCancelled("captured")

    monkeypatch.setattr(engine, "_optimise", capture)
    config = RunConfig(content="chelsea", style="orange_strokes", size=size, weights="random", device="cpu")
    with pytest.raises(RunCancelled):
        run(config, extractor=random_extractor)
    expected = BFLOAT16 if size >= LBFGS_BF16_MIN_SIZE else FLOAT32_CHANNELS_LAST
    assert chosen == [expected] and estimate_run(config).precision == str(expected)


def test_precision_policy_keeps_float32_unless_bf16_is_fast(random_extractor) -> None:
    fast = cpu_has_fast_bf16()
    assert choose_precision(torch.device("cpu"), "adam") == (BFLOAT16 if fast else FLOAT32)
    assert choose_precision(torch.device("cpu"), "lbfgs") == (FLOAT32_CHANNELS_LAST if fast else FLOAT32)
    cfg = striped_config(32, 1, seed=6, style_layers={"relu1_1": 0.3, "relu2_1": 0.3, "relu3_1": 0.4})
    full = run(cfg, extractor=random_extractor, precision=FLOAT32).history[0]
    reduced = run(cfg, extractor=random_extractor, precision=BFLOAT16)
    assert reduced.precision == "bfloat16 autocast, channels-last"
    # Reported costs stay float32 arithmetic on (bfloat16) activations: close to the float32 ones.
    assert reduced.history[0].J_style == pytest.approx(full.J_style, rel=0.05)
