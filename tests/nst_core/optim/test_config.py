"""RunConfig: every field declares its Setting once, and the validation, the ranges and the resolved defaults
come from there."""

from __future__ import annotations

import math
from dataclasses import fields, replace

import pytest
import torch

from nst_core import ConfigError, RunConfig, run
from nst_core.layers import DEFAULT_STYLE_LAYERS
from nst_core.optim.config import DEFAULT_LR, SETTING, Setting, default_of, flag_of, settings


@pytest.fixture
def config() -> RunConfig:
    pixels = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    return RunConfig(
        content=pixels[..., :48, :], style=pixels, size=64, steps=5, weights="random", device="cpu", snapshot_every=0
    )


_BAD_VALUES = {
    "content": [None, "no/such/image.png", 42, torch.rand(2, 3, 32, 32), torch.full((1, 3, 32, 32), 2.0)],
    "style": [None, [], "not-an-example-or-file"],
    "style_blend": [[1.0, 2.0], [-1.0], [math.nan], [0.0]],
    "size": [0, 8, 10**6, 64.5, True],
    "style_layers": [{}, {"relu9_9": 1.0}, {"relu1_1": -0.1}, {"relu1_1": math.inf}],
    "content_layer": ["relu4_9", 3],
    "alpha": [-1.0, math.nan, math.inf, "1"],
    "beta": [-2.0, math.nan],
    "optimizer": ["sgd", "LBFGS"],
    "lr": [0.0, -1.0, math.nan],
    "steps": [0, -3, 2.5, 10**9],
    "init": ["zeros"],
    "seed": [-1, 1.5, 2**64],
    "device": ["tpu", "gpu", 0, *(["cuda"] if not torch.cuda.is_available() else [])],
    "weights": ["no/such/weights.pth", ""],
    "snapshot_every": [-1, 0.5],
    "snapshot_layers": [["relu0_1"], "relu1_1"],
    "start_size": [8, 65, 32.5, True],
    "tv_weight": [-1.0, math.nan, "1"],
    "preserve_colors": ["yes", None],
    "style_loss": ["histogram", "Gram"],
    "regions": ["mask.png", [], [torch.rand(1, 3, 32, 32)] * 2, ["no/such/mask.png"]],
    "parameterization": ["fourier", "Pixels", 0],
}


@pytest.mark.parametrize(
    "field, value",
    [(name, value) for name, values in _BAD_VALUES.items() for value in values],
    ids=lambda v: v if isinstance(v, str) and v in _BAD_VALUES else None,
)
def test_every_invalid_field_is_rejected_with_its_name(config, field, value) -> None:
    bad = replace(config, **{field: value})
    with pytest.raises(ConfigError) as info:
        bad.validate()
    assert info.value.field == field and str(info.value).startswith(f"{field}: ")
    with pytest.raises(ConfigError):
        run(bad)


def test_the_invalid_values_cover_every_field() -> None:
    """A field whose range or choices say what it refuses is covered by the tests made from them."""
    declared = {name for name, s in settings().items() if s.kind in ("int", "float", "choice") and s.check is None}
    assert set(_BAD_VALUES) | declared == {f.name for f in fields(RunConfig)}


def test_alpha_and_beta_both_zero_is_rejected(config) -> None:
    with pytest.raises(ConfigError, match="beta"):
        replace(config, alpha=0.0, beta=0.0).validate()


def test_every_field_declares_a_setting_that_fits_its_default() -> None:
    for f in fields(RunConfig):
        declared = f.metadata[SETTING]
        assert isinstance(declared, Setting) and declared.label and declared.help, f.name
        default = default_of(f.name)
        if default is not None or declared.none is None:
            declared.check_value(f.name, default)  # the default is within the declared range and choices
        if declared.kind == "choice":
            assert declared.choices and set(declared.choice_labels or ()) <= set(declared.choices), f.name


def _outside(declared: Setting) -> list[float]:
    """Values just outside the declared range (the bound itself when it is excluded)."""
    step = 1 if declared.kind == "int" else 1e-6
    low = [] if declared.min is None else [declared.min if declared.min_excluded else declared.min - step]
    high = [] if declared.max is None else [declared.max + step]
    return [int(v) if declared.kind == "int" else v for v in (*low, *high)]


@pytest.mark.parametrize("name", [name for name, s in settings().items() if s.kind in ("int", "float")])
def test_the_declared_range_is_what_validation_refuses(config, name) -> None:
    declared = settings()[name]
    assert _outside(declared), f"{name} declares no range"
    for value in _outside(declared):
        with pytest.raises(ConfigError) as info:
            replace(config, **{name: value}).validate()
        assert info.value.field == name and str(info.value).startswith(f"{name}: ")
    for bound in (declared.min, declared.max):
        if bound is not None and not (bound == declared.min and declared.min_excluded):
            declared.check_value(name, int(bound) if declared.kind == "int" else float(bound))


@pytest.mark.parametrize("name", [name for name, s in settings().items() if s.kind == "choice"])
def test_the_declared_choices_are_what_validation_accepts(config, name) -> None:
    for choice in settings()[name].choices:
        replace(config, **{name: choice}).validate()
    with pytest.raises(ConfigError) as info:
        replace(config, **{name: "not-a-choice"}).validate()
    assert info.value.field == name and "must be one of" in str(info.value)


def test_the_command_line_flag_is_derived_from_the_name_unless_declared() -> None:
    assert (flag_of("style_loss"), flag_of("tv_weight"), flag_of("regions")) == ("--style-loss", "--tv", "--region")
    assert (flag_of("content"), flag_of("snapshot_every")) == ("CONTENT", None)


def test_validate_settings_skips_only_what_depends_on_the_machine(config) -> None:
    elsewhere = replace(config, content="made/on/another/machine.png", device="cuda:7", weights="/there/vgg.pth")
    assert elsewhere.validate_settings() is elsewhere
    with pytest.raises(ConfigError, match="content"):
        elsewhere.validate()
    with pytest.raises(ConfigError, match="steps"):
        replace(elsewhere, steps=0).validate_settings()


def test_resolved_fills_in_the_defaults_that_depend_on_other_fields() -> None:
    blended = RunConfig(
        style=["a", "b"], style_blend=[3, 1], optimizer="adam", snapshot_layers=["relu3_1", "relu1_1", "relu3_1"]
    )
    resolved = blended.resolved()
    assert (resolved.style, resolved.style_blend, resolved.lr) == (["a", "b"], [0.75, 0.25], DEFAULT_LR["adam"])
    assert (resolved.parameterization, resolved.snapshot_layers) == ("pixels", ["relu1_1", "relu3_1"])
    assert blended.lr is None and blended.style_blend == [3, 1]  # the configuration itself is unchanged
    assert resolved.resolved() == resolved
    single = RunConfig(style="a", lr=0.5, parameterization="pixels").resolved()
    assert (single.style, single.style_blend, single.lr, single.parameterization) == (["a"], [1.0], 0.5, "pixels")
    assert (
        single.snapshot_layers == list(DEFAULT_STYLE_LAYERS) and RunConfig().resolved().parameterization == "spectral"
    )


def test_one_name_per_setting() -> None:
    """The former aliases of five fields are gone: ``resolved()`` gives each field's effective value."""
    for alias in ("styles", "blend", "learning_rate", "image_parameterization", "recorded_layers"):
        assert not hasattr(RunConfig, alias), alias
    assert math.isclose(sum(RunConfig(style=["a", "b", "c"]).resolved().style_blend), 1.0)
