"""The Run form's style controls: each with its caption, the class-demo preset's values, their RunConfig
fields, a region mask upload, and ConfigError sentences that name them."""

from __future__ import annotations

from nst_core import ConfigError, RunConfig
from nst_core.optim.config import PARAMETERIZATIONS, settings
from tests.helpers import run_form_app
from ui.run_form import FIELD_LABELS, config_problem, widget_key
from ui.state import PRESETS

STYLE_CONTROLS = {name: declared.help for name, declared in settings().items() if declared.section == "style"}
"""The one-line "what it does" of each style control, shown under its widget."""
AUTO = settings()["parameterization"].none


def test_each_style_control_has_its_one_line_caption_and_a_field_label() -> None:
    at = run_form_app()
    assert not at.exception
    captions = [caption.value for caption in at.caption]
    for name, what in STYLE_CONTROLS.items():
        assert what in captions, name
        assert name in FIELD_LABELS
    labels = {w.label for kind in ("number_input", "selectbox") for w in at.get(kind)}
    assert {FIELD_LABELS["tv_weight"], FIELD_LABELS["preserve_colors"], FIELD_LABELS["style_loss"]} <= labels


def test_the_class_demo_preset_runs_coarse_to_fine_with_a_little_tv() -> None:
    fields = run_form_app().session_state["fields"]
    preset = PRESETS["class_demo"]
    assert preset.start_size is not None and preset.start_size < preset.size and preset.tv_weight > 0.0
    assert (fields["size"], fields["start_size"], fields["tv_weight"]) == (256, preset.start_size, preset.tv_weight)
    assert (fields["preserve_colors"], fields["style_loss"], fields["regions"]) == ("none", "gram", None)
    assert fields["parameterization"] is None  # L-BFGS's default: spectral
    # A selectbox shows a None value as "Choose an option": the optimiser's default is a named choice.
    choice = run_form_app().selectbox(key=widget_key("parameterization"))
    assert choice.value == AUTO and choice.options == [AUTO, *PARAMETERIZATIONS]
    config = RunConfig(content="chelsea", style="orange_strokes", **fields).validate()
    assert config.scales[0] == preset.start_size and config.scales[-1] == 256


def test_the_controls_reach_the_config_and_a_start_size_not_below_size_means_one_scale() -> None:
    at = run_form_app("quality")
    assert at.session_state["fields"]["start_size"] is None and at.session_state["fields"]["tv_weight"] == 0.0
    at.number_input(key=widget_key("start_size")).set_value(600)
    at.number_input(key=widget_key("tv_weight")).set_value(2.0)
    at.selectbox(key=widget_key("preserve_colors")).set_value("luminance")
    at.selectbox(key=widget_key("style_loss")).set_value("sliced_wasserstein")
    at.selectbox(key=widget_key("parameterization")).set_value("pixels").run()
    fields = at.session_state["fields"]
    assert (fields["start_size"], fields["tv_weight"]) == (None, 2.0)  # 600 px is not below Size (512)
    assert (fields["preserve_colors"], fields["style_loss"]) == ("luminance", "sliced_wasserstein")
    assert fields["parameterization"] == "pixels"
    at.number_input(key=widget_key("start_size")).set_value(128).run()
    assert at.session_state["fields"]["start_size"] == 128


def test_config_errors_of_the_new_fields_name_their_widget() -> None:
    for field in ("start_size", "tv_weight", "preserve_colors", "style_loss", "regions", "parameterization"):
        assert config_problem(ConfigError(field, "bad")) == f"Check **{FIELD_LABELS[field]}**: bad"
