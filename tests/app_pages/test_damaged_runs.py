"""Every damaged stored run of the corpus (tests/nst_core/serve/test_run_corpus.py), opened by its link on every page
that takes ``?run=``: one sentence naming the run, no exception, and the rest of the page still works."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import nst_core
from nst_core import RunResult, RunStore
from nst_core.serve.files import run_files
from tests.helpers import APP, assert_no_exception, small_config
from tests.nst_core.serve.test_run_corpus import STORED_CORPUS
from ui.pages import RUN, STYLE_VS_GENERATED


@pytest.fixture(scope="module")
def result() -> RunResult:
    return nst_core.run(small_config(steps=2, snapshot_every=1))


@pytest.mark.parametrize("page", [RUN.script, STYLE_VS_GENERATED.script])
def test_each_poisoned_run_opens_to_a_sentence_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, result: RunResult, page: str
) -> None:
    monkeypatch.setenv("STYLE_LENS_DATA", str(tmp_path))
    store = RunStore(tmp_path)
    files = run_files(result)
    poisoned = {}
    for case, poison, _ in STORED_CORPUS:
        run_id = store.put(result, title=case)
        for name, data in poison(dict(files)).items():
            (tmp_path / "runs" / run_id / name).write_bytes(data)
        poisoned[case] = run_id
    healthy = store.put(result, title="a healthy run")

    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page(page)
    for case, run_id in poisoned.items():
        at.query_params["run"] = run_id
        at.run()
        assert_no_exception(at)
        errors = [error.value for error in at.error]
        sentence = f"The run {run_id} is damaged on this server and cannot be shown; the rest of the page works."
        assert errors == [sentence], (case, errors)
        # The rest of the page: the Run page's form and Launch, or Style vs generated's way to the Run page.
        if page == RUN.script:
            assert at.button(key="run_launch") is not None, case
        assert at.sidebar.selectbox(key="content").value == "chelsea", case
    # A healthy run opened after them all still shows.
    at.query_params["run"] = healthy
    at.run()
    assert_no_exception(at)
    assert not at.error
