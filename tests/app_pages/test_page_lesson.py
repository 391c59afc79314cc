"""The Lesson page (AppTest): six steps with live numbers, α and β from the run's defaults."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from nst_core.layers import DEFAULT_STYLE_LAYERS
from nst_core.optim import DEFAULT_ALPHA, DEFAULT_BETA
from tests.helpers import assert_no_exception, new_app
from ui.pages import LESSON


def _latex_numbers(text: str) -> list[float]:
    """Plain and "m \\times 10^{e}" numbers of a LaTeX string, in order."""
    text = re.sub(r"([-\d.]+) \\times 10\^\{(-?\d+)\}", lambda m: f"{float(m[1]) * 10 ** int(m[2])!r}", text)
    return [float(x) for x in re.findall(r"(?<![\w^_{])-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", text)]


def test_lesson_page_walks_through_with_live_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    at = new_app(monkeypatch)
    at.run()
    at.switch_page(LESSON.script).run()
    assert_no_exception(at)
    headers = [h.value for h in at.header]
    assert len(headers) == 7 and headers[0].startswith("1 · Style is a correlation")
    assert any("uncentred cross-covariance" in m.value for m in at.markdown)

    latex = [block.value.strip("$\n") for block in at.latex]
    layer_cost = next(text for text in latex if text.startswith("= \\frac{1}{(2"))
    # chelsea (451 x 300) is analysed at 256 x 170; relu2_1 halves it: n_H = 85, n_W = 128, n_C = 128
    assert "(2 \\cdot 85 \\cdot 128 \\cdot 128)^2" in layer_cost
    # Steps 3 and 4 say whose maps their n_H × n_W are: the style image's (128 × 128), then G's (85 × 128).
    texts = [element.value for element in (*at.caption, *at.markdown)]
    assert any("style image S's" in t and "128 × 128" in t for t in texts)
    assert any("generated image G's" in t and "85 × 128" in t for t in texts)
    total = next(text for text in latex if text.startswith("J(G)"))
    alpha, j_content, beta, j_style, j = _latex_numbers(total.split("=", 2)[2])
    assert (alpha, beta) == (DEFAULT_ALPHA, DEFAULT_BETA)  # the run's defaults, not a copy of them
    assert j_content == 0.0  # the content image stands in for G
    assert j == pytest.approx(alpha * j_content + beta * j_style, rel=1e-3)
    style_sum = next(text for text in latex if "J_{style}(S,G) &= " in text)
    assert len(_latex_numbers(style_sum.split("=", 2)[2])) == 2 * len(DEFAULT_STYLE_LAYERS) + 1

    at.selectbox(key="lesson_generated").select("White noise (stand-in: another common start)").run()
    assert_no_exception(at)
    total = next(text for text in (block.value.strip("$\n") for block in at.latex) if text.startswith("J(G)"))
    _, j_content, _, _, _ = _latex_numbers(total.split("=", 2)[2])
    assert j_content > 0.0


def _chart(at: AppTest, key: str) -> dict[str, Any]:
    """The spec of the Plotly chart drawn with ``key`` (an element id ends with its key)."""
    (element,) = [e for e in at.get("plotly_chart") if e.proto.id.endswith(f"-{key}")]
    return json.loads(element.proto.spec)


def _step2_pair(at: AppTest) -> tuple[int, int]:
    """Step 2's vertical-lines and orange channels, as its text names them."""
    intuition = next(m.value for m in at.markdown if m.value.startswith("Show the network four test patterns"))
    found = re.search(r"channel \*\*(\d+)\*\* responds more to vertical.*Channel \*\*(\d+)\*\*", intuition)
    assert found is not None, intuition
    return int(found[1]), int(found[2])


def _outlined(spec: dict[str, Any]) -> set[tuple[float, float]]:
    return {((s["x0"] + s["x1"]) / 2, (s["y0"] + s["y1"]) / 2) for s in spec["layout"].get("shapes", [])}


def test_lesson_gram_matrices_select_a_cell_that_its_pair_view_adds_up(monkeypatch: pytest.MonkeyPatch) -> None:
    at = new_app(monkeypatch)
    at.run()
    at.switch_page(LESSON.script).run()
    assert_no_exception(at)
    # The cell starts on step 2's pair (the vertical-lines and the orange channel), outlined on both matrices.
    k, k2 = _step2_pair(at)
    assert (at.number_input(key="lesson_k").value, at.number_input(key="lesson_k2").value) == (k, k2)
    for view in ("raw", "correlation"):
        spec = _chart(at, f"lesson_{view}")
        assert spec["layout"]["clickmode"] == "event+select" and spec["data"][1]["mode"] == "markers"
        assert _outlined(spec) == {(k2, k), (k, k2)}

    at.number_input(key="lesson_k").set_value(3).run()
    at.number_input(key="lesson_k2").set_value(7).run()
    assert_no_exception(at)
    titles = [a["text"] for a in _chart(at, "lesson_cell_maps")["layout"]["annotations"]]
    assert titles == ["channel 3", "channel 7", "product 3 × 7"]
    assert _outlined(_chart(at, "lesson_raw")) == {(7, 3), (3, 7)}
    assert any(m.value.startswith("G[3, 7] adds up") for m in at.markdown)

    # Another layer: a cell of the old one means nothing there, so the cell is that layer's step-2 pair.
    at.selectbox(key="lesson_layer").select("relu1_1").run()
    assert_no_exception(at)
    k, k2 = _step2_pair(at)
    assert (at.number_input(key="lesson_k").value, at.number_input(key="lesson_k2").value) == (k, k2)
    assert max(k, k2) < 64  # relu1_1's channels
