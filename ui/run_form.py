"""The Run page's settings form: its widgets, their starting values and the RunConfig they make.

Streamlit forgets a widget's value once its page is left, so the form keeps its last values in the
session (and, for a reload, by visitor: ``VisitorForms``) and gives every widget its value before it is
drawn: the last one used, else the preset's and the core's defaults. Choosing another preset resets the
fields the preset sets.
"""

from __future__ import annotations

import copy
import dataclasses
import threading
from collections import OrderedDict
from contextlib import nullcontext
from typing import Any, Final

import streamlit as st

from nst_core import ConfigError, RunConfig
from nst_core.layers import DEFAULT_STYLE_LAYERS, LAYER_CHANNELS, RELU_LAYERS
from nst_core.optim.config import OPTIMIZER_LABELS, Section, default_of, settings
from nst_core.serve.admission import hosted_limits

from .owner import owner_token
from .sidebar import preset_options
from .state import (
    PRESETS,
    current_content,
    current_device,
    current_preset,
    current_style,
    current_weights,
    default_preset,
    example_names,
    gpu_available,
)

LAMBDAS_PER_ROW: Final = 5
COLUMNS_PER_ROW: Final = 5
SETTINGS: Final = settings()
SECTIONS: Final[tuple[Section, ...]] = ("objective", "optimisation", "layers", "style", "device")
"""The form's parts, top to bottom; each setting names its own (``Setting.section``)."""
CAPTIONED: Final[frozenset[Section]] = frozenset({"style"})
"""Sections whose widgets show their help as a caption underneath (a style control's one line) instead of a tooltip."""
FIELD_LABELS: Final = {name: declared.label for name, declared in SETTINGS.items()} | {
    "style_layers": "Style layers and their λ",
    "snapshot_layers": "Style layers",  # the form records the style layers
    "content": "the content image (sidebar)",
    "style": "the style image (sidebar)",
    "weights": "the weights (sidebar)",
}
"""The form's label of each RunConfig field, to point at the one a ConfigError names."""
SAVED_FORM: Final = "_run_form"
"""Session key of the form's last values."""
STARTS: Final = "_run_form_starts"
"""Session key of the values the form's widgets start from in this script run (``seed_form``)."""
SETTINGS_LABEL: Final = "Settings: α, β, size, steps, style layers and λ, style controls, device"
SETTINGS_OPEN: Final = "run_settings_open"
"""Session key of the settings expander's state (open or folded); "Use these settings" opens it."""
PRESET_KEY: Final = "run_preset"
REMEMBERED_VISITORS: Final = 1000
MAX_WIDGET_INT: Final = 2**53 - 1
"""The largest whole number a browser's number input holds exactly (a larger maximum is left out)."""


def widget_key(name: str) -> str:
    """Session key of the widget of RunConfig field ``name`` (``layer_weight_<layer>`` for a layer's λ)."""
    return f"run_{name}"


def _layer_weight_key(layer: str) -> str:
    return widget_key(f"layer_weight_{layer}")


DRAWN: Final = [name for name, declared in SETTINGS.items() if declared.widget is not None]
"""The fields whose widgets the form draws from their ``Setting`` alone, in field order."""
_TYPES: Final = {"int": int, "float": float}


def _to_widget(name: str, value: Any) -> Any:
    """A field's value as its widget holds it: None as the choice that stands for it (a selectbox shows a
    None value as no choice), numbers of the widget's type."""
    declared = SETTINGS[name]
    if value is None:
        return declared.none if declared.widget != "number" else None
    return _TYPES.get(declared.kind, lambda v: v)(value)


def _from_widget(name: str, value: Any) -> Any:
    declared = SETTINGS[name]
    if value is None or (declared.none is not None and value == declared.none and declared.widget != "number"):
        return None
    return _TYPES.get(declared.kind, lambda v: v)(value)


def _preset_values() -> dict[str, Any]:
    """The form's values the preset sets: its fields that name a drawn setting, and its device."""
    preset = current_preset()
    drawn = [f.name for f in dataclasses.fields(preset) if f.name in DRAWN]
    return {widget_key(name): _to_widget(name, getattr(preset, name)) for name in drawn} | {
        widget_key("device"): current_device()
    }


