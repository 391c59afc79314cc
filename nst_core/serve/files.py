"""A finished run as a set of named files: what the ZIP download holds and what a stored run's folder holds.

One format for both, so that a downloaded ZIP can be read back into a store (``RunStore.import_archive``)
and a stored run zipped for download without any conversion. Arrays are NumPy ``.npy`` / ``.npz`` files,
always read with ``allow_pickle=False``: a file from elsewhere can hold numbers, never code.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import Any, Final, Protocol

import numpy as np
import torch
from torch import Tensor

from ..errors import ConfigError
from ..images import to_png_bytes
from ..optim.config import RunConfig
from ..optim.result import LossScaling, Snapshot, StepRecord
from .validation import (
    RunDataError,
    check_image_array,
    check_png,
    parse_history,
    read_npy,
    snapshot_arrays,
    target_grams,
)

README_FILE: Final = "README.txt"
HISTORY_FILE: Final = "history.json"
GRAMS_FILE: Final = "grams.npz"
IMAGE_FILE: Final = "result.png"
PIXELS_FILE: Final = "result.npy"
SNAPSHOTS_FILE: Final = "snapshots.npz"
SNAPSHOT_PNG: Final = "snapshots/step_{step:06d}.png"
REQUIRED_FILES: Final = (HISTORY_FILE, GRAMS_FILE, IMAGE_FILE, PIXELS_FILE, SNAPSHOTS_FILE)
_ZIP_DATE: Final = (1980, 1, 1, 0, 0, 0)
_SNAPSHOT_PNG_NAME: Final = re.compile(r"snapshots/step_[0-9]{6,}\.png")

_README: Final = """\
A Style Lens run.

history.json   the run's configuration and every step's costs (J, J_content, J_style, J_style^[l]):
               the formulas' own values.
grams.npz      NumPy arrays, float32 (n_C, n_C), one pair per recorded layer:
               "G_S/<layer>" the style target, "G_G/<layer>" the generated image's at step {step}.
               numpy.load("grams.npz")["G_S/relu3_1"]
