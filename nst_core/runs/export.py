"""A finished run as one ZIP file to download: its history, its Gram matrices and its picture."""

from __future__ import annotations

import io
import zipfile
from typing import TYPE_CHECKING, Final

import numpy as np

from ..images import to_png_bytes

if TYPE_CHECKING:
    from .result import RunResult

HISTORY_FILE: Final = "history.json"
GRAMS_FILE: Final = "grams.npz"
IMAGE_FILE: Final = "result.png"
README_FILE: Final = "README.txt"
_README: Final = """\
A Style Lens run.

history.json  the run's configuration and every step's costs (J, J_content, J_style, J_style^[l]):
              the formulas' own values.
grams.npz     NumPy arrays, float32 (n_C, n_C), one pair per recorded layer:
              "G_S/<layer>" the style target, "G_G/<layer>" the generated image's at step {step}.
              numpy.load("grams.npz")["G_S/relu3_1"]
result.png    the generated image.
"""


def _grams_npz(result: RunResult) -> tuple[bytes, int | None]:
    """G_S of every layer and, per recorded layer, G_G of the last snapshot; and that snapshot's step."""
    arrays = {f"G_S/{layer}": gram.detach().cpu().numpy() for layer, gram in result.style_grams.items()}
    last = result.snapshots[-1] if result.snapshots else None
    if last is not None:
        arrays.update({f"G_G/{layer}": gram.detach().cpu().numpy() for layer, gram in last.grams.items()})
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **{name: array.astype(np.float32, copy=False) for name, array in arrays.items()})
    return buffer.getvalue(), None if last is None else last.step


def run_archive(result: RunResult) -> bytes:
    """The run as a ZIP: ``history.json`` (``result.to_json()``), ``grams.npz`` (the style targets G_S
    and the last snapshot's G_G per layer), ``result.png`` and a README saying what each file holds."""
    grams, step = _grams_npz(result)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(README_FILE, _README.format(step=step if step is not None else "(none recorded)"))
        archive.writestr(HISTORY_FILE, result.to_json())
        archive.writestr(GRAMS_FILE, grams)
        archive.writestr(IMAGE_FILE, to_png_bytes(result.image))
    return buffer.getvalue()
