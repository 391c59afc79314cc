"""Where VGG19 weights come from: torchvision's ImageNet weights, a local state dict, or a seeded init.

Every way weights can be unusable ends in a ``WeightsError`` that says why and what to do. The ImageNet
file is downloaded into torch's hub cache (where torchvision puts it, so either one reuses the other's
copy) through a temporary file, so that the cache only ever holds a verified, loadable file.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import pickle
import re
import shutil
import threading
import urllib.error
import urllib.request
import uuid
import zipfile
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import BinaryIO, Final
from urllib.parse import urlparse

import torch
from torch import Tensor, nn
from torchvision.models import VGG19_Weights
from torchvision.models.vgg import cfgs, make_layers

from .errors import WeightsError

ProgressCallback = Callable[[int, int | None], None]

IMAGENET_WEIGHTS: Final = VGG19_Weights.IMAGENET1K_V1
DEFAULT_WEIGHTS_URL: Final[str] = IMAGENET_WEIGHTS.url
WEIGHTS_URL_ENV: Final = "NST_VGG19_WEIGHTS_URL"
# Seconds without a byte from the server before a download counts as failed.
DOWNLOAD_TIMEOUT_S: Final = 30.0
# 1 MiB reads: about 550 progress calls for the whole file, few enough for a UI to redraw on each.
_CHUNK: Final = 1 << 20
# One download at a time in this process: two sessions asking at once share the first one's file.
_download_lock = threading.Lock()

_OPTIONS: Final = (
    "weights='imagenet' (torchvision's ImageNet VGG19, downloaded once), weights='random' (seeded, untrained, "
    "works offline) or weights=<path of a VGG19 state dict file>"
)


def build_features(pooling: str = "max", device: torch.device | str = "meta") -> nn.Sequential:
    """The VGG19 trunk on ``device`` with UNINITIALISED parameters: load a state dict into it.

    Built on the meta device, so no time and no global random numbers go into an initialisation that
    the state dict overwrites. ReLUs are not in place, so a conv layer's output survives its ReLU.
    """
    with torch.device("meta"):
        features = make_layers(cfgs["E"], batch_norm=False)
    for i, module in enumerate(features):
        if isinstance(module, nn.ReLU):
            features[i] = nn.ReLU(inplace=False)
        elif isinstance(module, nn.MaxPool2d) and pooling == "avg":
            features[i] = nn.AvgPool2d(kernel_size=2, stride=2)
    return features if torch.device(device).type == "meta" else features.to_empty(device=device)


@cache
def trunk_shapes() -> dict[str, tuple[int, ...]]:
    """Key -> shape of every parameter of the trunk, keyed like ``vgg19().features`` ("0.weight", ...)."""
    return {key: tuple(value.shape) for key, value in build_features().state_dict().items()}


def random_state_dict(seed: int = 0) -> dict[str, Tensor]:
    """Seeded He initialisation (torchvision's VGG init: normal, fan-out, zero bias) from a private generator."""
    generator = torch.Generator().manual_seed(seed)
    state: dict[str, Tensor] = {}
    for key, shape in trunk_shapes().items():
        if key.endswith(".weight"):
            fan_out = shape[0] * shape[2] * shape[3]
            state[key] = torch.empty(shape).normal_(0.0, (2.0 / fan_out) ** 0.5, generator=generator)
        else:
            state[key] = torch.zeros(shape)
    return state


def imagenet_weights_url(weights_url: str | None = None) -> str:
    """The URL of the ImageNet weights: ``weights_url``, else $NST_VGG19_WEIGHTS_URL, else torchvision's."""
    return weights_url or os.environ.get(WEIGHTS_URL_ENV) or DEFAULT_WEIGHTS_URL


def imagenet_cache_path(weights_url: str | None = None) -> Path:
    """Where the ImageNet weights live once downloaded: ``<torch hub dir>/checkpoints/<file name of the URL>``."""
    url = imagenet_weights_url(weights_url)
    if not (name := os.path.basename(urlparse(url).path)):
        raise WeightsError(f"The weights URL {url} does not end in a file name (like .../vgg19-dcbb9e9d.pth).")
    return Path(torch.hub.get_dir()) / "checkpoints" / name


def imagenet_weights_cached(weights_url: str | None = None) -> bool:
    """Whether "imagenet" loads without a download (no network is touched)."""
    return imagenet_cache_path(weights_url).is_file()


def resolve_weights(
    weights: str | Path,
    progress: ProgressCallback | None = None,
    seed: int = 0,
    weights_url: str | None = None,
) -> tuple[dict[str, Tensor], str]:
    """Return (trunk state dict keyed "0.weight" ..., a sentence naming the weights).

    ``progress(done_bytes, total_bytes | None)`` is called while "imagenet" downloads (not when cached);
    an exception raised by it aborts the download and propagates, leaving nothing in the cache.
    """
    if weights == "random":
        return random_state_dict(seed), f"random VGG19 weights (seeded initialisation, seed {seed}), not trained"
    if weights == "imagenet":
        url = imagenet_weights_url(weights_url)
        source = "VGG19 ImageNet weights (torchvision IMAGENET1K_V1)"
        return _imagenet_state(url, progress), source if url == DEFAULT_WEIGHTS_URL else f"{source} from {url}"
    return _local_state(weights), f"VGG19 weights from {Path(weights).name}"


def features_only(state: Mapping[str, object]) -> dict[str, object]:
    """Keep the trunk's keys, accepting full-model keys ("features.0.weight") or trunk keys ("0.weight")."""
    if any(key.startswith("features.") for key in state):
        return {key.removeprefix("features."): value for key, value in state.items() if key.startswith("features.")}
    return dict(state)


def _local_state(weights: str | Path) -> dict[str, Tensor]:
    path = Path(weights).expanduser()
    if path.is_dir():
        raise WeightsError(f"{path} is a folder; weights= needs the path of a VGG19 state dict file (.pth).")
    if not path.exists():
        looks_like_path = isinstance(weights, Path) or bool(path.suffix) or len(path.parts) > 1
        if not looks_like_path:
            raise WeightsError(f"Unknown weights {weights!r}: use {_OPTIONS}.")
        raise WeightsError(f"No weights file at {path.absolute()}. Use {_OPTIONS}.")
    try:
        return _read_trunk(path)
    except WeightsError as exc:
        raise WeightsError(f"Cannot use the weights file {path}: {exc}.") from None


def _imagenet_state(url: str, progress: ProgressCallback | None) -> dict[str, Tensor]:
    path = imagenet_cache_path(url)
    with _download_lock:
        if not path.is_file():
            return _download(url, path, progress)
    try:
        return _read_trunk(path)
    except WeightsError as exc:
        raise WeightsError(
            f"The cached VGG19 ImageNet weights {path} are unusable: {exc}. Delete that file so that they are "
            f"downloaded again (or put a good copy there), or use weights='random'."
        ) from None


def _download(url: str, path: Path, progress: ProgressCallback | None) -> dict[str, Tensor]:
    """Fetch ``url`` to a temporary file beside ``path``; only a verified, loadable file is moved into place."""
    size_mb = IMAGENET_WEIGHTS.meta.get("_file_size")
    what = f"the VGG19 ImageNet weights ({size_mb:.0f} MB)" if size_mb else "the VGG19 ImageNet weights"
    advice = (
        f"Put the file {path.name} into {path.parent} or pass weights=<path of a VGG19 state dict>, "
        f"or use weights='random'."
    )
    # Same permissions as any file the user creates (unlike tempfile's 0600), as torch.hub does.
    tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        out = open(tmp, "xb")  # noqa: SIM115 - closed below, before the file is read back
    except OSError as exc:
        raise WeightsError(
            f"Cannot write {what} into {path.parent} ({exc.strerror or exc}). Set TORCH_HOME to a writable "
            f"folder. {advice}"
        ) from None
    try:
        with out:
            digest = _fetch(url, out, progress, what, advice)
        # torch.hub's convention: a name like "vgg19-dcbb9e9d.pth" carries a prefix of the file's SHA-256.
        expected = torch.hub.HASH_REGEX.search(path.name)
        if expected and not digest.startswith(expected.group(1)):
            raise WeightsError(
                f"The file downloaded from {url} is not the expected one: its SHA-256 starts with "
                f"{digest[: len(expected.group(1))]} but its name {path.name} says {expected.group(1)} (a damaged "
                f"download, or another file at that address); nothing was kept. Try again later. {advice}"
            )
        try:
            state = _read_trunk(tmp)
        except WeightsError as exc:
            raise WeightsError(
                f"The file downloaded from {url} is unusable: {exc}; nothing was kept. {advice}"
            ) from None
        os.replace(tmp, path)
        return state
    finally:
        tmp.unlink(missing_ok=True)


def _fetch(url: str, out: BinaryIO, progress: ProgressCallback | None, what: str, advice: str) -> str:
    """Stream ``url`` into ``out`` with progress reports; return the SHA-256 hex digest of what came."""
    sha256 = hashlib.sha256()
    request = urllib.request.Request(url, headers={"User-Agent": "style-lens"})
    try:
        with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT_S) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            if total is not None:
                _check_free_space(Path(out.name).parent, total, what)
            done = 0
            if progress is not None:
                progress(0, total)
            while chunk := response.read(_CHUNK):
                try:
                    out.write(chunk)
                except OSError as exc:
                    raise WeightsError(
                        f"Cannot save {what} into {Path(out.name).parent} ({exc.strerror or exc}). Free some disk "
                        f"space or set TORCH_HOME to another folder, or use weights='random'."
                    ) from None
                sha256.update(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
    except urllib.error.HTTPError as exc:
        raise WeightsError(f"Cannot download {what}: {url} answered HTTP {exc.code} {exc.reason}. {advice}") from None
    except http.client.HTTPException as exc:
        raise WeightsError(f"The download of {what} from {url} was interrupted ({exc!r}). {advice}") from None
    except OSError as exc:  # URLError, refused or reset connections, DNS failures, timeouts
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise WeightsError(f"No network to download {what} from {url} ({reason}). {advice}") from None
    if total is not None and done != total:
        raise WeightsError(
            f"The download of {what} from {url} was interrupted after {done} of {total} bytes. Try again. {advice}"
        )
    return sha256.hexdigest()


def _check_free_space(folder: Path, needed: int, what: str) -> None:
    if (free := shutil.disk_usage(folder).free) < needed:
        raise WeightsError(
            f"Not enough disk space for {what}: {needed / 1e6:.0f} MB needed, {free / 1e6:.0f} MB free in "
            f"{folder}. Free some space or set TORCH_HOME to a folder on another disk, or use weights='random'."
        )


def _read_trunk(path: Path) -> dict[str, Tensor]:
    """Load a state dict file safely and return its validated trunk; WeightsError(reason) otherwise."""
    try:
        # mmap (zip-format files only): the classifier, 470 MB of torchvision's 548 MB file, is never read.
        loaded = torch.load(path, map_location="cpu", weights_only=True, mmap=zipfile.is_zipfile(path))
    except OSError as exc:
        raise WeightsError(f"it cannot be read ({exc.strerror or exc})") from None
    except pickle.UnpicklingError as exc:
        unsafe = re.search(r"Unsupported global: GLOBAL (\S+)", str(exc))
        if unsafe is None:  # torch's text here advises weights_only=False, which a damaged file doesn't need
            raise WeightsError(_damaged(None)) from None
        raise WeightsError(
            f"it holds pickled Python objects ({unsafe.group(1)}), which are not loaded because unpickling can run "
            f"arbitrary code; save only the tensors with torch.save(model.state_dict(), path)"
        ) from None
    except Exception as exc:  # torch.load fails on damaged files with many exception types
        raise WeightsError(_damaged(exc)) from None
    if not isinstance(loaded, Mapping):
        raise WeightsError(f"it holds a {type(loaded).__name__}, not a state dict")
    trunk = features_only(loaded)
    _check_trunk(trunk)
    # Copied out of the file mapping: the file can then be replaced or deleted, on every OS.
    return {key: trunk[key].clone() for key in trunk_shapes()}  # type: ignore[union-attr]


def _damaged(exc: BaseException | None) -> str:
    reason = "it is not a PyTorch weights file, or it is damaged or incomplete"
    if exc is None:
        return reason
    detail = str(exc).strip()
    return f"{reason} ({detail.splitlines()[0][:200] if detail else type(exc).__name__})"


def _check_trunk(trunk: Mapping[str, object]) -> None:
    expected = trunk_shapes()
    missing = [key for key in expected if key not in trunk]
    unexpected = sorted((key for key in trunk if key not in expected), key=_natural_key)
    problems = [f"missing keys: {_some(missing)}"] if missing else []
    if unexpected:
        problems.append(f"unexpected keys: {_some(unexpected)}")
    for key, shape in expected.items():
        if (value := trunk.get(key)) is None:
            continue
        if not isinstance(value, Tensor) or not value.is_floating_point():
            kind = f"a {value.dtype} tensor" if isinstance(value, Tensor) else f"a {type(value).__name__}"
            problems.append(f"{key} is {kind} but VGG19 needs floating-point weights")
        elif tuple(value.shape) != shape:
            problems.append(f"{key} has shape {tuple(value.shape)} but VGG19 needs {shape}")
    if problems:
        raise WeightsError(
            f"it is not a VGG19 state dict ({'; '.join(problems)}). VGG19 needs the 16 convolutions of "
            f"torchvision's vgg19().features, keyed 'features.0.weight' ... (whole model) "
            "or '0.weight' ... (trunk only)"
        )


def _natural_key(key: str) -> tuple[int, str]:
    head, _, rest = key.partition(".")
    return (int(head), rest) if head.isdigit() else (1 << 30, key)


def _some(keys: list[str], limit: int = 8) -> str:
    shown = ", ".join(keys[:limit])
    return shown if len(keys) <= limit else f"{shown} and {len(keys) - limit} more"
