"""A data folder that refuses every write (full, or read-only), seen from the app: an upload and a finished
run each get the store's sentence, the session goes on (the upload is used, the run is shown), and
nothing partial is left in tmp/."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from nst_core import JobStatus
from nst_core.serve.store import RunStore
from tests.helpers import assert_no_exception, jobs, launch, open_run_page, png_bytes, poll, set_form


@pytest.fixture
def full_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder of its own whose every file write fails with ENOSPC (after the store was set up)."""
    monkeypatch.setenv("STYLE_LENS_DATA", str(tmp_path))
    RunStore(tmp_path)

    def no_space(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("nst_core.serve.store.os.replace", no_space)
    return tmp_path


def test_an_upload_and_a_run_on_a_full_disk_get_a_sentence_and_the_session_goes_on(full_disk: Path) -> None:
    at = open_run_page()
    at.file_uploader(key="content_file").set_value(("photo.png", png_bytes(64, 64), "image/png")).run()
    assert_no_exception(at)
    warnings = [w.value for w in at.sidebar.warning]
    assert any(w.startswith("The server's storage is full, so this image cannot be kept.") for w in warnings), warnings
    assert at.sidebar.selectbox(key="content").value == "upload"  # the session uses it all the same

    set_form(at, size=32, steps=2, snapshot_every=1)
    launch(at)
    (job,) = jobs(at)
    poll(at, lambda: job.status not in ("queued", "running"))
    assert job.status == JobStatus.DONE
    assert_no_exception(at)
    warnings = [w.value for w in at.warning]
    full = "The server's storage is full, so this run cannot be kept."
    assert any(w.startswith(full) and w.endswith("This run has no link.") for w in warnings), warnings
    assert [m for m in at.metric if m.label == "Final J_style"]  # the result is shown
    assert not any((full_disk / "tmp").iterdir()) and not any((full_disk / "runs").iterdir())
    assert not any((full_disk / "images").iterdir())
