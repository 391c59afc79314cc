"""The Gram explorer page (AppTest): the cell picked by number inputs or by the URL, uploads, buttons."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from streamlit.testing.v1 import AppTest

from nst_core import JobStatus, gram_matrix
from nst_core.extractor import VGGExtractor
from nst_core.images import load_image
from tests.helpers import CORRUPT_PNG, assert_no_exception, new_app, png_bytes


def _metric(at: AppTest, starts: str) -> tuple[str, float]:
    (metric,) = [m for m in at.metric if m.label.startswith(starts)]
    return metric.label, float(metric.value)


def test_upload_a_generated_image_and_pick_a_cell_by_number(
    monkeypatch: pytest.MonkeyPatch, random_extractor: VGGExtractor
) -> None:
    data = png_bytes(48, 64, seed=1)
    at = new_app(monkeypatch)
    at.run()
    at.file_uploader(key="generated_upload").set_value(("result.png", data, "image/png")).run()
    assert_no_exception(at)
    assert at.selectbox(key="image").value == "generated: your upload: result.png"
    assert "latest generated" in at.selectbox(key="image").options
    at.selectbox(key="layer").select("relu2_1")
    at.number_input(key="k").set_value(3)
    at.number_input(key="k2").set_value(5)
    at.run()
    assert_no_exception(at)

    # The core's G of the uploaded picture (small enough to be analysed at its own size).
    with torch.inference_mode():
        a = random_extractor(load_image(data), ["relu2_1"])["relu2_1"][0]
    expected = float(gram_matrix(a)[3, 5])
    label, shown = _metric(at, "G[")
    assert label.startswith("G[3, 5]")
    assert shown == pytest.approx(expected, rel=1e-5)
    latex = at.latex[0].value
    assert "relu2\\_1" in latex and "_{3,5}" in latex and "a_{i j 3}" in latex


def test_query_parameters_reproduce_a_view(monkeypatch: pytest.MonkeyPatch) -> None:
    at = new_app(monkeypatch)
    at.query_params.update({"layer": "relu1_2", "view": "correlation", "order": "clustered", "k": "4", "k2": "9"})
    at.run()
    assert_no_exception(at)
    assert at.selectbox(key="layer").value == "relu1_2"
    assert at.selectbox(key="view").value == "correlation"
    assert at.radio(key="order").value == "clustered"
    assert (at.number_input(key="k").value, at.number_input(key="k2").value) == (4, 9)
    label, _ = _metric(at, "G[")
    assert label.startswith("G[4, 9]")
    _, correlation = _metric(at, "correlation")
    assert -1.0 <= correlation <= 1.0
    assert "relu1_2" in at.subheader[0].value


def test_a_corrupt_generated_upload_is_reported_and_the_page_keeps_working(monkeypatch: pytest.MonkeyPatch) -> None:
    at = new_app(monkeypatch)
    at.run()
    at.file_uploader(key="generated_upload").set_value(("bad.png", CORRUPT_PNG, "image/png")).run()
    assert_no_exception(at)
    assert any("bad.png" in e.value for e in at.error)
    assert at.selectbox(key="image").value == "style image"
    assert at.selectbox(key="image").options == ["style image", "content image"]
    at.selectbox(key="layer").select("relu1_1").run()
    assert_no_exception(at)


def test_thumbnail_and_pair_buttons_set_layer_and_cell(monkeypatch: pytest.MonkeyPatch) -> None:
    at = new_app(monkeypatch)
    at.run()
    assert len(at.image) >= 5  # the five style-layer thumbnails (plus the sidebar's pictures)
    at.button(key="open_relu5_1").click().run()
    assert_no_exception(at)
    assert at.selectbox(key="layer").value == "relu5_1"
    caption = next(c.value for c in at.caption if "#1" in c.value or "highest correlation" in c.value)
    assert "highest correlation" in caption
    at.button(key="pick_1").click().run()
    assert_no_exception(at)
    k, k2 = at.number_input(key="k").value, at.number_input(key="k2").value
    assert k < k2
    label, _ = _metric(at, "G[")
    assert label.startswith(f"G[{k}, {k2}]")


def test_a_finished_run_offers_its_result_and_snapshots(monkeypatch: pytest.MonkeyPatch) -> None:
    gen = torch.Generator().manual_seed(2)
    snapshot = SimpleNamespace(step=10, image=torch.rand(1, 3, 40, 56, generator=gen))
    result = SimpleNamespace(image=torch.rand(1, 3, 40, 56, generator=gen), snapshots=[snapshot])
    job = SimpleNamespace(id="job-1", status=JobStatus.DONE, result=lambda timeout=None: result)
    at = new_app(monkeypatch)
    at.session_state["runs"] = {job.id: job}
    at.run()
    options = at.selectbox(key="image").options
    assert options == [
        "style image",
        "content image",
        "latest generated",
        "generated: run 1, result",
        "generated: run 1, step 10",
    ]
    at.selectbox(key="image").select("latest generated").run()
    assert_no_exception(at)
    assert at.subheader[0].value.endswith("run 1, result")
    assert any("n_H × n_W = 10 × 14" in m.value for m in at.markdown)


def _finished_job(job_id: str, steps: int, every: int, seed: int) -> SimpleNamespace:
    """A done job whose last snapshot is its result, as when steps is a multiple of snapshot_every."""
    gen = torch.Generator().manual_seed(seed)
    images = [torch.rand(1, 3, 40, 56, generator=gen) for _ in range(steps // every)]
    snapshots = [SimpleNamespace(step=every * (n + 1), image=image) for n, image in enumerate(images)]
    result = SimpleNamespace(image=images[-1].clone(), snapshots=snapshots)
    return SimpleNamespace(id=job_id, status=JobStatus.DONE, result=lambda timeout=None: result)


def test_the_result_stays_when_it_equals_the_last_snapshot_and_a_second_identical_run_adds_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    at = new_app(monkeypatch)
    first = _finished_job("job-1", 20, 10, seed=5)
    second = _finished_job("job-2", 20, 10, seed=5)  # the same pictures, pixel for pixel
    at.session_state["runs"] = {first.id: first}
    at.run()
    options = at.selectbox(key="image").options
    assert "latest generated" in options and "generated: run 1, result" in options
    assert "generated: run 1, step 20" in options
    at.session_state["runs"] = {first.id: first, second.id: second}
    at.run()
    assert_no_exception(at)
    options = at.selectbox(key="image").options
    assert {"generated: run 2, result", "generated: run 2, step 10", "generated: run 2, step 20"} <= set(options)
    at.selectbox(key="image").select("latest generated").run()
    assert at.subheader[0].value.endswith("run 2, result")


def test_a_cell_out_of_range_for_a_new_layer_is_clamped_with_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    at = new_app(monkeypatch)
    at.run()
    assert not at.info
    at.number_input(key="k").set_value(200)
    at.number_input(key="k2").set_value(7)
    at.run()
    at.selectbox(key="layer").select("relu1_1").run()  # 64 channels
    assert_no_exception(at)
    assert (at.number_input(key="k").value, at.number_input(key="k2").value) == (63, 7)
    (note,) = [info.value for info in at.info if "relu1_1" in info.value]
    assert "k = 200" in note and "k = 63" in note
    label, _ = _metric(at, "G[")
    assert label.startswith("G[63, 7]")


@pytest.mark.parametrize(
    ("params", "cell", "sentences"),
    [
        ({"k": "1e309"}, (63, 1), ["The link's k = 1e309 is outside 0 to 63 (relu1_1 has channels 0 to 63): showing"]),
        ({"k": "99999", "k2": "-3"}, (63, 0), ["k = 99999 is outside 0 to 63", "k′ = -3 is outside 0 to 63"]),
        ({"k2": "64"}, (0, 63), ["k′ = 64 is outside 0 to 63"]),
        ({"k": "nan", "k2": "abc"}, (0, 1), ["k = nan is not a number", "k′ = abc is not a number"]),
        ({"k": "2.6", "k2": "-inf"}, (3, 0), ["k = 2.6 is not a whole number", "k′ = -inf is outside 0 to 63"]),
        ({"k": "7" * 400}, (63, 1), [f"k = {'7' * 24}… is outside"]),
        (
            {"layer": "relu9_9", "view": "bogus", "order": "x"},
            (0, 1),
            [
                "The link's layer “relu9_9” is not one of the choices here: showing relu3_1.",
                "view “bogus” is not one of the choices here: showing raw",
                "order “x” is not one of the choices here",
            ],
        ),
        ({"image": "generated: run 9, result"}, (0, 1), ["image “generated: run 9, result” is not one of the choices"]),
        (
            {"content": "../../etc/passwd", "style": "nope"},
            (0, 1),
            [
                "The link's content image “../../etc/passwd” is not one of the choices here: showing chelsea.",
                "The link's style image “nope” is not one of the choices here: showing orange_strokes.",
            ],
        ),
    ],
)
def test_a_bad_link_value_gets_a_sentence_and_the_nearest_valid_value(
    monkeypatch: pytest.MonkeyPatch, params: dict[str, str], cell: tuple[int, int], sentences: list[str]
) -> None:
    at = new_app(monkeypatch)
    at.query_params.update({"layer": "relu1_1", **params})
    at.run()
    assert_no_exception(at)
    assert (at.number_input(key="k").value, at.number_input(key="k2").value) == cell
    shown = " | ".join(info.value for info in [*at.info, *at.sidebar.info])
    assert all(sentence in shown for sentence in sentences), shown
    label, _ = _metric(at, "G[")
    assert label.startswith(f"G[{cell[0]}, {cell[1]}]")
    # The URL now holds the values shown, and the next run says nothing more.
    at.run()
    assert_no_exception(at)
    assert not [info for info in [*at.info, *at.sidebar.info] if "link's" in info.value]
    assert (at.query_params.get("k", "0"), at.query_params.get("k2", "1")) == tuple(map(str, cell))
