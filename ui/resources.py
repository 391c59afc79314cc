"""Streamlit caches around the core: the model, the executor, the weights download, activations and
Gram views, each shared by the whole process.

Every cache is keyed by an image's ``digest`` (a hash of all its bytes), the layer, the weights, the
device and the analysis size, never by an array: Streamlit hashes large arrays from a sample only.

Pages analyse an image at the size the Run form will use (``analysis_side``), from its decoded original
through ``nst_core.load_image``'s resampling: the pixels the command line and a run use at that size.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import streamlit as st
import torch
from torch import Tensor

from nst_core import Executor, OutOfMemoryError, VGGExtractor, load_extractor
from nst_core.activations import ActivationStore, rgb_array
from nst_core.gram_views import Ordering, View, channel_order, gram_view
from nst_core.layers import LAYER_CHANNELS, RELU_LAYERS
from nst_core.serve import executor_from_env
from nst_core.weights_download import WeightsDownload

from .state import PickedImage, current_device, current_weights

ACTIVATION_BUDGET_BYTES: Final = 1024 * 2**20
"""Activations kept in memory for the whole process; the least recently used go first."""


@st.cache_resource(show_spinner="Loading VGG19…", max_entries=4)
def _extractor(weights: str, device: str) -> VGGExtractor:
    return load_extractor(weights, device=device)


def get_extractor() -> VGGExtractor:
    """The VGG19 extractor for the session's weights and device, loaded once per process."""
    return _extractor(current_weights(), current_device())


@st.cache_resource(show_spinner=False, on_release=lambda executor: executor.shutdown(wait=False, cancel=True))
def get_executor() -> Executor:
    """The process-wide run executor: one queue of jobs shared by every session, on threads or on Ray as
    ``STYLE_LENS_EXECUTOR`` says (``nst_core.serve.executor_from_env``). ``get_executor.clear()`` shuts it
    down (tests that change the queue's limits start a fresh one)."""
    return executor_from_env()


@st.cache_resource(show_spinner=False)
def weights_download() -> WeightsDownload:
    """The one download of this process: sessions that click at once share it."""
    return WeightsDownload()


def analysis_side() -> int:
    """The longest side the analysis pages work at: the Size of the Run form (``ui.run_form.planned_size``)."""
    from .run_form import planned_size  # the form imports the store, which imports this module

    return planned_size()


def analysis_shape(image: PickedImage, side: int | None = None) -> tuple[int, int]:
    """(H, W) at which ``image`` is analysed: ``load_image``'s shape at ``side`` (default ``analysis_side``)."""
    return image.original.shape_at(side or analysis_side())


def analysed_pixels(image: PickedImage, shape: tuple[int, int] | None = None) -> Tensor:
    """The (1, 3, H, W) pixels the network sees: ``nst_core.load_image(source, max_side=analysis_side())``, or the
    original resampled to ``shape`` in the same way (so that G has the content's shape in the lesson)."""
    return image.original.resized(*(shape or analysis_shape(image)))


@st.cache_resource(show_spinner=False)
def _activation_store() -> ActivationStore:
    return ActivationStore(ACTIVATION_BUDGET_BYTES)


def analysed_rgb(image: PickedImage, shape: tuple[int, int] | None = None) -> np.ndarray:
    """The pixels the network sees, (H, W, 3) uint8 at ``shape`` (default ``analysis_shape``)."""
    return rgb_array(analysed_pixels(image, shape))


def activations(image: PickedImage, layers: Sequence[str], shape: tuple[int, int] | None = None) -> dict[str, Tensor]:
    """{layer: activations (n_C, n_H, n_W) float32 on the CPU} of ``image`` resized to ``shape``
    (default ``analysis_shape``), computed in one forward pass together with every ReLU layer and kept
    in a process-wide LRU store. Read-only."""
    shape = shape or analysis_shape(image)
    store = _activation_store()
    found = {layer: store.get(_key(image, layer, shape)) for layer in layers}
    if any(value is None for value in found.values()):
        # The deepest layers cost most of a forward pass, so one pass keeps every ReLU layer: after it,
        # switching layers never runs the network again.
        wanted = list(dict.fromkeys([*layers, *RELU_LAYERS]))
        extractor = get_extractor()
        try:
            with st.spinner("Computing VGG19 activations…"), torch.inference_mode():
                pixels = analysed_pixels(image, shape).to(extractor.device)
                computed = extractor(pixels, wanted)
        except torch.cuda.OutOfMemoryError:
            raise OutOfMemoryError(
                f"The GPU ran out of memory computing the activations of a {shape[1]} × {shape[0]} image.",
                "Choose the CPU in the sidebar, or the class demo preset (smaller images).",
            ) from None
        for layer in wanted:
            value = computed[layer][0].to("cpu", torch.float32).contiguous()
            store.put(_key(image, layer, shape), value)
            if layer in found:
                found[layer] = value
    return found  # type: ignore[return-value]


def layer_activations(image: PickedImage, layer: str, shape: tuple[int, int] | None = None) -> Tensor:
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
