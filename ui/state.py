"""What one browser session has chosen, shared by every page: images, preset, weights, device, runs.

Pages read and write it only through these functions; the session-state keys named here are the
contract between the frame (``ui.sidebar``) and the pages:

- ``"content"`` / ``"style"``: the sidebar's example pickers (an example name, or ``UPLOADED``);
  ``"content_upload"`` / ``"style_upload"``: the last valid upload of each (a ``PickedImage``).
- ``"preset"``, ``"weights"``, ``"device"``: the sidebar's choices (see ``current_preset`` etc.).
- ``"runs"``: ``dict[job id, Job]`` of this session's runs, oldest first (``register_run``).
- ``"generated"``: ``list[PickedImage]`` of generated images, oldest first (``register_generated``);
  finished runs add their result and snapshots there on their own (``generated_images``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal, NamedTuple

import streamlit as st
import torch
from torch import Tensor

from nst_core import JobStatus
from nst_core.examples import example_bytes, get_example, list_examples
from nst_core.images import DecodedImage, content_digest, decode_image
from nst_core.optim.config import ImageInput

if TYPE_CHECKING:
    from nst_core import Job

ImageKind = Literal["example", "upload", "result", "snapshot"]
Slot = Literal["content", "style"]

UPLOAD_MAX_MB: Final = 10
"""Largest upload the app decodes: a 10 MB photo is already far larger than anything it analyses. The
server's transport limit (``server.maxUploadSize``) is higher, so that a larger file reaches the app and
gets a sentence instead of the browser's bare red mark."""
UPLOADED: Final = "upload"
"""Value of the content/style pickers when the session's own upload is in use."""
DEFAULT_EXAMPLES: Final[dict[Slot, str]] = {"content": "chelsea", "style": "orange_strokes"}
WEIGHTS_ENV: Final = "STYLE_LENS_WEIGHTS"
""""random" pins the app to the random weights (offline hosting, tests); unset or "auto" uses the
ImageNet weights when they are on disk and offers to download them when they are not."""


class PickedImage(NamedTuple):
    """An image a page can analyse. ``digest`` identifies its pixels and keys every cache.

    ``original`` is the image decoded once; every page derives the size it analyses from it with
    ``nst_core.load_image``, and ``run_input`` is what a run is given for it (the example's name, the uploaded
    file's bytes, a generated image's pixels), which a run decodes through the same function: so the explorer,
    the lesson, the command line and a run see the same pixels at the same size.
    """

    original: DecodedImage
    digest: str
    label: str
    run_input: ImageInput
    kind: ImageKind = "example"
    source: str | None = None  # example name, stored upload's id (else its file name), or a run's job id


@dataclass(frozen=True)
class Preset:
    """Defaults for a run and for the analysis pages; the Run page starts its form from these."""

    title: str
    description: str
    size: int  # longest side of the generated image in a run
    steps: int
    optimizer: str
    device: str
    snapshot_every: int
    start_size: int | None = None  # coarse-to-fine from this side (None: one scale)
    tv_weight: float = 0.0


PRESETS: Final[dict[str, Preset]] = {
    "class_demo": Preset(
        title="Class demo (CPU, fast)",
        description=(
            "256 px, coarse to fine from 128 px, 60 L-BFGS steps in spectral coordinates and a little TV (smooth, "
            "no speckle): about 20 seconds on a 2-core CPU."
        ),
        size=256,
        steps=60,
        optimizer="lbfgs",
        device="cpu",
        snapshot_every=10,
        start_size=128,
        # bench/quality.py at 256 px, random weights, spectral coordinates: speckle 0.013 without TV, 0.012 with
        # TV 0.1, whose strokes stay crisp; from 0.5 up TV blurs the strokes into blotches.
        tv_weight=0.1,
    ),
    "quality": Preset(
        title="Quality (GPU)",
        description="512 px, 500 L-BFGS steps: needs a GPU to finish in about a minute.",
        size=512,
        steps=500,
        optimizer="lbfgs",
        device="cuda",
        snapshot_every=25,
    ),
}


def gpu_available() -> bool:
    return torch.cuda.is_available()


def default_preset() -> str:
    return "quality" if gpu_available() else "class_demo"


def current_preset() -> Preset:
    return PRESETS[st.session_state.get("preset", default_preset())]


