"""Style vs generated for each style loss and with regions, and the Compare runs page, over tiny real runs."""

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
from tests.helpers import open_page
from ui.pages import COMPARE_RUNS, STYLE_VS_GENERATED


def _half_mask() -> torch.Tensor:
    mask = torch.zeros(1, 3, 32, 32)
    mask[..., :, :16] = 1.0
    return mask


@pytest.fixture(scope="module")
def jobs() -> Iterator[dict[str, Job]]:
    """Tiny finished runs (32 px, 4 steps): one per style loss, and one with a region mask."""
    executor = ThreadExecutor()
    base: dict[str, Any] = dict(
        content="chelsea", style="orange_strokes", size=32, steps=4, snapshot_every=2, weights="random", device="cpu"
    )
    configs = {
        "gram": RunConfig(**base),
        "mean_cov": RunConfig(**base, style_loss="mean_cov"),
        "sliced_wasserstein": RunConfig(**base, style_loss="sliced_wasserstein"),
        "regions": RunConfig(**base, regions=[_half_mask()]),
    }
    submitted = {name: executor.submit(config) for name, config in configs.items()}
    for job in submitted.values():
        job.result(timeout=180)
    yield submitted


def _titles(at: AppTest) -> list[str]:
    return [json.loads(element.proto.spec)["layout"]["title"]["text"] for element in at.get("plotly_chart")]


def test_gram_runs_show_no_loss_views(jobs: dict[str, Job]) -> None:
    at = open_page(STYLE_VS_GENERATED.script, runs=[jobs["gram"]])
    assert not any("Mean activation" in t or "Sorted projections" in t for t in _titles(at))
    assert not any("Regions" in h.value for h in at.subheader)


def test_mean_cov_run_shows_means_and_covariances_of_style_and_generated(jobs: dict[str, Job]) -> None:
    at = open_page(STYLE_VS_GENERATED.script, runs=[jobs["mean_cov"]])
    (means,) = [json.loads(e.proto.spec) for e in at.get("plotly_chart") if "Mean activation" in _title(e)]
    assert [trace["name"] for trace in means["data"]] == ["μ_S (style)", "μ_G (generated)"]
    assert len(_values(means["data"][0]["y"])) == 64  # one mean per channel of relu1_1
    covariances = [spec for spec in _specs(at) if "Σ_S (style)" in _annotations(spec)]
    assert len(covariances) == 1 and len(covariances[0]["data"]) == 2
    # Another layer redraws the views at that layer.
    at.selectbox(key=f"svg_layer_{jobs['mean_cov'].id}").set_value("relu2_1").run()
    assert any("relu2_1" in t and "Mean activation" in t for t in _titles(at))


def _specs(at: AppTest) -> list[dict[str, Any]]:
    return [json.loads(element.proto.spec) for element in at.get("plotly_chart")]


def _annotations(spec: dict[str, Any]) -> list[str]:
    return [a.get("text", "") for a in spec["layout"].get("annotations", [])]


def _title(element: Any) -> str:
    return json.loads(element.proto.spec)["layout"]["title"]["text"]


def test_sliced_run_shows_sorted_projections(jobs: dict[str, Job]) -> None:
    at = open_page(STYLE_VS_GENERATED.script, runs=[jobs["sliced_wasserstein"]])
    (projections,) = [json.loads(e.proto.spec) for e in at.get("plotly_chart") if "Sorted projections" in _title(e)]
    assert {trace["name"] for trace in projections["data"]} == {"style", "generated"}


def test_regions_show_each_mask_beside_its_style(jobs: dict[str, Job]) -> None:
    at = open_page(STYLE_VS_GENERATED.script, runs=[jobs["regions"]])
    assert any("which mask drove which style" in h.value for h in at.subheader)
    captions = [caption for image in at.get("image") for caption in [image.proto.imgs[0].caption]]
    assert any(c.startswith("Mask 1") for c in captions) and any("where style 1 applied" in c for c in captions)


def test_compare_runs_needs_two_finished_runs(jobs: dict[str, Job]) -> None:
    at = open_page(COMPARE_RUNS.script, runs=[jobs["gram"]])
    assert any("two finished runs" in info.value for info in at.info)


def test_compare_runs_shows_both_images_costs_settings_and_grams(jobs: dict[str, Job]) -> None:
    at = open_page(COMPARE_RUNS.script, runs=[jobs["gram"], jobs["mean_cov"]])
    captions = [image.proto.imgs[0].caption for image in at.get("image")]
    assert any("gram loss" in c for c in captions) and any("mean_cov loss" in c for c in captions)
    (table,) = at.dataframe
    assert list(table.value["Setting"]) == ["style_loss"]
    titles = _titles(at)
    assert any(t.startswith("Style cost per layer") for t in titles)
    grams = [spec for spec in _specs(at) if any("G_G of run" in a for a in _annotations(spec))]
    assert len(grams) == 1
    # The bars are the runs' own last J_style^[l]; run A is the older of the two.
    bars = [json.loads(e.proto.spec) for e in at.get("plotly_chart") if _title(e).startswith("Style cost per layer")][0]
    expected = [jobs["gram"].result().history[-1].J_style_layers[layer] for layer in bars["data"][0]["x"]]
    assert np.allclose(_values(bars["data"][0]["y"]), expected, rtol=1e-5)


def _values(value: Any) -> np.ndarray:
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    return np.asarray(value, dtype=np.float64)
