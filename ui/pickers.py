"""Widgets that choose images: a validating uploader and the picker of the image to analyse."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import streamlit as st

from nst_core.errors import ImageError, StoreUnavailableError

from .resources import analysis_shape, analysis_side
from .run_saver import store_upload
from .state import (
    UPLOAD_MAX_MB,
    PickedImage,
    current_content,
    current_style,
    generated_images,
    image_from_upload,
    latest_generated,
    register_generated,
)

UPLOAD_TYPES: Final = ["png", "jpg", "jpeg", "webp", "gif", "bmp", "tif", "tiff", "ppm", "pgm", "avif"]
UPLOAD_FORMATS: Final = ", ".join(t.upper() for t in UPLOAD_TYPES)


def _on_upload(key: str, on_image: Callable[[PickedImage], None], keep: bool) -> None:
    uploaded = st.session_state.get(key)
    st.session_state.pop(f"{key}_error", None)
    st.session_state.pop(f"{key}_unstored", None)
    if uploaded is None:
        return
    data = uploaded.getvalue()
    try:
        image = image_from_upload(data, uploaded.name)
    except ImageError as exc:
        st.session_state[f"{key}_error"] = f"{uploaded.name}: {exc}"
        return
    if keep:
        try:
            image = image._replace(source=store_upload(data))
        except StoreUnavailableError as exc:  # a full or read-only disk: the session uses it all the same
            st.session_state[f"{key}_unstored"] = f"{exc} This session uses the image, but no link can name it."
    on_image(image)


def image_uploader(label: str, key: str, on_image: Callable[[PickedImage], None], *, keep: bool = False) -> None:
    """A file uploader whose files are decoded by the core. A valid image is handed to ``on_image``
    (called from the widget callback, so it may write widget keys); a bad file shows its message and
    changes nothing else. ``keep``: store the file, so that links and stored runs can name it by its id."""
    # No ``type`` filter: Streamlit would list all the formats in a hint cut off in the narrow sidebar.
    # The core decodes every file and rejects a non-image with a sentence; the formats are in the help.
    st.file_uploader(
        label,
        key=key,
        on_change=_on_upload,
        args=(key, on_image, keep),
        help=f"Image formats: {UPLOAD_FORMATS}; at most {UPLOAD_MAX_MB} MB.",
    )
    if error := st.session_state.get(f"{key}_error"):
        st.error(f"{error} The previous image is still in use.")
    if unstored := st.session_state.get(f"{key}_unstored"):
        st.warning(unstored)


def _use_generated(image: PickedImage) -> None:
    register_generated(image)
    st.session_state["image"] = _option(image)


def _option(image: PickedImage) -> str:
    return f"generated: {image.label}"


def analysed_image_picker() -> PickedImage:
    """Choose the image to analyse: the style image, the content image, the latest generated one, or
    any generated one (a run's result or snapshot, or an uploaded result). Bound to the URL as ``?image=``."""
    # A bound widget writes its displayed text into the URL: options are short, stable names.
    options: dict[str, PickedImage] = {"style image": current_style(), "content image": current_content()}
    if (latest := latest_generated()) is not None:
        options["latest generated"] = latest
    for image in generated_images():
        options.setdefault(_option(image), image)
    choice = st.selectbox(
        "Image to analyse",
        list(options),
        key="image",
        bind="query-params",
        help="A run's result and its snapshots appear here once the run is done.",
    )
    with st.expander("Upload a generated image", expanded=False):
        image_uploader(
            "A picture made by a run (or any image) to analyse", key="generated_upload", on_image=_use_generated
        )
    return options[choice]


def analysis_note(image: PickedImage) -> str:
    """Which size an image is analysed at, and why: a sentence for the analysis pages."""
    height, width = analysis_shape(image)
    side = analysis_side()
    return f"Analysed at {width} × {height} px, the Run page's Size ({side} px): as a run at that size sees it."