result.png     the generated image.
result.npy     the generated image's exact pixels, float32 (1, 3, H, W) in [0, 1].
snapshots.npz  every snapshot: "image/<step>" its exact pixels, "G_G/<step>/<layer>" its Gram matrices.
snapshots/     every snapshot as a PNG.
"""


class RunLike(Protocol):
    """What the files are made from: a ``RunResult`` or a ``StoredRun``."""

    image: Tensor
    snapshots: list[Snapshot]
    style_grams: dict[str, Tensor]

    def to_json(self, indent: int | None = None) -> str: ...


def is_run_file(name: str) -> bool:
    """Whether ``name`` is one of the files a run holds (anything else in an archive is refused)."""
    return name in REQUIRED_FILES or name == README_FILE or _SNAPSHOT_PNG_NAME.fullmatch(name) is not None


def _array(tensor: Tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy().astype(np.float32, copy=False)  # a run's arrays are float32


def _npz(arrays: Mapping[str, np.ndarray], compressed: bool = False) -> bytes:
    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, **arrays)
    return buffer.getvalue()


def run_files(result: RunLike) -> dict[str, bytes]:
    """Every file of the run, by name (names may hold one "/" for the snapshots' folder)."""
    last = result.snapshots[-1] if result.snapshots else None
    targets = {"G_S": result.style_grams, "G_G": {} if last is None else last.grams}
    grams = {f"{kind}/{layer}": _array(g) for kind, by_layer in targets.items() for layer, g in by_layer.items()}
    snapshot_arrays: dict[str, np.ndarray] = {}
    pixels = io.BytesIO()
    np.save(pixels, _array(result.image), allow_pickle=False)
    files = {
        README_FILE: _README.format(step=last.step if last is not None else "(none recorded)").encode(),
        HISTORY_FILE: result.to_json().encode(),
        GRAMS_FILE: _npz(grams, compressed=True),
        IMAGE_FILE: to_png_bytes(result.image),
        PIXELS_FILE: pixels.getvalue(),
    }
    for snapshot in result.snapshots:
        snapshot_arrays[f"image/{snapshot.step}"] = _array(snapshot.image)
        snapshot_arrays.update({f"G_G/{snapshot.step}/{layer}": _array(g) for layer, g in snapshot.grams.items()})
        files[SNAPSHOT_PNG.format(step=snapshot.step)] = to_png_bytes(snapshot.image)
    files[SNAPSHOTS_FILE] = _npz(snapshot_arrays)
    return files


def zip_files(files: Mapping[str, bytes]) -> bytes:
    """The files as one ZIP (deflated): README first, then by name, with a fixed date, so that the same
    run always gives the same bytes (a stored run's ZIP equals the download of the run it stored)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files, key=lambda name: (name != README_FILE, name)):
            archive.writestr(zipfile.ZipInfo(name, date_time=_ZIP_DATE), files[name], zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


# Reading back. Every reader takes the raw bytes of one file, checks it (``validation``) and raises
# ``RunDataError`` naming the file and the problem; the store turns it into its typed error.


def read_history(data: bytes) -> dict[str, Any]:
    """history.json, its schema and its settings checked (``RunConfig.validate_settings``)."""
    document = parse_history(data)
    try:
        config_from_description(document["config"]).validate_settings()
    except (ConfigError, TypeError) as error:
        raise RunDataError(f"history.json: config: {error}") from error
    return document


def config_from_description(described: Mapping[str, Any]) -> RunConfig:
    """The ``RunConfig`` that ``RunConfig.describe()`` described: image fields hold the descriptions (an
    example's name, a path, "tensor 1x3xHxW"), never pixels. Unknown keys (a newer version's) are ignored;
    a run stored before spectral coordinates existed was optimised on its pixels."""
    known = {f.name for f in fields(RunConfig)}
    values = {"parameterization": "pixels"} | {name: value for name, value in described.items() if name in known}
    style = values.get("style")
    if isinstance(style, list) and len(style) == 1:
        values["style"] = style[0]
    return RunConfig(**values)


_RECORD_DEFAULTS: Final = {"J_tv": 0.0, "loss_layers": {}, "scale": None}
"""Fields a run stored before they existed lacks: its records read with these."""


def history_from_description(records: list[Mapping[str, Any]]) -> list[StepRecord]:
    return [
        StepRecord(**{f.name: record.get(f.name, _RECORD_DEFAULTS.get(f.name)) for f in fields(StepRecord)})
        for record in records
    ]


def scaling_from_description(described: Mapping[str, Any]) -> LossScaling:
    return LossScaling(
        content=float(described["content"]), style=dict(described["style"]), tv=float(described.get("tv", 0.0))
    )


def read_pixels(data: bytes, size: Sequence[int] | None = None) -> Tensor:
    """result.npy: (1, 3, H, W) float32 in [0, 1], (H, W) = ``size`` (history.json's image_size) when given."""
    array = check_image_array(read_npy(data, PIXELS_FILE), PIXELS_FILE)
    if size is not None and tuple(array.shape[2:]) != tuple(size):
        height, width = array.shape[2:]
        raise RunDataError(f"{PIXELS_FILE} is {width}x{height} px; history.json says {size[1]}x{size[0]}")
    return torch.from_numpy(array)


def read_style_grams(data: bytes) -> dict[str, Tensor]:
    return {layer: torch.from_numpy(g) for layer, g in target_grams(data, GRAMS_FILE)["G_S"].items()}


def read_snapshots(data: bytes, steps: list[int]) -> list[Snapshot]:
    """The snapshots at ``steps`` (history.json's ``snapshot_steps``), in that order."""
    images, grams = snapshot_arrays(data, SNAPSHOTS_FILE, steps)
    return [
        Snapshot(step, torch.from_numpy(images[step]), {layer: torch.from_numpy(g) for layer, g in grams[step].items()})
        for step in steps
    ]


def check_run_files(files: Mapping[str, bytes]) -> dict[str, Any]:
    """Check every file of a run (an archive's members by name) as the pages will read them; return its
    history.json. ``RunDataError`` names the first file that does not hold what this project writes."""
    if missing := [name for name in REQUIRED_FILES if name not in files]:
        raise RunDataError(f"the run has no {', '.join(missing)}")
    document = read_history(files[HISTORY_FILE])
    size = document["image_size"]
    read_pixels(files[PIXELS_FILE], size)
    check_png(files[IMAGE_FILE], IMAGE_FILE, size)
    target_grams(files[GRAMS_FILE], GRAMS_FILE)
    steps = document["snapshot_steps"]
    snapshot_arrays(files[SNAPSHOTS_FILE], SNAPSHOTS_FILE, steps)
    for name, data in files.items():
        if _SNAPSHOT_PNG_NAME.fullmatch(name):
            if int(name.removeprefix("snapshots/step_").removesuffix(".png")) not in steps:
                raise RunDataError(f"{name} is the picture of a step history.json does not list")
            check_png(data, name)
    return document


def run_archive(result: RunLike) -> bytes:
    """The run as a ZIP of its ``run_files`` (their README says what each holds); ``RunStore.import_archive``
    reads it back."""
    return zip_files(run_files(result))
