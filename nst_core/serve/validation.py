"""What a run's files must hold before anything reads them: the schema of ``history.json``, and the dtype,
shape and values of every array, checked from the array headers before any array is allocated.

A stored run's folder and an imported ZIP come from a disk or from a stranger; each check names the file
and what is wrong in a ``RunDataError``, which the store turns into its own typed error. A run this
project wrote always passes (``tests/nst_core/serve/test_run_corpus.py`` holds the cases that must not).
"""

from __future__ import annotations

import io
import json
import math
import re
import zipfile
from typing import Any, BinaryIO, Final

import jsonschema
import numpy as np
from PIL import Image

from ..layers import LAYER_CHANNELS, LAYER_INDEX
from ..optim.config import MAX_SIZE, MAX_STEPS, Setting, settings

MAX_ARRAY_BYTES: Final = 1 << 30
"""The most the arrays of one ``.npz`` file may unpack to, whatever their headers claim (npz members are
compressed, so a small file could otherwise claim gigabytes)."""
MAX_TEXT: Final = 4096
"""Longest string a run's description may hold (a title, a device name, an image's description)."""

_STRING: Final = {"type": "string", "maxLength": MAX_TEXT}
_NUMBER: Final = {"type": "number"}
_LAYER_VALUES: Final = {"type": "object", "propertyNames": {"enum": list(LAYER_INDEX)}, "additionalProperties": _NUMBER}
_LAYERS: Final = {"type": "array", "items": {"enum": list(LAYER_INDEX)}, "maxItems": len(LAYER_INDEX)}
_KIND_TYPES: Final = {"int": "integer", "float": "number", "choice": "string"}
# How ``RunConfig.describe()`` writes the fields of kind "other" that are not a string (the images' names).
_OTHER_KINDS: Final[dict[str, dict[str, Any]]] = {
    "style": {"type": "array", "items": _STRING, "minItems": 1, "maxItems": 64},
    "style_blend": {"type": ["array", "null"], "items": _NUMBER},
    "style_layers": _LAYER_VALUES,
    "regions": {"type": ["array", "null"], "items": _STRING, "maxItems": 64},
    "snapshot_layers": {"oneOf": [_LAYERS, {"type": "null"}]},
}


def _field_schema(name: str, declared: Setting) -> dict[str, Any]:
    if declared.kind == "layer":
        return {"enum": list(LAYER_INDEX)}
    if declared.kind == "other":
        return _OTHER_KINDS.get(name, _STRING)
    json_type = _KIND_TYPES[declared.kind]
    schema = {"type": json_type if declared.none is None else [json_type, "null"]}
    return schema | {"maxLength": MAX_TEXT} if declared.kind == "choice" else schema


CONFIG_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    # The fields every stored run has had; a run stored before a later field existed reads with its default.
    "required": ["content", "style", "size", "style_layers", "content_layer", "alpha", "beta", "optimizer", "steps"],
    "properties": {name: _field_schema(name, declared) for name, declared in settings().items()},
}
"""``RunConfig.describe()``: the types, from each field's ``Setting``; ``RunConfig.validate_settings`` then
checks the values."""

STEP_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["step", "J", "J_content", "J_style", "J_style_layers", "elapsed_s", "objective"],
    "properties": {
        "step": {"type": "integer", "minimum": 0, "maximum": MAX_STEPS},
        "J": _NUMBER,
        "J_content": _NUMBER,
        "J_style": _NUMBER,
        "J_style_layers": _LAYER_VALUES,
        "elapsed_s": {"type": "number", "minimum": 0},
        "objective": _NUMBER,
        "J_tv": _NUMBER,
        "loss_layers": _LAYER_VALUES,
        "scale": {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_SIZE},
    },
}

_REQUIRED_FIELDS: Final[dict[str, Any]] = {  # every field of history.json but its "format"
    "config": CONFIG_SCHEMA,
    "weights_source": _STRING,
    "device": _STRING,
    "precision": _STRING,
    "seconds": {"type": "number", "minimum": 0},
    "image_size": {
        "type": "array",
        "items": {"type": "integer", "minimum": 1, "maximum": MAX_SIZE},
        "minItems": 2,
        "maxItems": 2,
    },
    "loss_scaling": {
        "type": "object",
        "required": ["content", "style"],
        "properties": {"content": _NUMBER, "style": _LAYER_VALUES, "tv": _NUMBER},
    },
    "snapshot_steps": {
        "type": "array",
        "items": {"type": "integer", "minimum": 0, "maximum": MAX_STEPS},
        "uniqueItems": True,
        "maxItems": MAX_STEPS + 1,
    },
    "history": {"type": "array", "items": STEP_SCHEMA, "minItems": 1, "maxItems": MAX_STEPS},
}
HISTORY_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "required": list(_REQUIRED_FIELDS),
    "properties": {"format": _STRING, **_REQUIRED_FIELDS},
}
"""``RunResult.to_json()``: every field a page reads, with its type; numbers are finite (``parse_history``)."""

