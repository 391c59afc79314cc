"""Old path of ``nst_core.runs.export``, kept so that existing imports keep working."""

from .runs.export import GRAMS_FILE, HISTORY_FILE, IMAGE_FILE, README_FILE, run_archive  # noqa: F401
