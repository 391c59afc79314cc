"""A finished run as one ZIP file to download: the same files a stored run's folder holds (``runs.files``)."""

from __future__ import annotations

from .files import GRAMS_FILE, HISTORY_FILE, IMAGE_FILE, README_FILE, RunLike, run_files, zip_files

__all__ = ["GRAMS_FILE", "HISTORY_FILE", "IMAGE_FILE", "README_FILE", "run_archive"]


def run_archive(result: RunLike) -> bytes:
    """The run as a ZIP: ``history.json`` (``result.to_json()``), ``grams.npz`` (the style targets G_S
    and the last snapshot's G_G per layer), ``result.png``, the exact pixels, every snapshot, and a README
    saying what each file holds. ``RunStore.import_archive`` reads it back."""
    return zip_files(run_files(result))