RENAMED_KEYS: Final[dict[tuple[str, ...], dict[str, str]]] = {("loss_scaling",): {"style_layers": "style"}}
"""Keys that earlier versions of history.json wrote under another name: the path of the object that holds
them, then old key -> new key. ``parse_history`` reads a stored or imported run with the new names."""

_VALIDATOR: Final = jsonschema.Draft202012Validator(HISTORY_SCHEMA)
_SNAPSHOT_IMAGE: Final = re.compile(r"image/([0-9]{1,9})")
_SNAPSHOT_GRAM: Final = re.compile(r"G_G/([0-9]{1,9})/(\w{1,16})")
_TARGET_GRAM: Final = re.compile(r"(G_S|G_G)/(\w{1,16})")
_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
_HEADER_READERS: Final = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


class RunDataError(ValueError):
    """A run's file does not hold what this project writes; the message names the file and the problem."""


def _finite(text: str) -> float:
    if not math.isfinite(value := float(text)):
        raise RunDataError(f"history.json holds the number {text[:20]}, which is not finite")
    return value


def _no_constant(name: str) -> float:
    raise RunDataError(f"history.json holds {name}, which is not a finite number")


def parse_history(data: bytes) -> dict[str, Any]:
    """history.json, checked against ``HISTORY_SCHEMA`` (finite numbers only); ``RunDataError`` otherwise."""
    try:
        document = json.loads(data, parse_float=_finite, parse_constant=_no_constant)
    except RunDataError:
        raise
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise RunDataError(f"history.json is not JSON ({error})") from error
    if isinstance(document, dict):
        _rename_keys(document)
    if (error := jsonschema.exceptions.best_match(_VALIDATOR.iter_errors(document))) is not None:
        where = "/".join(map(str, error.absolute_path)) or "the document"
        raise RunDataError(f"history.json: {where}: {error.message[:200]}")
    return document


def _rename_keys(document: dict[str, Any]) -> None:
    """Give the keys of ``RENAMED_KEYS`` their new names in ``document``, in place (a new key already there wins)."""
    for path, names in RENAMED_KEYS.items():
        node: Any = document
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            for old, new in names.items():
                if old in node:
                    node.setdefault(new, node.pop(old))


def _read_npy(stream: BinaryIO, name: str, budget: int) -> np.ndarray:
    """One ``.npy`` stream as a float32 array, refusing any other dtype, a Fortran layout or more than
    ``budget`` bytes before reading its data."""
    try:
        version = np.lib.format.read_magic(stream)
        if version not in _HEADER_READERS:
            raise RunDataError(f"{name} is a .npy file of an unknown version {version}")
        shape, fortran, dtype = _HEADER_READERS[version](stream)
    except RunDataError:
        raise
    except (ValueError, EOFError, OSError, SyntaxError) as error:
        raise RunDataError(f"{name} is not a NumPy array ({error})") from error
    if dtype != np.dtype("<f4") or fortran:
        raise RunDataError(f"{name} holds {dtype} values; a run's arrays are float32")
    size = math.prod(shape) * dtype.itemsize
    if size > budget:
        raise RunDataError(f"{name} claims {size} bytes, more than a run's arrays may hold")
    data = stream.read(size)
    if len(data) != size:
        raise RunDataError(f"{name} is truncated: {len(data)} of its {size} bytes")
    array = np.frombuffer(data, dtype=dtype).reshape(shape).copy()
    if not np.isfinite(array).all():
        raise RunDataError(f"{name} holds values that are not finite (NaN or infinite)")
    return array


def read_npy(data: bytes, name: str) -> np.ndarray:
    return _read_npy(io.BytesIO(data), name, MAX_ARRAY_BYTES)


