"""Which arithmetic the forward/backward pass uses on a device: reduced precision only where it pays.

Measured for this project (``bench/optimize.py``), per forward+backward at 256 px:
- CPUs with AMX / AVX512-BF16: bfloat16 autocast + channels-last 0.41x the float32 time, channels-last
  alone 0.85-0.9x (figures from the issue).
- AVX2-only CPUs (e.g. AMD EPYC Milan): bfloat16 is emulated and 10-20x *slower*; channels-last is no
  faster (oneDNN's blocked layout already serves NCHW), so float32 NCHW is used.
- CUDA: bfloat16 autocast with channels-last where the GPU has bf16 (Ampere and later), else float32
  (cuDNN convolutions use TF32 by default there).
The costs are computed in float32 from the activations whatever this policy says.
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
BFLOAT16 = Precision(torch.bfloat16, channels_last=True)


def cpu_has_fast_bf16() -> bool:
    """AMX tiles or AVX512-BF16: the instructions that make bfloat16 convolutions faster than float32."""
    return bool(torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported())


def choose_precision(device: torch.device) -> Precision:
    if device.type == "cuda":
        return BFLOAT16 if torch.cuda.is_bf16_supported() else Precision(channels_last=True)
    if device.type == "cpu" and cpu_has_fast_bf16():
        return BFLOAT16
    return FLOAT32
