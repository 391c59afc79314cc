"""The Lesson page (AppTest): six steps with live numbers, α and β from the run's defaults."""

from __future__ import annotations

import re

import pytest

from nst_core.layers import DEFAULT_STYLE_LAYERS
from nst_core.runs import DEFAULT_ALPHA, DEFAULT_BETA
from tests.helpers import assert_no_exception, new_app


def _latex_numbers(text: str) -> list[float]:
    """Plain and "m \\times 10^{e}" numbers of a LaTeX string, in order."""
    text = re.sub(r"([-\d.]+) \\times 10\^\{(-?\d+)\}", lambda m: f"{float(m[1]) * 10 ** int(m[2])!r}", text)
    return [float(x) for x in re.findall(r"(?<![\w^_{])-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", text)]


def test_lesson_page_walks_through_with_live_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    at = new_app(monkeypatch)
    at.run()
    at.switch_page("app_pages/lesson.py").run()
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