def read_npz(data: bytes, name: str) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` file by key, each read as ``read_npy`` reads one, all within ``MAX_ARRAY_BYTES``."""
    budget = MAX_ARRAY_BYTES
    arrays: dict[str, np.ndarray] = {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                key = info.filename.removesuffix(".npy")
                if key == info.filename or key in arrays:
                    raise RunDataError(f"{name} holds {info.filename[:60]!r}, not one array per key")
                with archive.open(info) as member:
                    arrays[key] = _read_npy(member, f"{name}[{key[:60]}]", budget)  # type: ignore[arg-type]
                budget -= arrays[key].nbytes
    except RunDataError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, RuntimeError, ValueError) as error:
        raise RunDataError(f"{name} is not a readable .npz file ({error})") from error
    return arrays


def check_image_array(array: np.ndarray, name: str) -> np.ndarray:
    """A (1, 3, H, W) image with values in [0, 1]."""
    if array.ndim != 4 or array.shape[:2] != (1, 3) or not all(1 <= side <= MAX_SIZE for side in array.shape[2:]):
        raise RunDataError(f"{name} holds an array of shape {array.shape}, not an image (1, 3, H, W)")
    if array.size and (array.min() < 0.0 or array.max() > 1.0):
        raise RunDataError(f"{name} holds pixel values outside [0, 1]")
    return array


def check_gram(array: np.ndarray, layer: str, name: str) -> np.ndarray:
    """A Gram matrix of a known layer: (n_C, n_C), n_C that layer's channels."""
    if layer not in LAYER_INDEX:
        raise RunDataError(f"{name} names the layer {layer[:40]!r}, which VGG19 does not have")
    n_c = LAYER_CHANNELS[layer]
    if array.shape != (n_c, n_c):
        raise RunDataError(f"{name} has shape {array.shape}; a Gram matrix of {layer} is ({n_c}, {n_c})")
    return array


def target_grams(data: bytes, name: str) -> dict[str, dict[str, np.ndarray]]:
    """grams.npz: {"G_S": {layer: G}, "G_G": {layer: G}}, every key and shape checked."""
    grams: dict[str, dict[str, np.ndarray]] = {"G_S": {}, "G_G": {}}
    for key, array in read_npz(data, name).items():
        if (match := _TARGET_GRAM.fullmatch(key)) is None:
            raise RunDataError(f"{name} holds {key[:60]!r}, which is neither G_S/<layer> nor G_G/<layer>")
        grams[match[1]][match[2]] = check_gram(array, match[2], f"{name}[{key}]")
    return grams


def snapshot_arrays(
    data: bytes, name: str, steps: list[int]
) -> tuple[dict[int, np.ndarray], dict[int, dict[str, np.ndarray]]]:
    """snapshots.npz: one image per step of ``steps`` (no other) and its Gram matrices, checked."""
    images: dict[int, np.ndarray] = {}
    grams: dict[int, dict[str, np.ndarray]] = {step: {} for step in steps}
    for key, array in read_npz(data, name).items():
        if match := _SNAPSHOT_IMAGE.fullmatch(key):
            step = int(match[1])
            if step not in grams:
                raise RunDataError(f"{name} holds the image of step {step}, which history.json does not list")
            images[step] = check_image_array(array, f"{name}[{key}]")
        elif match := _SNAPSHOT_GRAM.fullmatch(key):
            step = int(match[1])
            if step not in grams:
                raise RunDataError(f"{name} holds Gram matrices of step {step}, which history.json does not list")
            grams[step][match[2]] = check_gram(array, match[2], f"{name}[{key}]")
        else:
            raise RunDataError(f"{name} holds {key[:60]!r}, which is not part of a snapshot")
    if missing := [step for step in steps if step not in images]:
        raise RunDataError(f"{name} has no image for step {missing[0]}, which history.json lists")
    return images, grams


def check_png(data: bytes, name: str, size: tuple[int, int] | None = None) -> None:
    """A PNG file (its header read, not its pixels) of ``size`` (height, width) when given."""
    if not data.startswith(_PNG_SIGNATURE):
        raise RunDataError(f"{name} is not a PNG file")
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            width, height = image.size
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise RunDataError(f"{name} is not a readable PNG file ({error})") from error
    if size is not None and (height, width) != tuple(size):
        raise RunDataError(f"{name} is {width}x{height} px; history.json says {size[1]}x{size[0]}")
