"""The CUDA side of the precision policy, checked without a GPU by stubbing the device's compute capability."""

from __future__ import annotations

import pytest
import torch

from nst_core.runs.precision import BFLOAT16, FLOAT32_CHANNELS_LAST, choose_precision


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
