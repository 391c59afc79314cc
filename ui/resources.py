"""Process-wide resources and cached computations: the model, the executor, the weights download,
activations and Gram views.

Every cache is keyed by an image's ``digest`` (a hash of all its bytes), the layer, the weights, the
device and the analysis size, never by an array: Streamlit hashes large arrays from a sample only.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import streamlit as st
import torch
import torch.nn.functional as F
from torch import Tensor

from nst_core import Executor, OutOfMemoryError, ThreadExecutor, VGGExtractor, load_extractor
from nst_core.gram_views import Ordering, View, channel_order, gram_view
from nst_core.layers import LAYER_CHANNELS, RELU_LAYERS
from nst_core.weights import imagenet_weights_cached

from .state import PickedImage, current_device, current_preset, current_weights

ACTIVATION_BUDGET_BYTES: Final = 1024 * 2**20
"""Activations kept in memory for the whole process; the least recently used go first."""


@st.cache_resource(show_spinner="Loading VGG19…", max_entries=4)
def _extractor(weights: str, device: str) -> VGGExtractor:
    return load_extractor(weights, device=device)


def get_extractor() -> VGGExtractor:
    """The VGG19 extractor for the session's weights and device, loaded once per process."""
    return _extractor(current_weights(), current_device())


@st.cache_resource(show_spinner=False)
def get_executor() -> Executor:
    """The process-wide run executor: one queue of jobs shared by every session."""
    return ThreadExecutor.from_env()


# ---------------------------------------------------------------- ImageNet weights download


@dataclass(frozen=True)
class DownloadStatus:
    running: bool
    done_bytes: int
    total_bytes: int | None
    error: str | None
    finished: bool  # True once the weights are on disk


class WeightsDownload:
    """Fetches the ImageNet weights in a background thread; pages poll ``status()``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._done, self._total, self._error = 0, None, None

    def start(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._done, self._total, self._error = 0, None, None
            self._thread = threading.Thread(target=self._run, name="imagenet-weights-download", daemon=True)
            self._thread.start()

    def _progress(self, done: int, total: int | None) -> None:
        with self._lock:
            self._done, self._total = done, total

    def _run(self) -> None:
        try:
            load_extractor("imagenet", device="cpu", progress=self._progress)
        except Exception as exc:  # noqa: BLE001 - a worker thread must report every failure, not die silently
            message = str(exc) or type(exc).__name__
            with self._lock:
                self._error = message

    def status(self) -> DownloadStatus:
        with self._lock:
            running = self._thread is not None and self._thread.is_alive()
            return DownloadStatus(running, self._done, self._total, self._error, imagenet_weights_cached())


@st.cache_resource(show_spinner=False)
def weights_download() -> WeightsDownload:
    """The one download of this process: sessions that click at once share it."""
    return WeightsDownload()


# ---------------------------------------------------------------- activations


def analysis_shape(image: PickedImage, side: int | None = None) -> tuple[int, int]:
    """(H, W) at which ``image`` is analysed: longest side capped at the preset's analysis side."""
    side = side or current_preset().analysis_side
    h, w = image.tensor.shape[-2:]
    scale = min(1.0, side / max(h, w))
    return max(16, round(h * scale)), max(16, round(w * scale))


class ActivationStore:
    """LRU store of activations (n_C, n_H, n_W) keyed by (digest, layer, weights, device, H, W)."""

    def __init__(self, budget_bytes: int) -> None:
        self._budget = budget_bytes
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple, Tensor] = OrderedDict()
        self._bytes = 0

    def get(self, key: tuple) -> Tensor | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: tuple, value: Tensor) -> None:
        size = value.numel() * value.element_size()
        with self._lock:
            if key in self._items:
                return
            self._items[key] = value
            self._bytes += size
            while self._bytes > self._budget and len(self._items) > 1:
                _, old = self._items.popitem(last=False)
                self._bytes -= old.numel() * old.element_size()


@st.cache_resource(show_spinner=False)
def _activation_store() -> ActivationStore:
    return ActivationStore(ACTIVATION_BUDGET_BYTES)


