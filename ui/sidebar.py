"""The frame around every page (in the sidebar): the images, the weights, the device and the preset."""

from __future__ import annotations

from functools import partial
from typing import Final

import streamlit as st

from nst_core.errors import ImageError, RunNotFoundError
from nst_core.examples import get_example
from nst_core.images import to_pil
from nst_core.weights import imagenet_weights_cached
from nst_core.weights_download import WeightsDownload

from .links import UPLOAD_PREFIX
from .owner import remember_owner
from .pickers import image_uploader
from .resources import get_executor, weights_download
from .run_saver import get_store
from .state import (
    DEFAULT_EXAMPLES,
    PRESETS,
    UPLOADED,
    Slot,
    current_content,
    current_style,
    default_preset,
    device_label,
    example_names,
    gpu_available,
    image_from_upload,
    use_upload,
    weights_pinned_random,
)
from .url_params import initial_choice, note_unknown_choice
from .visitors import keep_visit

WEIGHTS_LABELS: Final = {"imagenet": "VGG19 ImageNet (trained)", "random": "Random VGG19 (untrained)"}
RANDOM_WEIGHTS_NOTE: Final = (
    "**Random weights.** This network was never trained. Its random filters still respond to colours, "
    "edges and textures, so the Gram matrices still measure texture statistics and style transfer still "
    "works, but the pictures look less painterly and no channel is a clean 'vertical line' or 'orange' "
    "detector as in a trained network."
)
_THUMBNAIL_SIDE: Final = 240


def render_frame() -> None:
    with st.sidebar:
        remember_owner()  # first: the cookie is set before anything can be clicked
        for slot, title in (("content", "Content image"), ("style", "Style image")):
            _image_picker(slot, title)
        images = {"content": current_content(), "style": current_style()}
        for column, (caption, image) in zip(st.columns(2), images.items(), strict=True):
            # Any shape is shown, an image too elongated to analyse included.
            original = image.original
            scale = min(1.0, _THUMBNAIL_SIDE / max(original.width, original.height))
            height, width = (max(1, round(side * scale)) for side in (original.height, original.width))
            column.image(to_pil(original.resized(height, width)), caption=caption, width="stretch")
        with st.expander("Upload your own images"):
            for slot in ("content", "style"):
                image_uploader(f"Your {slot} image", key=f"{slot}_file", on_image=partial(use_upload, slot), keep=True)
        st.divider()
        _model_panel()
        preset = st.selectbox("Preset", preset_options(), format_func=lambda k: PRESETS[k].title, key="preset")
        st.caption(PRESETS[preset].description)
        keep_visit()


def _image_picker(slot: Slot, title: str) -> None:
    default = DEFAULT_EXAMPLES[slot]
    labels = {name: get_example(name).title for name in [default, *example_names(slot)]}
    _open_linked_upload(slot)
    if (upload := st.session_state.get(f"{slot}_upload")) is not None:
        # The option's text is what the URL carries: the stored upload's id, never the file's name.
        labels[UPLOADED] = f"{UPLOAD_PREFIX}{upload.source}"
    linked = initial_choice(slot)
    # format_func must not read session state: AppTest replays it outside a script run.
    st.selectbox(title, list(labels), format_func=labels.__getitem__, key=slot, bind="query-params")
    if linked is not None and not linked.startswith(UPLOAD_PREFIX):  # a stored upload's id has its own sentence
        note_unknown_choice(slot, linked, f"{slot} image")


def _open_linked_upload(slot: Slot) -> None:
    """A link's ``content=upload:<id>`` (or ``style=``): load that stored upload into this session, or say
    plainly that it cannot be opened (the picker then falls back to the example)."""
    requested = st.query_params.get(slot, "")
    image_id = requested.removeprefix(UPLOAD_PREFIX)
    upload = st.session_state.get(f"{slot}_upload")
    if not requested.startswith(UPLOAD_PREFIX) or (upload is not None and upload.source == image_id):
        return
    try:
        image = image_from_upload(get_store().get_image(image_id), "from a link", image_id)
    except (RunNotFoundError, ImageError):
        st.error(f"The {slot} image this link names is not stored on this server, so it cannot be opened.")
        return
    st.session_state[f"{slot}_upload"] = image


def _model_panel() -> None:
    cached = imagenet_weights_cached()
    if cached and not weights_pinned_random():
        if st.session_state.pop("_weights_fallback", False):
            st.session_state["weights"] = "imagenet"  # they were missing, now they are here: use them
        st.radio("Weights", ["imagenet", "random"], format_func=WEIGHTS_LABELS.get, key="weights")
    else:
        st.session_state["weights"] = "random"
        st.session_state["_weights_fallback"] = not weights_pinned_random()
        st.markdown(f"**Weights:** {WEIGHTS_LABELS['random']}")
    if st.session_state["weights"] == "random":
        st.caption(RANDOM_WEIGHTS_NOTE)
    if not cached and not weights_pinned_random():
        download = weights_download()
        st.button(
            "Download the ImageNet weights (548 MB)",
            on_click=download.start,
            disabled=download.status().running,
            help="Fetched once into the torch cache, in the background: the app stays usable meanwhile.",
        )
        _download_progress(download)
    if gpu_available():
        st.radio("Device", ["cuda", "cpu"], format_func=device_label, key="device", horizontal=True)
    else:
        st.session_state["device"] = "cpu"
        st.markdown(f"**Device:** {device_label('cpu')} (no GPU found)")
    st.caption(f"**Runs served by:** {get_executor().describe()}")


def _download_progress(download: WeightsDownload) -> None:
    status = download.status()
    if not status.running and status.error is None:
        return

    @st.fragment(run_every=0.5 if status.running else None)
    def progress() -> None:
        now = download.status()
        if now.running:
            done_mb = now.done_bytes / 2**20
            if now.total_bytes:
                text = f"Downloading: {done_mb:.0f} of {now.total_bytes / 2**20:.0f} MB"
                st.progress(min(1.0, now.done_bytes / now.total_bytes), text=text)
            else:
                st.progress(0.0, text=f"Downloading: {done_mb:.0f} MB so far")
        elif now.error is not None:
            st.error(f"The ImageNet weights could not be fetched. {now.error}")
        elif now.finished:
            st.rerun()  # the whole frame: it switches to the ImageNet weights

    progress()


def preset_options() -> list[str]:
    """The presets' keys as the pickers list them: this server's default first."""
    return [default_preset(), *(k for k in PRESETS if k != default_preset())]
