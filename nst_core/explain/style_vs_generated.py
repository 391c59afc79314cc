"""How far a run's generated Gram matrices are from the style's, in the numbers the Style vs generated page
shows."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..optim.result import StepRecord


def relative_gram_difference(g_S: np.ndarray, g_G: np.ndarray) -> float:
    """‖G_G − G_S‖_F / ‖G_S‖_F: 0 when the generated image has the style's statistics at this layer
    (the plain norm of G_G when G_S is all zero)."""
    return float(np.linalg.norm(g_G - g_S) / (np.linalg.norm(g_S) or 1.0))


def record_at(history: Sequence[StepRecord], step: int) -> StepRecord:
    """The history record of ``step``, else the last one before it (the first if none is)."""
    before = [record for record in history if record.step <= step]
    return before[-1] if before else history[0]