class VisitorForms:
    """Each visitor's last form values, by owner token, for the visitor's next session: a reload starts a
    new Streamlit session, which would otherwise reset the form to the preset. In memory (a restart
    forgets them), the ``capacity`` most recent visitors."""

    def __init__(self, capacity: int = REMEMBERED_VISITORS) -> None:
        self._capacity = capacity
        self._forms: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, owner: str) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._forms.get(owner, {}))

    def put(self, owner: str, form: dict[str, Any]) -> None:
        with self._lock:
            self._forms[owner] = copy.deepcopy(form)
            self._forms.move_to_end(owner)
            while len(self._forms) > self._capacity:
                self._forms.popitem(last=False)


@st.cache_resource(show_spinner=False)
def visitor_forms() -> VisitorForms:
    return VisitorForms()


def _shown_by_browser() -> set[str]:
    """Keys of the widgets whose values the browser sent with this run before the session has them: a
    session that starts while a page is open (after a reconnect, or a server restart) receives the form as
    the visitor sees it, and a launch must use exactly that. Streamlit has no public call for this; a keyed
    widget's id ends with "-<key>" (``compute_and_register_element_id``). An empty input (the Learning
    rate's "default") is sent without a value: seeding gives it its None."""
    from streamlit.runtime.state import get_session_state
    from streamlit.runtime.state.session_state import Serialized

    states = get_session_state()._state._new_widget_state.states
    sent = {
        widget_id.rsplit("-", 1)[-1]
        for widget_id, state in states.items()
        if isinstance(state, Serialized) and state.value.WhichOneof("value") is not None
    }
    return sent - set(st.session_state.keys())


