"""A run's generated Gram matrices against the style's, for the Style vs generated page: which of them the
run recorded, and how far apart they are."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..optim.result import RunResult, Snapshot, StepRecord


def gram_snapshots(result: RunResult) -> list[Snapshot]:
    """The run's snapshots that recorded Gram matrices G_G, in step order (a ``StoredRun`` works too)."""
    return [snapshot for snapshot in result.snapshots if snapshot.grams]


def compared_layers(result: RunResult) -> list[str]:
    """The layers whose G_G the run's last Gram snapshot holds and whose target G_S the run kept: those that
    can be set side by side; none without a Gram snapshot."""
    snapshots = gram_snapshots(result)
    return [layer for layer in snapshots[-1].grams if layer in result.style_grams] if snapshots else []


def relative_gram_difference(g_S: np.ndarray, g_G: np.ndarray) -> float:
    """‖G_G − G_S‖_F / ‖G_S‖_F: 0 when the generated image has the style's statistics at this layer
    (the plain norm of G_G when G_S is all zero)."""
    return float(np.linalg.norm(g_G - g_S) / (np.linalg.norm(g_S) or 1.0))


def record_at(history: Sequence[StepRecord], step: int) -> StepRecord:
    """The history record of ``step``, else the last one before it (the first if none is)."""
    before = [record for record in history if record.step <= step]
    return before[-1] if before else history[0]
