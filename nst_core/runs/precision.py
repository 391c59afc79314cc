"""Which arithmetic the forward/backward pass uses: reduced precision only where it pays and is accurate.

Measured for this project (``bench/optimize.py``):
- Speed, per forward+backward. CPUs with AMX / AVX512-BF16, 256 px: bfloat16 autocast + channels-last
  0.41x the float32 time, channels-last alone 0.85-0.9x (the issue's figures). AVX2-only CPUs (AMD EPYC
  here): bfloat16 is emulated, 24x *slower* at 64 px; channels-last was 1.15-1.2x slower at 128 px and
  within noise at 256 px, so float32 NCHW.
- Accuracy, J_style after 30 steps, bfloat16 / float32 (chelsea + orange_strokes, random weights):
  Adam 1.01 (64 px); L-BFGS 1.15 (64 px) and 1.14 (96 px). L-BFGS's line search and curvature pairs
  need an accurate objective, so only Adam runs in bfloat16 (within the issue's 5% bound); L-BFGS keeps
  float32 (with channels-last where that alone was measured faster).
- CUDA (not measured here: no GPU): the same rule, with bfloat16 where the GPU has it (Ampere and
  later); float32 convolutions use cuDNN's TF32 by default.
The costs are computed in float32 from the activations whatever this policy says; the reported J values
are those of the optimiser's own forward pass (see ``StepRecord``), so under bfloat16 they carry its
rounding (~1e-2 relative to a float32 recomputation).
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class Precision:
    """``autocast``: the reduced dtype of the VGG forward pass, or None for float32."""

    autocast: torch.dtype | None = None
    channels_last: bool = False

    def __str__(self) -> str:
        dtype = "float32" if self.autocast is None else f"{str(self.autocast).removeprefix('torch.')} autocast"
        return f"{dtype}{', channels-last' if self.channels_last else ''}"

    def context(self, device: torch.device) -> AbstractContextManager[object]:
        if self.autocast is None:
            return nullcontext()
        return torch.autocast(device.type, dtype=self.autocast)

    def prepare(self, image: Tensor) -> Tensor:
        return image.contiguous(memory_format=torch.channels_last) if self.channels_last else image


FLOAT32 = Precision()
FLOAT32_CHANNELS_LAST = Precision(channels_last=True)
BFLOAT16 = Precision(torch.bfloat16, channels_last=True)


def cpu_has_fast_bf16() -> bool:
    """AMX tiles or AVX512-BF16: the instructions that make bfloat16 convolutions faster than float32."""
    return bool(torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported())


def cuda_has_fast_bf16(device: torch.device) -> bool:
    """Ampere (compute capability 8) and later. ``torch.cuda.is_bf16_supported()`` also says yes on older
    GPUs, where bfloat16 is emulated and slower than float32."""
    return torch.cuda.get_device_capability(device) >= (8, 0)


def choose_precision(device: torch.device, optimizer: str = "lbfgs") -> Precision:
    if device.type == "cuda":
        return BFLOAT16 if optimizer == "adam" and cuda_has_fast_bf16(device) else FLOAT32_CHANNELS_LAST
    if device.type == "cpu" and cpu_has_fast_bf16():
        return BFLOAT16 if optimizer == "adam" else FLOAT32_CHANNELS_LAST
    return FLOAT32