def weights_pinned_random() -> bool:
    return os.environ.get(WEIGHTS_ENV, "auto").strip().lower() == "random"


def current_weights() -> str:
    """ "imagenet" or "random": what the sidebar chose (random until ImageNet weights are on disk)."""
    return st.session_state.get("weights", "random")


def current_device() -> str:
    return st.session_state.get("device", "cuda" if gpu_available() else "cpu")


def device_label(device: str) -> str:
    return f"GPU: {torch.cuda.get_device_name(0)}" if device == "cuda" else "CPU"


@st.cache_resource(show_spinner=False, max_entries=32)
def example_image(name: str) -> PickedImage:
    """A bundled example, decoded once per process."""
    data = example_bytes(name)
    return PickedImage(decode_image(data), content_digest(data), get_example(name).title, name, "example", name)


def image_from_upload(data: bytes, file_name: str, image_id: str | None = None) -> PickedImage:
    """Decode an uploaded file; raises ``ImageError`` with a message for the user. ``image_id``: its id
    in the run store when it was kept there (links and stored runs name it by that id, never by file name)."""
    original = decode_image(data, max_bytes=UPLOAD_MAX_MB * 1_000_000)
    label = f"your upload: {file_name}"
    return PickedImage(original, content_digest(data), label, data, "upload", image_id or file_name)


def image_from_tensor(tensor: Tensor, label: str, kind: ImageKind, source: str | None = None) -> PickedImage:
    """Wrap a generated (1, 3, H, W) tensor; its digest hashes every value."""
    pixels = tensor.detach().to("cpu", torch.float32).contiguous()
    return PickedImage(decode_image(pixels), content_digest(pixels.numpy().tobytes()), label, pixels, kind, source)


def example_names(slot: Slot) -> list[str]:
    return [example.name for example in list_examples(slot)]


def _current(slot: Slot) -> PickedImage:
    """The image chosen in the sidebar: an example or the session's upload."""
    choice = st.session_state.get(slot, DEFAULT_EXAMPLES[slot])
    upload = st.session_state.get(f"{slot}_upload")
    if choice == UPLOADED and upload is not None:
        return upload
    return example_image(choice if choice != UPLOADED else DEFAULT_EXAMPLES[slot])


def current_content() -> PickedImage:
    return _current("content")


def current_style() -> PickedImage:
    return _current("style")


def use_upload(slot: Slot, image: PickedImage) -> None:
    """Make ``image`` the session's content or style image. Call it from a widget callback only:
    it writes the sidebar picker's key."""
    st.session_state[f"{slot}_upload"] = image
    st.session_state[slot] = UPLOADED


def runs() -> dict[str, Job]:
    """This session's runs, oldest first (job id -> Job)."""
    return st.session_state.setdefault("runs", {})


def register_run(job: Job) -> None:
    """Add a submitted job to the session's runs; its result and snapshots become generated images
    once it is done."""
    runs()[job.id] = job


def register_generated(image: PickedImage) -> None:
    """Add a generated image (an upload of a result, say) to the session's list; the same image under
    the same label again is ignored.

    Equal pixels under another label are kept: a run's result is its last snapshot when the steps are a
    multiple of the snapshot interval, and a second identical run makes the same pictures."""
    generated: list[PickedImage] = st.session_state.setdefault("generated", [])
    if all((existing.digest, existing.label) != (image.digest, image.label) for existing in generated):
        generated.append(image)


def generated_images() -> list[PickedImage]:
    """Every generated image of the session, newest first: run results and snapshots, and uploads."""
    harvested: set[str] = st.session_state.setdefault("_harvested_runs", set())
    for number, (job_id, job) in enumerate(runs().items(), start=1):
        if job_id not in harvested and job.status == JobStatus.DONE:
            result = job.result()
            for snapshot in result.snapshots:
                if snapshot.step > 0:  # step 0 is the starting image: nothing generated yet
                    label = f"run {number}, step {snapshot.step}"
                    register_generated(image_from_tensor(snapshot.image, label, "snapshot", job_id))
            register_generated(image_from_tensor(result.image, f"run {number}, result", "result", job_id))
            harvested.add(job_id)
    return list(reversed(st.session_state.get("generated", [])))


def latest_generated() -> PickedImage | None:
    """The newest run result or uploaded generated image (not a snapshot), if any."""
    return next((image for image in generated_images() if image.kind != "snapshot"), None)
