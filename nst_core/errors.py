"""Typed errors of the core: every user-facing failure is one of these, with a message a user understands."""

from __future__ import annotations

import math
from typing import Any


class NSTError(Exception):
    """Base class of every error raised on purpose by ``nst_core``."""

    def __reduce__(self) -> tuple[Any, ...]:
        # Subclasses take other arguments than their message, so pickle's default (calling the class with
        # ``args``) would fail or lose fields: rebuild from the state instead. Errors then cross process
        # boundaries (a Ray worker's failure reaches the app) intact.
        return (_rebuild, (type(self), self.args, self.__dict__))


def _rebuild(cls: type[NSTError], args: tuple[Any, ...], state: dict[str, Any]) -> NSTError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class ImageError(NSTError, ValueError):
    """An input image cannot be used (corrupt, truncated, not an image, too large, unsupported mode)."""


class WeightsError(NSTError):
    """Model weights cannot be had or are not VGG19 weights; the message says why and what to do."""


class ConfigError(NSTError, ValueError):
    """A run configuration field is invalid; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class RunError(NSTError):
    """An optimisation run stopped before its end; ``hint`` says what to try."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(f"{message} {hint}".strip())
        self.hint = hint


class NonFiniteLossError(RunError):
    """The loss became NaN or infinite."""


class OutOfMemoryError(RunError):
    """The device ran out of memory; ``suggested_size`` is a size expected to fit."""

    def __init__(self, message: str, hint: str = "", suggested_size: int | None = None) -> None:
        super().__init__(message, hint)
        self.suggested_size = suggested_size


class RunCancelled(RunError):
    """The run was cancelled by its owner."""


class AdmissionError(NSTError):
    """A run was refused by the server's fair-queue limits; the message says why and what to do."""


class TooManyRunsError(AdmissionError):
    """The visitor already has ``limit`` runs queued or running (``STYLE_LENS_MAX_ACTIVE``)."""

    def __init__(self, active: int, limit: int) -> None:
        runs = "run" if active == 1 else "runs"
        super().__init__(
            f"You already have {active} {runs} queued or running, the most one visitor may have on this server "
            f"({limit}): wait until it finishes, or stop it, then launch again."
        )
        self.active = active
        self.limit = limit


class QueueFullError(AdmissionError):
    """``limit`` runs are already waiting (``STYLE_LENS_MAX_QUEUE``); ``wait_s`` estimates the backlog."""

    def __init__(self, limit: int, wait_s: float) -> None:
        self.limit = limit
        self.wait_s = wait_s
        self.wait_minutes = max(1, math.ceil(wait_s / 60))
        super().__init__(
            f"The queue is full, about {self.wait_minutes} min of runs ahead ({limit} runs are waiting, the most "
            "this server takes): try again later."
        )


class WorkerLostError(RunError):
    """The process running the job (a Ray worker) died or became unreachable before the job ended."""


class ExecutorUnavailableError(NSTError):
    """The chosen executor cannot be used here (its package is missing, or its cluster cannot be joined)."""


class RunNotFoundError(NSTError, LookupError):
    """No stored run (or stored image) has this id: unknown, malformed or not an id at all."""


class StoredRunError(RunNotFoundError):
    """A stored run exists but its files are missing or damaged; other runs are unaffected."""


class StoreUnavailableError(NSTError):
    """The run store's index cannot be opened or written (its data folder is gone, unwritable or full)."""


class StoreFullError(StoreUnavailableError):
    """The data folder cannot take a write (its disk or quota is full, or it is read-only); nothing of that
    write is left behind, and what is stored already can still be read."""


class ArchiveError(NSTError, ValueError):
    """A run archive (ZIP) cannot be imported: not a ZIP, too large, or holding files a run never holds."""