def _resized(image: Tensor, shape: tuple[int, int]) -> Tensor:
    if tuple(image.shape[-2:]) == shape:
        return image
    return F.interpolate(image, size=shape, mode="bilinear", antialias=True, align_corners=False).clamp(0.0, 1.0)


def analysed_rgb(image: PickedImage, shape: tuple[int, int] | None = None) -> np.ndarray:
    """The pixels the network sees, (H, W, 3) uint8 at ``shape`` (default ``analysis_shape``)."""
    pixels = _resized(image.tensor, shape or analysis_shape(image))[0]
    return (pixels.permute(1, 2, 0) * 255.0).round().to(torch.uint8).numpy()


def activations(image: PickedImage, layers: Sequence[str], shape: tuple[int, int] | None = None) -> dict[str, Tensor]:
    """{layer: activations (n_C, n_H, n_W) float32 on the CPU} of ``image`` resized to ``shape``
    (default ``analysis_shape``), computed in one forward pass together with every ReLU layer and kept
    in a process-wide LRU store. Read-only."""
    shape = shape or analysis_shape(image)
    weights, device = current_weights(), current_device()
    store = _activation_store()
    keys = {layer: (image.digest, layer, weights, device, *shape) for layer in layers}
    found = {layer: store.get(key) for layer, key in keys.items()}
    if any(value is None for value in found.values()):
        # The deepest layers cost most of a forward pass, so one pass keeps every ReLU layer: after it,
        # switching layers never runs the network again.
        wanted = list(dict.fromkeys([*layers, *RELU_LAYERS]))
        extractor = get_extractor()
        try:
            with st.spinner("Computing VGG19 activations…"), torch.inference_mode():
                pixels = _resized(image.tensor, shape).to(extractor.device)
                computed = extractor(pixels, wanted)
        except torch.cuda.OutOfMemoryError:
            raise OutOfMemoryError(
                f"The GPU ran out of memory computing the activations of a {shape[1]} × {shape[0]} image.",
                "Choose the CPU in the sidebar, or the class demo preset (smaller images).",
            ) from None
        for layer in wanted:
            value = computed[layer][0].to("cpu", torch.float32).contiguous()
            store.put((image.digest, layer, weights, device, *shape), value)
            if layer in found:
                found[layer] = value
    return {layer: found[layer] for layer in layers}


def layer_activations(image: PickedImage, layer: str, shape: tuple[int, int] | None = None) -> Tensor:
    """Activations (n_C, n_H, n_W) of one layer; see ``activations``."""
    return activations(image, [layer], shape)[layer]


@st.cache_data(show_spinner=False, max_entries=256)
def _view(key: tuple, view: View, _image: PickedImage) -> np.ndarray:
    _, layer, *_, h, w = key
    return gram_view(layer_activations(_image, layer, (h, w)), view).numpy()


@st.cache_data(show_spinner=False, max_entries=128)
def _order(key: tuple, method: Ordering, _image: PickedImage) -> np.ndarray:
    _, layer, *_, h, w = key
    return channel_order(layer_activations(_image, layer, (h, w)), method)


def _key(image: PickedImage, layer: str, shape: tuple[int, int] | None) -> tuple:
    return (image.digest, layer, current_weights(), current_device(), *(shape or analysis_shape(image)))


def gram(image: PickedImage, layer: str, view: View = "raw", shape: tuple[int, int] | None = None) -> np.ndarray:
    """The (n_C, n_C) Gram view of ``image`` at ``layer`` as float32 NumPy, cached."""
    return _view(_key(image, layer, shape), view, image)


def ordering(image: PickedImage, layer: str, method: Ordering, shape: tuple[int, int] | None = None) -> np.ndarray:
    """Channel display order of ``image`` at ``layer`` ("natural" or "clustered" by correlation), cached."""
    if method == "natural":
        return np.arange(LAYER_CHANNELS[layer])
    with st.spinner("Clustering the channels…"):
        return _order(_key(image, layer, shape), method, image)
