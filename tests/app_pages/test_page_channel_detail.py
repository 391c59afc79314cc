"""The drill-down of G[k, k′] (AppTest): what k and k′ detect with live values, the border's share, the View
menu's labels, the explorer's ranking without border channels, and the lesson's layer ladder."""

from __future__ import annotations

import functools
import re

import pytest

from nst_core.explain import channel_tuning
from nst_core.extractor import VGGExtractor
from nst_core.gram_views import VIEW_MENU
from tests.helpers import assert_no_exception, new_app, wait_until
from ui.pages import LESSON


def _texts(at) -> list[str]:
    return [element.value for element in (*at.markdown, *at.caption)]


def test_the_explorer_says_what_k_and_k2_detect_with_the_live_gram_entry(
    monkeypatch: pytest.MonkeyPatch, random_extractor: VGGExtractor
) -> None:
    at = new_app(monkeypatch)
    at.query_params.update({"layer": "relu1_1", "k": "4", "k2": "9"})
    at.run()
    assert_no_exception(at)
    assert at.selectbox(key="view").options == list(VIEW_MENU.values())  # labels, never "per_position"
    (sentence,) = [t for t in _texts(at) if t.startswith("#### Channel 4 fires on")]
    g_metric = next(m for m in at.metric if m.label.startswith("G[4, 9]"))
    g = float(re.search(r"G\[4, 9\] = ([-\d.e+]+)", sentence)[1])
    assert g == pytest.approx(float(g_metric.value), rel=1e-3)
    for k in (4, 9):
        expected = channel_tuning(random_extractor, "relu1_1", k).describe()
        assert f"channel {k} on {expected}" in sentence.lower() or f"Channel {k} fires on {expected}" in sentence
    border = next(t for t in _texts(at) if t.startswith("The border (first and last rows and columns"))
    assert "of G[4, 9]" in border
    assert any(t.startswith("Where it fires most in") for t in _texts(at))


def test_the_explorer_ranks_pairs_with_and_without_border_dominated_channels(monkeypatch: pytest.MonkeyPatch) -> None:
    at = new_app(monkeypatch)
    at.query_params.update({"layer": "relu5_1"})
    at.run()
    assert_no_exception(at)
    assert at.toggle(key="skip_border").value is True
    ranked = next(t for t in _texts(at) if t.startswith("The pairs with the highest correlation"))
    assert "fire mostly on the border" in ranked
    at.toggle(key="skip_border").set_value(False).run()
    assert_no_exception(at)
    ranked = next(t for t in _texts(at) if t.startswith("The pairs with the highest correlation"))
    assert "border" not in ranked


def test_the_lessons_pair_gets_the_drill_down_and_its_ladder_grows_in_the_background(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import ui.layer_ladder

    # A quick ladder: the same rungs, 32 px and 4 steps each.
    monkeypatch.setattr(
        ui.layer_ladder, "ladder_configs", functools.partial(ui.layer_ladder.ladder_configs, size=32, steps=4)
    )
    ui.layer_ladder._ladder.clear()
    at = new_app(monkeypatch)
    at.run()
    at.switch_page(LESSON.script).run()
    assert_no_exception(at)
    assert any(t.startswith("#### Channel") and "correlation" in t for t in _texts(at))
    assert at.header[-1].value == "7 · What each layer's Gram matrix keeps"
    at.button(key="ladder_start").click().run()
    assert_no_exception(at)

    def finished() -> bool:
        at.run()  # the page's poll: each run submits the next rung when the previous one is done
        return sum("J_style" in t and "→" in t and "step" not in t for t in _texts(at)) == 5

    wait_until(finished, timeout=300)
    captions = [t for t in _texts(at) if "J_style" in t and "→" in t]
    assert captions[0].startswith("relu1_1 · J_style") and captions[-1].startswith("relu1_1 … relu5_1")
    for caption in captions:
        start, end = (float(x) for x in re.findall(r"J_style ([-\d.e+]+) → ([-\d.e+]+)", caption)[0])
        assert end < start
    ui.layer_ladder._ladder.clear()
