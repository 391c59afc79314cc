"""One truth: the Gram explorer, the lesson, the command line, ``load_image`` + ``gram_matrix`` and a run's stored
G_S give the same G[k, k'] for the same image at the same size, and a stored run's G_S and G_G give its recorded
J_style^[l] through ``layer_style_cost``.

Two bundled examples and an upload-like bytes source (a photo larger than both sizes, so that every path resizes),
each at 128 and 256 px, on the seeded random weights, in float32.
"""

from __future__ import annotations

import base64
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from nst_core import RunConfig, RunStore, gram_matrix, layer_style_cost, load_image, run
from nst_core.cli import main as cli
from nst_core.extractor import VGGExtractor
from nst_core.gram_views import VIEW_LABELS
from nst_core.layers import LAYER_CHANNELS, layer_shape
from nst_core.optim.precision import BFLOAT16, FLOAT32
from tests.helpers import assert_no_exception, new_app, wait_until

LAYERS = ("relu1_1", "relu3_1", "relu5_1")
CELLS = ((0, 1), (5, 17), (30, 60), (63, 2))  # every layer has at least 64 channels
SIZES = (128, 256)
RTOL = 1e-5


def _photo() -> bytes:
    """A 400 x 300 smooth colour picture, JPEG-encoded as a phone would send it."""
    rng = np.random.default_rng(7)
    coarse = (rng.random((7, 9, 3)) * 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(coarse).resize((400, 300), Image.Resampling.BICUBIC).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


SOURCES: dict[str, str | bytes] = {"orange_strokes": "orange_strokes", "mosaic": "mosaic", "upload": _photo()}


@pytest.fixture(scope="module")
def reference(random_extractor: VGGExtractor) -> dict[tuple[str, int], dict[str, np.ndarray]]:
    """G of each source at each size by the library: ``load_image`` then ``gram_matrix`` (float32)."""
    grams = {}
    for name, source in SOURCES.items():
        for side in SIZES:
            with torch.inference_mode():
                acts = random_extractor(load_image(source, max_side=side), list(LAYERS))
            grams[name, side] = {layer: gram_matrix(a[0]).numpy() for layer, a in acts.items()}
    return grams


def _assert_cells_agree(shown: np.ndarray, expected: np.ndarray, what: str) -> None:
    assert shown.shape == expected.shape, what
    for k, k2 in CELLS:
        assert shown[k, k2] == pytest.approx(float(expected[k, k2]), rel=RTOL), f"{what} G[{k}, {k2}]"


def _path_of(name: str, tmp_path: Path) -> str:
    source = SOURCES[name]
    if isinstance(source, str):
        return source
    path = tmp_path / "upload.jpg"
    path.write_bytes(source)
    return str(path)


@pytest.mark.parametrize("side", SIZES)
@pytest.mark.parametrize("name", SOURCES)
def test_the_command_line_gram_is_the_library_gram(name: str, side: int, reference, tmp_path: Path) -> None:
    for layer in LAYERS:
        out = tmp_path / f"{layer}.npy"
        status = cli(
            ["gram", _path_of(name, tmp_path), "--layer", layer, "--size", str(side), "-o", str(out)]
            + ["--weights", "random", "--device", "cpu"]
        )
        assert status == 0
        _assert_cells_agree(np.load(out), reference[name, side][layer], f"CLI {name} {side} px {layer}")


def _undone(g_S: torch.Tensor, layer: str, style_shape: tuple[int, int], content_shape: tuple[int, int]) -> np.ndarray:
    """A run's stored G_S (scaled to the generated image's positions) back at the style image's own positions."""
    _, h_S, w_S = layer_shape(layer, *style_shape)
    _, h_G, w_G = layer_shape(layer, *content_shape)
    return (g_S.double() * (h_S * w_S) / (h_G * w_G)).float().numpy()


@pytest.mark.parametrize("side", SIZES)
@pytest.mark.parametrize("name", SOURCES)
def test_a_stored_run_optimises_towards_the_library_gram(
    name: str, side: int, reference, random_extractor: VGGExtractor, tmp_path: Path
) -> None:
    config = RunConfig(
        content="chelsea",
        style=SOURCES[name],
        size=side,
        steps=2,
        snapshot_every=1,
        snapshot_layers=LAYERS,
        weights="random",
        device="cpu",
    )
    result = run(config, extractor=random_extractor, precision=FLOAT32)
    store = RunStore(tmp_path / "data")
    stored = store.get(store.put(result))
    style_shape = tuple(load_image(SOURCES[name], max_side=side).shape[-2:])
    content_shape = tuple(stored.image.shape[-2:])
    for layer in LAYERS:
        g_S = _undone(stored.style_grams[layer], layer, style_shape, content_shape)
        _assert_cells_agree(g_S, reference[name, side][layer], f"run {name} {side} px {layer}")
    # Each recorded step: J_style^[l] of the stored G_S and G_G is the history's.
    for snapshot in stored.snapshots[1:]:
        record = stored.history[snapshot.step - 1]
        for layer in set(LAYERS) & set(config.style_layers):
            _, n_H, n_W = layer_shape(layer, *content_shape)
            j = layer_style_cost(stored.style_grams[layer], snapshot.grams[layer], n_H=n_H, n_W=n_W)
            assert float(j) == pytest.approx(record.J_style_layers[layer], rel=RTOL), (snapshot.step, layer)


def test_a_bfloat16_run_optimises_towards_the_float32_target(random_extractor: VGGExtractor, reference) -> None:
    """The steps of a bfloat16 run carry its rounding; the G_S it optimises towards and stores does not."""
    config = RunConfig(content="orange_strokes", style="orange_strokes", size=128, steps=1, weights="random")
    result = run(config, extractor=random_extractor, precision=BFLOAT16)
    assert result.precision == str(BFLOAT16)
    for layer in LAYERS:
        _assert_cells_agree(result.style_grams[layer].numpy(), reference["orange_strokes", 128][layer], layer)


def _heatmaps(at: AppTest, n_C: int) -> Iterator[tuple[str, np.ndarray]]:
    """(title, z) of every n_C x n_C heatmap on the page (Plotly sends z as a typed array)."""
    for element in at.get("plotly_chart"):
        figure = json.loads(element.proto.spec)
        title = figure["layout"].get("title", {}).get("text", "")
        for trace in figure["data"]:
            z = trace.get("z") if trace.get("type") == "heatmap" else None
            if isinstance(z, dict) and z.get("shape") == f"{n_C}, {n_C}":
                yield title, np.frombuffer(base64.b64decode(z["bdata"]), dtype=np.dtype(z["dtype"])).reshape(n_C, n_C)


def _session(
    monkeypatch: pytest.MonkeyPatch, name: str, side: int, page: str = "app_pages/gram_explorer.py"
) -> AppTest:
    """The app with ``name`` as the style image and the Run form's Size set to ``side`` (as a visitor sets it),
    then ``page``."""
    at = new_app(monkeypatch)
    if isinstance(SOURCES[name], str):
        at.session_state["style"] = SOURCES[name]
    at.run()
    if not isinstance(SOURCES[name], str):
        at.sidebar.file_uploader(key="style_file").set_value(("photo.jpg", SOURCES[name], "image/jpeg")).run()
    at.switch_page("app_pages/run.py").run()
    at.number_input(key="run_size").set_value(side).run()
    at.switch_page(page).run()
    assert_no_exception(at)
    return at


@pytest.mark.parametrize("side", SIZES)
@pytest.mark.parametrize("name", SOURCES)
def test_the_explorer_shows_the_library_gram(name: str, side: int, reference, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _session(monkeypatch, name, side)
    assert any(f"Size ({side} px)" in caption.value for caption in at.caption)
    for layer in LAYERS:
        at.selectbox(key="layer").select(layer)
        at.number_input(key="k").set_value(CELLS[1][0])
        at.number_input(key="k2").set_value(CELLS[1][1])
        at.run()
        assert_no_exception(at)
        expected = reference[name, side][layer]
        (z, *_) = [z for _, z in _heatmaps(at, LAYER_CHANNELS[layer])]
        _assert_cells_agree(z, expected, f"explorer {name} {side} px {layer}")
        (metric,) = [m for m in at.metric if m.label.startswith("G[")]
        assert float(metric.value) == pytest.approx(float(expected[CELLS[1]]), rel=RTOL)


@pytest.mark.parametrize("side", SIZES)
@pytest.mark.parametrize("name", SOURCES)
def test_the_lesson_shows_the_library_gram(name: str, side: int, reference, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _session(monkeypatch, name, side, page="app_pages/lesson.py")
    for layer in LAYERS:
        at.selectbox(key="lesson_layer").select(layer).run()
        assert_no_exception(at)
        (z,) = [z for title, z in _heatmaps(at, LAYER_CHANNELS[layer]) if title == VIEW_LABELS["raw"]]
        _assert_cells_agree(z, reference[name, side][layer], f"lesson {name} {side} px {layer}")


def test_a_run_launched_from_the_app_optimises_towards_the_explorers_gram(
    reference, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Run page gives the run the uploaded file itself (not a resized copy): the run decodes it through
    ``load_image`` at its size, as the explorer did."""
    at = _session(monkeypatch, "upload", 128, page="app_pages/run.py")
    at.number_input(key="run_steps").set_value(2)
    at.number_input(key="run_snapshot_every").set_value(1)
    at.run()
    at.button(key="run_launch").click().run()
    assert_no_exception(at)
    (job,) = at.session_state["runs"].values()
    wait_until(lambda: job.status not in ("queued", "running"), timeout=180)
    result = job.result()
    assert result.config.size == 128 and result.config.style == SOURCES["upload"]
    style_shape = tuple(load_image(SOURCES["upload"], max_side=128).shape[-2:])
    for layer in set(LAYERS) & set(result.style_grams):
        g_S = _undone(result.style_grams[layer], layer, style_shape, tuple(result.image.shape[-2:]))
        _assert_cells_agree(g_S, reference["upload", 128][layer], f"app run {layer}")


def test_a_run_stored_before_one_truth_keeps_its_numbers(tmp_path: Path) -> None:
    """``data/run-before-one-truth.zip`` was downloaded from a run made before every view shared one image path
    (48 px, relu1_1 and relu2_1): it still imports, and its own G_S, G_G and history agree as they did."""
    archive = Path(__file__).parent / "data" / "run-before-one-truth.zip"
    with zipfile.ZipFile(archive) as files:
        history = json.loads(files.read("history.json"))
    store = RunStore(tmp_path / "data")
    stored = store.get(store.import_archive(archive))
    last = stored.history[-1]
    assert [record.J for record in stored.history] == [record["J"] for record in history["history"]]
    snapshot = stored.snapshots[-1]
    assert snapshot.step == last.step == 4
    _, n_H, n_W = layer_shape("relu2_1", *stored.image.shape[-2:])
    j = layer_style_cost(stored.style_grams["relu2_1"], snapshot.grams["relu2_1"], n_H=n_H, n_W=n_W)
    assert float(j) == pytest.approx(last.J_style_layers["relu2_1"], rel=RTOL)
