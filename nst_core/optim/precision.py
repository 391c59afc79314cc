"""Which arithmetic the forward/backward pass uses: reduced precision only where it pays and is accurate.

Measured for this project (``bench/optimize.py``):
- Speed, per forward+backward. CPUs with AMX / AVX512-BF16, 256 px: bfloat16 autocast + channels-last
  0.41x the float32 time, channels-last alone 0.85-0.9x (measured on a Xeon with AMX). AVX2-only CPUs (AMD EPYC
  here): bfloat16 is emulated, 24x *slower* at 64 px; channels-last was 1.15-1.2x slower at 128 px and
  within noise at 256 px, so float32 NCHW.
- Accuracy: J_style^[l] after 100 steps, bfloat16 / float32, worst layer (``bench/optimize.py
  --bf16-check``, chelsea + orange_strokes, random weights, L-BFGS in spectral coordinates). At 256 px
  (``--sizes 256``, rerun 2026-12-06 on the Xeon with AMX, after the Gram matrices moved into the network's pass):
  Adam 0.5%, L-BFGS 3.9%; the floor, float32 channels-last against float32 NCHW (the same arithmetic summed in
  another order), 0.9% and 1.4%: L-BFGS's line search and curvature pairs amplify any rounding difference, so its
  figures move by a few per cent with any change of summation order (one thread instead of two: L-BFGS 3.3%, floor
  5.7%; the code before: 3.0% and 1.2% with two threads, 4.3% and 1.1% with one; rerun after the content cost and the
  canvas's transform were written out: Adam 1.6%, L-BFGS 3.9%, floors 0.5% and 1.3% with two threads, and Adam 1.8%,
  L-BFGS 7.0%, floors 3.1% and 5.7% with one). Below
  256 px, measured before that rework (not rerun): Adam 3.0% (128 px), 2.3% (192); L-BFGS 8.1% (128), 7.5%
  (192), floor 2.3% (128). So Adam runs in bfloat16 at every size, and L-BFGS from ``LBFGS_BF16_MIN_SIZE`` up
  (within the 5% goal; 0.32x the float32 time per step at 256 px in that rerun: 0.085 s against 0.268 s),
  below it in float32 with channels-last.
- CUDA (not measured here: no GPU): Adam in bfloat16 where the GPU has it (Ampere and later), L-BFGS
  in float32 (its size rule is not measured on a GPU); float32 convolutions use cuDNN's TF32 by default.
The costs are computed in float32 from the activations whatever this policy says; the reported J values
are those of the optimiser's own forward pass (see ``StepRecord``), so under bfloat16 they carry its
rounding (~1e-2 relative to a float32 recomputation).
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Final

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


LBFGS_BF16_MIN_SIZE: Final = 256
"""From this longest side up, L-BFGS runs in bfloat16 on CPUs with fast bfloat16 (measured: module docstring)."""

FLOAT32 = Precision()
FLOAT32_CHANNELS_LAST = Precision(channels_last=True)
BFLOAT16 = Precision(torch.bfloat16, channels_last=True)


def cpu_has_fast_bf16() -> bool:
    """AMX tiles or AVX512-BF16: the instructions that make bfloat16 convolutions faster than float32, when torch's
    kernels may use them (``ATEN_CPU_CAPABILITY=avx2``, as ``bench/optimize.py``'s AVX2 emulation sets, says no)."""
    avx512 = torch.backends.cpu.get_cpu_capability().startswith("AVX512")
    return avx512 and bool(torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported())


def cuda_has_fast_bf16(device: torch.device) -> bool:
    """Ampere (compute capability 8) and later. ``torch.cuda.is_bf16_supported()`` also says yes on older
    GPUs, where bfloat16 is emulated and slower than float32."""
    return torch.cuda.get_device_capability(device) >= (8, 0)


def choose_precision(device: torch.device, optimizer: str = "lbfgs", size: int | None = None) -> Precision:
    """The precision of a run with ``optimizer`` whose longest side is ``size`` (None: unknown, the safe choice)."""
    if device.type == "cuda":
        return BFLOAT16 if optimizer == "adam" and cuda_has_fast_bf16(device) else FLOAT32_CHANNELS_LAST
    if device.type == "cpu" and cpu_has_fast_bf16():
        lbfgs_bf16 = size is not None and size >= LBFGS_BF16_MIN_SIZE
        return BFLOAT16 if optimizer == "adam" or lbfgs_bf16 else FLOAT32_CHANNELS_LAST
    return FLOAT32