def _starts(saved: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """The value each form widget starts from, and the keys a newly chosen preset resets: the preset's
    values for those, else the ``saved`` ones, else the preset's and the core's defaults."""
    preset = _preset_values()
    reset = set(preset) if saved.get("preset") != current_preset().title else set()
    defaults = {
        **{widget_key(name): _to_widget(name, default_of(name)) for name in DRAWN},
        widget_key("style_layers"): list(DEFAULT_STYLE_LAYERS),
        **{_layer_weight_key(layer): DEFAULT_STYLE_LAYERS.get(layer, 0.2) for layer in RELU_LAYERS},
        **preset,
    }
    return {key: value if key in reset else saved.get(key, value) for key, value in defaults.items()}, reset


def seed_form() -> list[str]:
    """Give every form widget its starting value (unless the browser already shows one); returns the form's keys."""
    if SAVED_FORM not in st.session_state:
        st.session_state[SAVED_FORM] = visitor_forms().get(owner_token())
    saved: dict[str, Any] = st.session_state[SAVED_FORM]
    starts, reset = _starts(saved)
    saved["preset"] = current_preset().title
    st.session_state[STARTS] = starts
    shown = _shown_by_browser()  # the values the visitor sees: a session state value would silently replace them
    for key, value in starts.items():
        if key not in shown and (key in reset or key not in st.session_state):
            st.session_state[key] = value
    return list(starts)


def save_form(keys: list[str]) -> None:
    """Remember the form's values for the next visit of the page, and for this visitor's next session (a
    value the browser sent for a widget this run did not draw, a λ of an unchosen layer, is not in the
    session yet: the remembered one stays)."""
    state = st.session_state
    state[SAVED_FORM].update({key: state[key] for key in keys if key in state})
    visitor_forms().put(owner_token(), state[SAVED_FORM])


def planned_size() -> int:
    """The Size the Run form holds, or starts with on this visitor's next visit of the Run page. The analysis
    pages analyse at it, so that the G_S they show is the one the next run optimises towards."""
    saved = st.session_state.get(SAVED_FORM)
    starts, _ = _starts(visitor_forms().get(owner_token()) if saved is None else saved)
    key = widget_key("size")
    return min(int(st.session_state.get(key, starts[key])), hosted_limits().max_size)


def _start(key: str) -> Any:
    """The value of the widget with session key ``key``, given to the widget as its default too. A widget the
    browser first mounts after the run that seeded it (one in the folded settings) starts from its default,
    and sends that back: without it a launch could send an empty layer list or a 0 for a λ. A value the
    browser sent is not in the session until its widget is drawn: then the value the form started from."""
    return st.session_state[key] if key in st.session_state else st.session_state[STARTS][key]


def _widget(name: str, caps: dict[str, tuple[int, str]], captioned: bool) -> None:
    """Field ``name``'s widget, made from its ``Setting``, in the current column; its help as a caption or a tooltip."""
    declared, key = SETTINGS[name], widget_key(name)
    label = declared.label + (f" ({declared.unit})" if declared.unit else "")
    help_text = declared.help
    if name in caps:
        cap, variable = caps[name]
        unit = f" {declared.unit.split(',')[0]}" if declared.unit else ""  # "px", not "px, longest side"
        help_text += f" At most {cap}{unit} on this server (`{variable}`)."
    tooltip = None if captioned else help_text
    if declared.widget == "number":
        number = int if declared.kind == "int" else float
        # A number below a float's range is let through to the validation, whose message names the field.
        low = declared.form_min if declared.form_min is not None or declared.kind == "float" else declared.min
        high = min(declared.max, caps[name][0]) if name in caps and declared.max is not None else declared.max
        st.number_input(
            label,
            min_value=None if low is None else number(low),
            max_value=None if high is None or high > MAX_WIDGET_INT else number(high),
            step=None if declared.step is None else number(declared.step),
            format="%g" if declared.kind == "float" else None,
            value=_start(key),
            key=key,
            placeholder=declared.none,
            help=tooltip,
        )
    else:
        # The choices after the one that stands for None; a layer's: the ReLUs.
        options = RELU_LAYERS if declared.kind == "layer" else list(declared.choices)
        options = options if declared.none is None else [declared.none, *options]
        choose = st.radio if declared.widget == "radio" else st.selectbox
        extra = {"horizontal": True} if declared.widget == "radio" else {}
        choose(
            label,
            options,
            index=options.index(_start(key)),
            key=key,
            format_func=(declared.choice_labels or {}).get if declared.choice_labels else str,
            help=tooltip,
            **extra,
        )
    if captioned:
        st.caption(help_text)


def _draw_widgets() -> dict[str, float]:
    """Draw the settings, section by section: each section's widgets in rows of columns, then its wide ones
    (the style layers and their λ, the region mask); returns the λ of each chosen style layer."""
    limits = hosted_limits()
    # The fields this server caps, with the cap and the environment variable that sets it.
    caps = {"size": (limits.max_size, "STYLE_LENS_MAX_SIZE"), "steps": (limits.max_steps, "STYLE_LENS_MAX_STEPS")}
    for name, (cap, _) in caps.items():
        # A remembered, preset or copied value within the cap (a number input refuses a value above its
        # maximum); a value the browser sent its input already kept within it.
        if widget_key(name) in st.session_state:
            st.session_state[widget_key(name)] = min(st.session_state[widget_key(name)], cap)
    layer_weights: dict[str, float] = {}
    for section in SECTIONS:
        names = [name for name, declared in SETTINGS.items() if declared.section == section]
        in_columns = [name for name in names if SETTINGS[name].widget is not None or name == "device"]
        with st.expander("Device and snapshots") if section == "device" else nullcontext():
            width = max(1, min(len(in_columns), COLUMNS_PER_ROW))  # a last, shorter row keeps the columns' width
            for row in range(0, len(in_columns), width):
                chosen = in_columns[row : row + width]
                for column, name in zip(st.columns(width), chosen, strict=False):
                    with column:
                        if name == "device":  # drawn by the form's own code: the devices this machine has
                            _device()
                        else:
                            _widget(name, caps, section in CAPTIONED)
            if "style_layers" in names:
                layer_weights = _style_layers()
            if "regions" in names:
                _region_mask()
    return layer_weights


def _style_layers() -> dict[str, float]:
    """The style layers and, under them, each chosen layer's λ; returns layer -> λ."""
    layers = st.multiselect(
        SETTINGS["style_layers"].label,
        RELU_LAYERS,
        default=_start(widget_key("style_layers")),
        key=widget_key("style_layers"),
        help=SETTINGS["style_layers"].help,
    )
    layer_weights: dict[str, float] = {}
    for row in range(0, len(layers), LAMBDAS_PER_ROW):
        chosen = layers[row : row + LAMBDAS_PER_ROW]
        for column, layer in zip(st.columns(LAMBDAS_PER_ROW), chosen, strict=False):
            layer_weights[layer] = column.number_input(
                f"λ {layer} ({LAYER_CHANNELS[layer]} ch)",
                value=_start(_layer_weight_key(layer)),
                key=_layer_weight_key(layer),
                format="%g",
                step=0.05,
            )
    return layer_weights


def _region_mask() -> None:
    st.file_uploader(
        f"{SETTINGS['regions'].label} for the style image (optional)",
        type=["png", "jpg", "jpeg", "webp"],
        key=widget_key("regions"),
    )
    st.caption(SETTINGS["regions"].help)


def _device() -> None:
    devices = ["cuda", "cpu"] if gpu_available() else ["cpu"]
    st.radio(
        SETTINGS["device"].label,
        devices,
        index=devices.index(_start(widget_key("device"))),
        key=widget_key("device"),
        horizontal=True,
    )


def form_fields(layer_weights: dict[str, float]) -> dict[str, Any]:
    """RunConfig's fields as the form's widgets hold them (the images and weights aside: the sidebar's)."""
    state = st.session_state
    fields = {name: _from_widget(name, state[widget_key(name)]) for name in DRAWN}
    start, mask = fields["start_size"], state.get(widget_key("regions"))
    return fields | {
        "style_layers": layer_weights,
        "snapshot_layers": tuple(layer_weights),
        "device": state[widget_key("device")],
        # Not below Size: one scale, so a preset's start size needs no editing for a tiny run.
        "start_size": None if start is None or int(start) >= fields["size"] else int(start),
        "regions": None if mask is None else [mask.getvalue()],  # one per style image: the sidebar has one
    }


def run_settings() -> dict[str, Any]:
    """The settings form, drawn with its remembered values and folded away (the preset and Launch are what
    a class needs on screen); returns RunConfig's fields."""
    keys = seed_form()
    with st.expander(SETTINGS_LABEL, key=SETTINGS_OPEN, on_change="rerun", icon=":material/tune:"):
        fields = form_fields(_draw_widgets())
    save_form(keys)
    return fields


def preset_picker() -> None:
    """The sidebar's preset, offered again beside Launch: the sidebar's own picker is below the fold of a
    projector. Either picker changes both."""
    st.session_state[PRESET_KEY] = st.session_state.get("preset", default_preset())
    st.selectbox(
        "Preset",
        preset_options(),
        format_func=lambda k: PRESETS[k].title,
        key=PRESET_KEY,
        on_change=lambda: st.session_state.update(preset=st.session_state[PRESET_KEY]),
        help="Size, steps, optimiser and snapshots for the occasion; fine-tune them under Settings.",
    )


def settings_summary(fields: dict[str, Any]) -> str:
    """The settings a class should know at a glance, in one line (Markdown)."""
    layers = fields["style_layers"]
    optimizer = OPTIMIZER_LABELS.get(fields["optimizer"], fields["optimizer"])
    return (
        f"**{fields['size']} px**, **{fields['steps']} steps** of {optimizer}, α = {fields['alpha']:g}, "
        f"β = {fields['beta']:g}, {len(layers)} style layer{'' if len(layers) == 1 else 's'}"
    )


def run_config(fields: dict[str, Any]) -> RunConfig:
    """The run's configuration with the sidebar's images and weights, validated; raises ``ConfigError``."""
    images = {"content": current_content().run_input, "style": current_style().run_input}
    return RunConfig(**images, weights=current_weights(), **fields).validate()


def use_settings(config: RunConfig) -> None:
    """Copy a (stored) run's settings into the form, and its images into the sidebar when they are bundled
    examples; call it from a widget callback only. A region mask is an upload the form cannot refill."""
    state = st.session_state
    for name in DRAWN:
        state[widget_key(name)] = _to_widget(name, getattr(config, name))
    state[widget_key("style_layers")] = list(config.style_layers)
    for layer, layer_weight in config.style_layers.items():
        state[_layer_weight_key(layer)] = float(layer_weight)
    if config.device in ("cuda", "cpu") and (config.device == "cpu" or gpu_available()):
        state[widget_key("device")] = config.device
    for slot, source in (("content", config.content), ("style", config.style)):
        if isinstance(source, str) and source in example_names(slot):
            state[slot] = source


def config_problem(exc: ConfigError) -> str:
    """A ConfigError as a sentence that names the form's field."""
    reason = str(exc).removeprefix(f"{exc.field}: ")
    return f"Check **{FIELD_LABELS.get(exc.field, exc.field)}**: {reason}"
