"""The Run page's settings form on its own (AppTest of a one-line script): starting values, memory
across visits, preset changes, and the sentence for a bad setting."""

from __future__ import annotations

from dataclasses import fields

from nst_core import ConfigError, RunConfig
from nst_core.layers import DEFAULT_STYLE_LAYERS, RELU_LAYERS
from nst_core.optim import DEFAULT_ALPHA, DEFAULT_BETA
from nst_core.optim.config import settings
from nst_core.serve.admission import hosted_limits
from nst_core.serve.store import new_id
from tests.helpers import run_form_app
from ui.run_form import SAVED_FORM, VisitorForms, config_problem, widget_key
from ui.state import PRESETS


def test_the_form_starts_from_the_core_defaults_and_the_preset() -> None:
    at = run_form_app()
    assert not at.exception
    fields = at.session_state["fields"]
    preset = PRESETS["class_demo"]
    assert (fields["size"], fields["steps"], fields["optimizer"]) == (preset.size, preset.steps, preset.optimizer)
    assert (fields["alpha"], fields["beta"]) == (DEFAULT_ALPHA, DEFAULT_BETA)
    assert fields["style_layers"] == dict(DEFAULT_STYLE_LAYERS)
    assert fields["snapshot_layers"] == tuple(DEFAULT_STYLE_LAYERS)
    RunConfig(content="chelsea", style="orange_strokes", **fields).validate()  # a form untouched is a valid run


def test_values_survive_leaving_the_page_and_a_preset_change_resets_only_its_fields() -> None:
    at = run_form_app()
    at.number_input(key=widget_key("alpha")).set_value(3.0)
    at.number_input(key=widget_key("steps")).set_value(20).run()
    # Leaving the page: Streamlit drops the widgets' values, the form keeps its own copy.
    at.session_state["show_form"] = False
    at.run()
    assert at.session_state[SAVED_FORM][widget_key("alpha")] == 3.0
    at.session_state["show_form"] = True
    at.run()
    assert at.session_state["fields"]["alpha"] == 3.0 and at.session_state["fields"]["steps"] == 20

    at.session_state["preset"] = "quality"
    at.run()
    fields = at.session_state["fields"]
    # The preset's field follows the preset, within this server's cap (300 steps without a GPU).
    assert fields["steps"] == min(PRESETS["quality"].steps, hosted_limits().max_steps)
    assert fields["alpha"] == 3.0  # a field the preset does not set keeps the user's value


def test_a_reload_finds_the_visitors_form_and_other_visitors_do_not() -> None:
    visitor = new_id()
    first = run_form_app(owner=visitor)
    first.number_input(key=widget_key("alpha")).set_value(3.0)
    first.selectbox(key=widget_key("style_loss")).set_value("mean_cov").run()
    reloaded = run_form_app(owner=visitor)  # a reload is a new session of the same visitor
    assert (reloaded.session_state["fields"]["alpha"], reloaded.session_state["fields"]["style_loss"]) == (
        3.0, "mean_cov"
    )  # fmt: skip
    stranger = run_form_app(owner=new_id())
    assert (stranger.session_state["fields"]["alpha"], stranger.session_state["fields"]["style_loss"]) == (
        DEFAULT_ALPHA, "gram"
    )  # fmt: skip


def test_visitor_forms_keep_only_the_most_recent_visitors() -> None:
    forms = VisitorForms(capacity=2)
    for owner in ("a", "b", "c"):
        forms.put(owner, {"alpha": owner})
    assert forms.get("a") == {} and forms.get("c") == {"alpha": "c"}
    forms.get("c")["alpha"] = "changed"  # a copy: one session's edits stay in its own session
    assert forms.get("c") == {"alpha": "c"}


def test_a_config_error_names_the_forms_label() -> None:
    message = config_problem(ConfigError("beta", "must be finite and >= 0"))
    assert message == "Check **β: style weight**: must be finite and >= 0"


def test_every_setting_with_a_widget_is_drawn_from_its_declaration() -> None:
    """Label, range and choices come from ``RunConfig``'s ``Setting``s; the server's caps still apply."""
    at = run_form_app()
    for name, declared in settings().items():
        if declared.widget is None:
            continue
        widget = {"number": at.number_input, "radio": at.radio, "select": at.selectbox}[declared.widget](
            key=widget_key(name)
        )
        assert widget.label.startswith(declared.label), name
        if declared.widget == "number":
            low = declared.form_min if declared.form_min is not None or declared.kind == "float" else declared.min
            assert widget.min == low, name
        else:
            assert len(widget.options) == len(declared.choices or RELU_LAYERS) + (declared.none is not None), name
    assert at.number_input(key=widget_key("size")).max == hosted_limits().max_size
    assert at.number_input(key=widget_key("steps")).max == hosted_limits().max_steps
    form_made = {f.name for f in fields(RunConfig)} - {"content", "style", "style_blend", "weights"}  # the sidebar's
    assert set(at.session_state["fields"]) == form_made


def _form_and_planned_size() -> None:
    import streamlit as st

    from ui.run_form import planned_size, run_settings

    if st.session_state.get("show_form", True):
        st.session_state["fields"] = run_settings()
    st.session_state["planned"] = planned_size()


def test_the_analysis_size_is_the_size_the_form_holds_or_starts_with() -> None:
    from streamlit.testing.v1 import AppTest

    visitor = new_id()
    at = AppTest.from_function(_form_and_planned_size, default_timeout=30)
    at.session_state["preset"], at.session_state["device"], at.session_state["_owner"] = "class_demo", "cpu", visitor
    at.run()
    assert at.session_state["planned"] == PRESETS["class_demo"].size
    at.number_input(key=widget_key("size")).set_value(128).run()
    at.session_state["show_form"] = False  # another page: the form's last value
    assert at.run().session_state["planned"] == 128
    at.session_state["preset"] = "quality"  # a new preset: its size, within this server's cap
    assert at.run().session_state["planned"] == min(PRESETS["quality"].size, hosted_limits().max_size)
    other_page = AppTest.from_function(_form_and_planned_size, default_timeout=30)  # the visitor's next session
    other_page.session_state["preset"], other_page.session_state["device"] = "class_demo", "cpu"
    other_page.session_state["_owner"], other_page.session_state["show_form"] = visitor, False
    assert other_page.run().session_state["planned"] == 128
