"""The Style vs generated page in AppTest, over real tiny runs: figures, the step slider, the layer and
channel pickers, the numbers against the run's own, and the page before any run."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from nst_core import Job, RunConfig, ThreadExecutor
from nst_core.gram import gram_style_cost
from nst_core.layers import layer_shape
from tests.helpers import open_page
from ui.latex import number
from ui.pages import STYLE_VS_GENERATED


@pytest.fixture(scope="module")
def finished_jobs() -> Iterator[list[Job]]:
    """Two finished tiny runs (32 px, 6 steps, a snapshot every 2 steps) of the bundled examples."""
    executor = ThreadExecutor()
    configs = [
        RunConfig(
            content="chelsea",
            style="orange_strokes",
            size=32,
            steps=6,
            snapshot_every=2,
            weights="random",
            device="cpu",
            seed=seed,
        )
        for seed in (0, 1)
    ]
    jobs = [executor.submit(config) for config in configs]
    for job in jobs:
        job.result(timeout=120)
    yield jobs


def figures(at: AppTest) -> list[dict[str, Any]]:
    """The page's Plotly figures (AppTest has no Plotly element: read the JSON it sends)."""
    return [json.loads(element.proto.spec) for element in at.get("plotly_chart")]


def array(value: Any) -> np.ndarray:
    """A trace's data as NumPy: Plotly sends arrays as base64 typed arrays."""
    if isinstance(value, dict) and "bdata" in value:
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        shape = [int(n) for n in str(value.get("shape", flat.size)).split(",")]
        return flat.reshape(shape)
    return np.asarray(value)


def metric(at: AppTest, starts: str) -> str:
    """The value in the numbers table's row whose name starts with ``starts``, as LaTeX."""
    rows = [
        line.strip("| ").split(" | ") for m in at.markdown for line in m.value.splitlines() if line.startswith("| $")
    ]
    (found,) = [value.strip("$") for name, value in rows if name.startswith(starts)]
    return found


def test_without_a_run_the_page_says_so_and_links_to_the_run_page() -> None:
    at = open_page(STYLE_VS_GENERATED.script)
    assert any("No run yet" in info.value for info in at.info)
    assert [link.proto.page for link in at.page_link if "Run page" in link.value]
    assert not at.get("plotly_chart")


def test_a_run_is_shown_with_its_figures_and_numbers(finished_jobs: list[Job]) -> None:
    at = open_page(STYLE_VS_GENERATED.script, runs=finished_jobs)
    newest = finished_jobs[-1]
    assert at.selectbox(key="svg_run").value == newest.id
    result = newest.result()
    last = result.snapshots[-1]
    layer = at.selectbox(key=f"svg_layer_{newest.id}").value
    pair, difference, scatter, row, bars = figures(at)
    np.testing.assert_allclose(array(pair["data"][0]["z"]), result.style_grams[layer].numpy())
    np.testing.assert_allclose(array(pair["data"][1]["z"]), last.grams[layer].numpy())
    assert pair["data"][0]["coloraxis"] == pair["data"][1]["coloraxis"] == "coloraxis"
    assert difference["data"][0]["zmid"] == 0
    np.testing.assert_allclose(
        array(difference["data"][0]["z"]),
        last.grams[layer].numpy() - result.style_grams[layer].numpy(),
        rtol=1e-5,
        atol=1e-3,
    )
    assert scatter["data"][2]["name"].startswith("G<sub>G</sub> =")
    (record,) = [r for r in result.history if r.step == last.step]
    assert metric(at, "$J_{style}") == number(record.J_style_layers[layer])
    # ... and it is the layer's style cost of the two matrices drawn, by the core's formula.
    n_C, n_H, n_W = layer_shape(layer, *result.image.shape[-2:])
    g_S, g_G = (torch.from_numpy(array(trace["z"]).copy()) for trace in pair["data"][:2])
    drawn_cost = float(gram_style_cost(g_S, g_G, n_H, n_W, n_C))
    assert drawn_cost == pytest.approx(record.J_style_layers[layer], rel=1e-5)
    weight = result.config.style_layers[layer]
    assert metric(at, r"$\lambda") == number(weight * record.J_style_layers[layer])
    assert metric(at, r"$\lVert G_G - G_S \rVert_F").endswith("\\%")
    np.testing.assert_allclose(
        array(bars["data"][0]["y"]), [record.J_style_layers[name] for name in result.config.style_layers]
    )
    k = at.number_input(key=f"svg_k_{newest.id}_{layer}").value
    np.testing.assert_allclose(array(row["data"][0]["y"]), result.style_grams[layer].numpy()[k])


def test_the_step_slider_scrubs_the_snapshots(finished_jobs: list[Job]) -> None:
    at = open_page(STYLE_VS_GENERATED.script, runs=finished_jobs)
    job = finished_jobs[-1]
    result = job.result()
    first = result.snapshots[0]
    slider = at.select_slider(key=f"svg_step_{job.id}")
    assert list(slider.options) == [str(s.step) for s in result.snapshots]
    assert first.step == 0  # the slider starts where the run did: the starting image's Gram matrices
    slider.set_value(first.step).run()
    layer = at.selectbox(key=f"svg_layer_{job.id}").value
    pair = figures(at)[0]
    np.testing.assert_allclose(array(pair["data"][1]["z"]), first.grams[layer].numpy())
    assert any(f"step {first.step}" in caption for image in at.image for caption in image.captions)
    record = max((r for r in result.history if r.step <= first.step), key=lambda r: r.step, default=result.history[0])
    assert metric(at, "$J_{style}") == number(record.J_style_layers[layer])


def test_layer_and_channel_pickers_redraw_the_matrices(finished_jobs: list[Job]) -> None:
    at = open_page(STYLE_VS_GENERATED.script, runs=finished_jobs)
    job = finished_jobs[-1]
    g_S = job.result().style_grams["relu2_1"].numpy()
    at.selectbox(key=f"svg_layer_{job.id}").set_value("relu2_1").run()
    pair, *_ = figures(at)
    assert array(pair["data"][0]["z"]).shape == (128, 128)
    at.number_input(key=f"svg_k_{job.id}_relu2_1").set_value(17).run()
    row = figures(at)[3]
    np.testing.assert_allclose(array(row["data"][0]["y"]), g_S[17])


def test_a_link_with_a_run_selects_it_once(finished_jobs: list[Job]) -> None:
    at = open_page(STYLE_VS_GENERATED.script, runs=finished_jobs)
    older = finished_jobs[0]
    at.query_params["run"] = older.id
    at.run()
    assert at.selectbox(key="svg_run").value == older.id
    assert "run" not in at.query_params
    at.selectbox(key="svg_run").select_index(0).run()  # newest first
    assert at.selectbox(key="svg_run").value == finished_jobs[-1].id
