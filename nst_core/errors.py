"""Typed errors of the core: every user-facing failure is one of these, with a message a user understands."""

from __future__ import annotations


class NSTError(Exception):
    """Base class of every error raised on purpose by ``nst_core``."""


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


class RunNotFoundError(NSTError, LookupError):
    """No stored run (or stored image) has this id: unknown, malformed or not an id at all."""


class StoredRunError(RunNotFoundError):
    """A stored run exists but its files are missing or damaged; other runs are unaffected."""


class ArchiveError(NSTError, ValueError):
    """A run archive (ZIP) cannot be imported: not a ZIP, too large, or holding files a run never holds."""
