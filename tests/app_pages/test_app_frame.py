"""The app's frame (AppTest): pages, shared image choice, uploads, weights and device panel.

No test downloads anything: conftest points the weights URL at a closed loopback port and the torch
cache at an empty folder, so the app runs on random weights.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import streamlit as st
import torch
from streamlit.testing.v1 import AppTest

from nst_core.errors import ImageError
from nst_core.weights import random_state_dict
from tests.helpers import CORRUPT_PNG, assert_no_exception, new_app, png_bytes
from ui.pages import GRAM_EXPLORER, LESSON
from ui.state import UPLOAD_MAX_MB, image_from_upload


def test_frame_shows_weights_device_and_preset(monkeypatch: pytest.MonkeyPatch) -> None:
    at = new_app(monkeypatch)
    at.run()
    assert_no_exception(at)
    sidebar_text = " ".join(m.value for m in at.sidebar.markdown) + " ".join(c.value for c in at.sidebar.caption)
    assert "Random VGG19 (untrained)" in sidebar_text
    assert "texture statistics" in sidebar_text and "less painterly" in sidebar_text
    assert "**Device:** CPU" in sidebar_text
    assert at.session_state["preset"] == "class_demo"
    assert at.session_state["weights"] == "random" and at.session_state["device"] == "cpu"
    assert not [b for b in at.sidebar.button if "ImageNet" in b.label]  # pinned to random weights
    assert at.sidebar.selectbox(key="content").value == "chelsea"
    assert at.sidebar.selectbox(key="style").value == "orange_strokes"


def test_pages_switch_and_share_the_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    at = new_app(monkeypatch)
    at.run()
    at.sidebar.selectbox(key="style").select("mosaic").run()
    at.switch_page(LESSON.script).run()
    assert_no_exception(at)
    assert at.title[0].value.startswith("Lesson")
    assert at.sidebar.selectbox(key="style").value == "mosaic"  # the choice follows the user across pages
    at.switch_page(GRAM_EXPLORER.script).run()
    assert_no_exception(at)
    assert at.title[0].value == "Gram explorer"


def test_upload_replaces_the_content_and_a_corrupt_one_keeps_it(monkeypatch: pytest.MonkeyPatch) -> None:
    at = new_app(monkeypatch)
    at.run()
    at.sidebar.file_uploader(key="content_file").set_value(("street.png", png_bytes(), "image/png")).run()
    assert_no_exception(at)
    assert at.sidebar.selectbox(key="content").value == "upload"
    uploaded = at.session_state["content_upload"]
    assert uploaded.label == "your upload: street.png" and uploaded.original.shape_at(None) == (48, 64)

    at.sidebar.file_uploader(key="content_file").set_value(("broken.png", CORRUPT_PNG, "image/png")).run()
    assert_no_exception(at)
    (error,) = at.sidebar.error
    assert "broken.png" in error.value and "previous image is still in use" in error.value
    assert at.session_state["content_upload"].digest == uploaded.digest
    assert at.sidebar.selectbox(key="content").value == "upload"

    at.selectbox(key="image").select("content image").run()  # the page analyses the kept upload
    assert_no_exception(at)
    assert at.subheader[0].value.endswith("your upload: street.png")


def test_weights_download_failure_is_a_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    at = new_app(monkeypatch, weights="auto")
    at.run()
    (button,) = [b for b in at.sidebar.button if "ImageNet" in b.label]
    button.click().run()
    _wait_for_download(at, lambda at: bool(at.sidebar.error))
    assert_no_exception(at)
    assert "could not be fetched" in at.sidebar.error[0].value
    assert at.session_state["weights"] == "random"


def _wait_for_download(at: AppTest, done: Callable[[AppTest], bool]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the download runs in a background thread
        at.run()
        if done(at):
            return
        time.sleep(0.2)


def test_weights_download_switches_the_app_to_imagenet(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    torch.save(random_state_dict(seed=1), served / "vgg19-loopback.pth")
    handler = partial(SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # this test's own, empty weights cache
    monkeypatch.setenv("NST_VGG19_WEIGHTS_URL", f"http://127.0.0.1:{server.server_port}/vgg19-loopback.pth")
    try:
        at = new_app(monkeypatch, weights="auto")
        at.run()
        (button,) = [b for b in at.sidebar.button if "ImageNet" in b.label]
        button.click().run()
        _wait_for_download(at, lambda at: at.session_state["weights"] == "imagenet")
    finally:
        server.shutdown()
    assert_no_exception(at)
    assert at.sidebar.radio(key="weights").value == "imagenet"
    assert not [b for b in at.sidebar.button if "ImageNet" in b.label]
    assert not any("Random weights" in c.value for c in at.sidebar.caption)


def test_every_page_answers_at_its_own_path_and_the_root_forwards_its_parameters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Streamlit serves its default page only at the root: were the explorer the default, "/explorer"
    # (the path links already shared use) would answer "Page not found".
    served: list[str] = []
    navigation = st.navigation

    def spy(pages: list[st.Page], **kwargs: object) -> st.Page:
        chosen = navigation(pages, **kwargs)  # it makes the first page the default when none is
        served[:] = [page.url_path for page in pages]
        return chosen

    monkeypatch.setattr(st, "navigation", spy)
    at = new_app(monkeypatch)
    at.query_params.update({"layer": "relu2_1", "k": "4"})
    at.run()
    assert_no_exception(at)
    assert {"explorer", "compare", "stylize", "walkthrough"} <= set(served)
    assert at.title[0].value == "Gram explorer"
    assert at.selectbox(key="layer").value == "relu2_1" and at.number_input(key="k").value == 4


def test_the_uploaders_say_the_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    at = new_app(monkeypatch)
    at.run()
    limit = f"at most {UPLOAD_MAX_MB} MB"
    helps = [uploader.help for uploader in at.get("file_uploader")]
    assert helps and all(limit in text for text in helps), helps


def test_an_upload_over_the_apps_limit_is_a_sentence_not_a_red_mark() -> None:
    # The server's transport limit is higher than the app's, so such a file reaches the uploader's callback.
    assert st.get_option("server.maxUploadSize") > UPLOAD_MAX_MB
    too_big = png_bytes() + bytes(UPLOAD_MAX_MB * 1_000_000)
    with pytest.raises(ImageError, match=rf"MB; images of at most {UPLOAD_MAX_MB}\.0 MB are accepted"):
        image_from_upload(too_big, "huge.png")
