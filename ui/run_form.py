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
from typing import Any, Final

import streamlit as st

from nst_core import ConfigError, RunConfig
from nst_core.layers import DEFAULT_CONTENT_LAYER, DEFAULT_STYLE_LAYERS, LAYER_CHANNELS, RELU_LAYERS
from nst_core.losses import STYLE_LOSSES
from nst_core.optim import DEFAULT_LR, MAX_SIZE, MIN_SIZE
from nst_core.optim.config import DEFAULT_PARAMETERIZATION, PARAMETERIZATIONS, PRESERVE_COLORS
from nst_core.serve.admission import HostedLimits, hosted_limits

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
FIELD_LABELS: Final = {
    "alpha": "α: content weight",
    "beta": "β: style weight",
    "content_layer": "Content layer",
    "size": "Size",
    "steps": "Steps",
    "optimizer": "Optimiser",
    "lr": "Learning rate",
    "seed": "Seed",
    "style_layers": "Style layers and their λ",
    "snapshot_layers": "Style layers",
    "snapshot_every": "Snapshot every",
    "device": "Device",
    "start_size": "Coarse to fine: start size",
    "tv_weight": "TV weight (smoothness)",
    "preserve_colors": "Colours",
    "style_loss": "Style loss",
    "regions": "Region mask",
    "parameterization": "Optimise",
    "content": "the content image (sidebar)",
    "style": "the style image (sidebar)",
    "weights": "the weights (sidebar)",
}
"""The form's label of each RunConfig field, to point at the one a ConfigError names."""
SAVED_FORM: Final = "_run_form"
STARTS: Final = "_run_form_starts"
"""Session key of the values the form's widgets start from in this script run (``seed_form``)."""
SETTINGS_LABEL: Final = "Settings: α, β, size, steps, style layers and λ, style controls, device"
SETTINGS_OPEN: Final = "run_settings_open"
"""Session key of the settings expander's state (open or folded); "Use these settings" opens it."""
PRESET_KEY: Final = "run_preset"
"""Session key of the form's last values."""
REMEMBERED_VISITORS: Final = 1000
_DEFAULTS: Final = {field.name: field.default for field in dataclasses.fields(RunConfig)}
OPTIMIZER_LABELS: Final = {"lbfgs": "L-BFGS", "adam": "Adam"}
AUTO: Final = "auto"
"""The Optimise widget's value for ``parameterization=None``: a selectbox shows a None value as no choice."""
STYLE_CONTROLS: Final = {
    "start_size": "Runs small first, then grows the image by √2 per scale: large strokes appear early, and "
    "the coarse scales cost little. Empty (or not below Size): one scale at Size.",
    "tv_weight": "Penalises differences between neighbouring pixels: removes speckle; too much blurs the strokes.",
    "preserve_colors": "none: the style's colours; luminance: only brightness is stylised, the content keeps its "
    "colours; match: the style is recoloured to the content's palette first.",
    "style_loss": "gram: the course's Gram matrices; mean_cov: matches mean and covariance of the channels (W2 "
    "between Gaussians); sliced_wasserstein: matches the distribution along random directions.",
    "regions": "White where the style applies, black where it does not (guided Gram matrices); no mask: everywhere.",
    "parameterization": "What the optimiser moves: the pixels, or the image's frequencies (spectral), which "
    "lays out strokes instead of pixel speckle. Same J, another path. Auto: "
    + ", ".join(f"{kind} for {OPTIMIZER_LABELS[name]}" for name, kind in DEFAULT_PARAMETERIZATION.items())
    + ".",
}
"""The one-line "what it does" of each style control, shown under its widget."""
COLOUR_LABELS: Final = {"none": "style's colours", "luminance": "keep content's (luminance)", "match": "match palette"}


def widget_key(name: str) -> str:
    """Session key of the widget of RunConfig field ``name`` (``lambda_<layer>`` for a layer's λ)."""
    return f"run_{name}"


def _lambda_key(layer: str) -> str:
    return widget_key(f"lambda_{layer}")


def _preset_values() -> dict[str, Any]:
    preset = current_preset()
    return {
        widget_key("size"): preset.size,
        widget_key("steps"): preset.steps,
        widget_key("optimizer"): preset.optimizer,
        widget_key("snapshot_every"): preset.snapshot_every,
        widget_key("start_size"): preset.start_size,
        widget_key("tv_weight"): float(preset.tv_weight),
        widget_key("device"): current_device(),
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


def seed_form() -> list[str]:
    """Give every form widget its starting value (unless the browser already shows one); returns the form's keys."""
    if SAVED_FORM not in st.session_state:
        st.session_state[SAVED_FORM] = visitor_forms().get(owner_token())
    saved: dict[str, Any] = st.session_state[SAVED_FORM]
    preset = _preset_values()
    fresh = saved.get("preset") != current_preset().title
    saved["preset"] = current_preset().title
    defaults = {
        widget_key("alpha"): float(_DEFAULTS["alpha"]),
        widget_key("beta"): float(_DEFAULTS["beta"]),
        widget_key("lr"): _DEFAULTS["lr"],
        widget_key("init"): _DEFAULTS["init"],
        widget_key("seed"): int(_DEFAULTS["seed"]),
        widget_key("content_layer"): DEFAULT_CONTENT_LAYER,
        widget_key("preserve_colors"): _DEFAULTS["preserve_colors"],
        widget_key("style_loss"): _DEFAULTS["style_loss"],
        widget_key("parameterization"): _DEFAULTS["parameterization"] or AUTO,
        widget_key("style_layers"): list(DEFAULT_STYLE_LAYERS),
        **{_lambda_key(layer): DEFAULT_STYLE_LAYERS.get(layer, 0.2) for layer in RELU_LAYERS},
        **preset,
    }
    starts = {key: value if fresh and key in preset else saved.get(key, value) for key, value in defaults.items()}
    st.session_state[STARTS] = starts
    shown = _shown_by_browser()
    for key, value in starts.items():
        if key in shown:
            continue  # the value the visitor sees: a session state value would silently replace it
        if (fresh and key in preset) or key not in st.session_state:
            st.session_state[key] = value
    return list(defaults)


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
    key = widget_key("size")
    saved = st.session_state.get(SAVED_FORM)
    if saved is None:
        saved = visitor_forms().get(owner_token())
    if key in st.session_state:
        size = st.session_state[key]
    elif saved.get("preset") == current_preset().title and key in saved:
        size = saved[key]
    else:
        size = current_preset().size
    return min(int(size), hosted_limits().max_size)


def _cap(limits: HostedLimits) -> None:
    """Bring a remembered, preset or copied size and step count within this server's limits (a number input
    refuses a value above its maximum)."""
    for name, cap in (("size", limits.max_size), ("steps", limits.max_steps)):
        key = widget_key(name)
        if key in st.session_state:  # else the browser's value, which its input already kept within the cap
            st.session_state[key] = min(st.session_state[key], cap)


def _start(key: str) -> Any:
    """The value of the widget with session key ``key``, given to the widget as its default too. A widget the
    browser first mounts after the run that seeded it (one in the folded settings) starts from its default,
    and sends that back: without it a launch could send an empty layer list or a 0 for a λ. A value the
    browser sent is not in the session until its widget is drawn: then the value the form started from."""
    return st.session_state[key] if key in st.session_state else st.session_state[STARTS][key]


def _current(name: str) -> Any:
    """``_start`` of RunConfig field ``name``'s widget."""
    return _start(widget_key(name))


def _index(options: Any, name: str) -> int:
    """The position of the seeded value among a radio's or selectbox's options (its default, as for ``_current``)."""
    return list(options).index(_current(name))


def _draw_widgets() -> dict[str, float]:
    """Draw the settings; returns the λ of each chosen style layer."""
    limits = hosted_limits()
    _cap(limits)
    c1, c2, c3, c4 = st.columns(4)
    c1.number_input(
        "α: content weight",
        value=_current("alpha"),
        key=widget_key("alpha"),
        format="%g",
        help="J = α·J_content + β·J_style",
    )
    c2.number_input(
        "β: style weight",
        value=_current("beta"),
        key=widget_key("beta"),
        format="%g",
        help="J = α·J_content + β·J_style",
    )
    c3.selectbox(
        "Content layer",
        RELU_LAYERS,
        index=_index(RELU_LAYERS, "content_layer"),
        key=widget_key("content_layer"),
        help="The layer whose activations J_content compares with the content image's.",
    )
    c4.radio(
        "Start from",
        ["content", "noise"],
        index=_index(["content", "noise"], "init"),
        key=widget_key("init"),
        horizontal=True,
        format_func={"content": "content image", "noise": "noise"}.get,
    )
    c1, c2, c3, c4, c5 = st.columns(5)
    c1.number_input(
        "Size (px, longest side)",
        min_value=MIN_SIZE,
        max_value=limits.max_size,
        step=16,
        value=_current("size"),
        key=widget_key("size"),
        help=f"At most {limits.max_size} px on this server (`STYLE_LENS_MAX_SIZE`).",
    )
    c2.number_input(
        "Steps",
        min_value=1,
        max_value=limits.max_steps,
        step=10,
        value=_current("steps"),
        key=widget_key("steps"),
        help=f"Evaluations of J; at most {limits.max_steps} on this server (`STYLE_LENS_MAX_STEPS`).",
    )
    c3.radio(
        "Optimiser",
        list(OPTIMIZER_LABELS),
        index=_index(list(OPTIMIZER_LABELS), "optimizer"),
        key=widget_key("optimizer"),
        format_func=OPTIMIZER_LABELS.get,
    )
    c4.number_input(
        "Learning rate",
        min_value=0.0,
        value=_current("lr"),
        key=widget_key("lr"),
        format="%g",
        placeholder="default",
        help=(
            f"Empty: the optimiser's default ({DEFAULT_LR['lbfgs']:g} for L-BFGS, {DEFAULT_LR['adam']:g} for Adam). "
            "L-BFGS scales its steps by a line search; Adam moves pixels by ~lr."
        ),
    )
    c5.number_input("Seed", min_value=0, step=1, value=_current("seed"), key=widget_key("seed"))
    layers = st.multiselect(
        "Style layers",
        RELU_LAYERS,
        default=_current("style_layers"),
        key=widget_key("style_layers"),
        help="The layers whose Gram matrices J_style compares; each has its weight λ^[l].",
    )
    layer_weights: dict[str, float] = {}
    for row in range(0, len(layers), LAMBDAS_PER_ROW):
        chosen = layers[row : row + LAMBDAS_PER_ROW]
        for column, layer in zip(st.columns(LAMBDAS_PER_ROW), chosen, strict=False):
            layer_weights[layer] = column.number_input(
                f"λ {layer} ({LAYER_CHANNELS[layer]} ch)",
                value=_start(_lambda_key(layer)),
                key=_lambda_key(layer),
                format="%g",
                step=0.05,
            )
    _style_controls()
    with st.expander("Device and snapshots"):
        left, right = st.columns(2)
        devices = ["cuda", "cpu"] if gpu_available() else ["cpu"]
        left.radio("Device", devices, index=_index(devices, "device"), key=widget_key("device"), horizontal=True)
        right.number_input(
            "Snapshot every (steps)",
            min_value=1,
            step=1,
            value=_current("snapshot_every"),
            key=widget_key("snapshot_every"),
            help="How often the preview and the Gram matrices G_G of the style layers are recorded.",
        )
    return layer_weights


def _style_controls() -> None:
    """Coarse-to-fine, TV, colours, loss, what is optimised and region mask, each with its one-line caption."""
    c1, c2, c3, c4, c5 = st.columns(5)
    with c1:
        st.number_input(
            FIELD_LABELS["start_size"] + " (px)",
            min_value=MIN_SIZE,
            max_value=MAX_SIZE,
            step=16,
            value=_current("start_size"),
            key=widget_key("start_size"),
            placeholder="off: one scale",
        )
        st.caption(STYLE_CONTROLS["start_size"])
    with c2:
        st.number_input(
            FIELD_LABELS["tv_weight"],
            min_value=0.0,
            step=0.1,
            format="%g",
            value=_current("tv_weight"),
            key=widget_key("tv_weight"),
        )
        st.caption(STYLE_CONTROLS["tv_weight"])
    with c3:
        st.selectbox(
            FIELD_LABELS["preserve_colors"],
            PRESERVE_COLORS,
            index=_index(PRESERVE_COLORS, "preserve_colors"),
            key=widget_key("preserve_colors"),
            format_func=COLOUR_LABELS.get,
        )
        st.caption(STYLE_CONTROLS["preserve_colors"])
    with c4:
        st.selectbox(
            FIELD_LABELS["style_loss"],
            STYLE_LOSSES,
            index=_index(STYLE_LOSSES, "style_loss"),
            key=widget_key("style_loss"),
        )
        st.caption(STYLE_CONTROLS["style_loss"])
    with c5:
        st.selectbox(
            FIELD_LABELS["parameterization"],
            [AUTO, *PARAMETERIZATIONS],
            index=_index([AUTO, *PARAMETERIZATIONS], "parameterization"),
            key=widget_key("parameterization"),
        )
        st.caption(STYLE_CONTROLS["parameterization"])
    st.file_uploader(
        f"{FIELD_LABELS['regions']} for the style image (optional)",
        type=["png", "jpg", "jpeg", "webp"],
        key=widget_key("regions"),
    )
    st.caption(STYLE_CONTROLS["regions"])


def _regions() -> list[bytes] | None:
    """The uploaded mask's bytes, one per style image (the sidebar has one), or None."""
    upload = st.session_state.get(widget_key("regions"))
    return None if upload is None else [upload.getvalue()]


def _start_size(value: float | None, size: int) -> int | None:
    """None (one scale) when empty or not below Size: a preset's start size then needs no editing for a tiny run."""
    return None if value is None or int(value) >= size else int(value)


def form_fields(layer_weights: dict[str, float]) -> dict[str, Any]:
    """RunConfig's fields as the form's widgets hold them (the images, weights and device aside)."""
    state = st.session_state
    return {
        "alpha": state[widget_key("alpha")],
        "beta": state[widget_key("beta")],
        "content_layer": state[widget_key("content_layer")],
        "init": state[widget_key("init")],
        "size": int(state[widget_key("size")]),
        "steps": int(state[widget_key("steps")]),
        "optimizer": state[widget_key("optimizer")],
        "lr": state[widget_key("lr")],
        "seed": int(state[widget_key("seed")]),
        "style_layers": layer_weights,
        "snapshot_layers": tuple(layer_weights),
        "device": state[widget_key("device")],
        "snapshot_every": int(state[widget_key("snapshot_every")]),
        "start_size": _start_size(state[widget_key("start_size")], int(state[widget_key("size")])),
        "tv_weight": float(state[widget_key("tv_weight")]),
        "preserve_colors": state[widget_key("preserve_colors")],
        "style_loss": state[widget_key("style_loss")],
        "regions": _regions(),
        "parameterization": None
        if state[widget_key("parameterization")] == AUTO
        else state[widget_key("parameterization")],
    }


def run_settings() -> dict[str, Any]:
    """The settings form, drawn with its remembered values and folded away (the preset and Launch are what
    a class needs on screen); returns RunConfig's fields."""
    keys = seed_form()
    with st.expander(SETTINGS_LABEL, key=SETTINGS_OPEN, on_change="rerun", icon=":material/tune:"):
        fields = form_fields(_draw_widgets())
    save_form(keys)
    return fields


def _take_preset() -> None:
    st.session_state["preset"] = st.session_state[PRESET_KEY]


def preset_picker() -> None:
    """The sidebar's preset, offered again beside Launch: the sidebar's own picker is below the fold of a
    projector. Either picker changes both."""
    st.session_state[PRESET_KEY] = st.session_state.get("preset", default_preset())
    st.selectbox(
        "Preset",
        preset_options(),
        format_func=lambda k: PRESETS[k].title,
        key=PRESET_KEY,
        on_change=_take_preset,
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
    config = RunConfig(
        content=current_content().run_input, style=current_style().run_input, weights=current_weights(), **fields
    )
    config.validate()
    return config


def use_settings(config: RunConfig) -> None:
    """Copy a (stored) run's settings into the form, and its images into the sidebar when they are bundled
    examples; call it from a widget callback only. A region mask is an upload the form cannot refill."""
    state = st.session_state
    copied = ("alpha", "beta", "content_layer", "init", "size", "steps", "optimizer", "lr", "seed", "snapshot_every")
    for name in (*copied, "start_size", "preserve_colors", "style_loss"):
        state[widget_key(name)] = getattr(config, name)
    state[widget_key("tv_weight")] = float(config.tv_weight)
    state[widget_key("parameterization")] = config.parameterization or AUTO
    state[widget_key("style_layers")] = list(config.style_layers)
    for layer, weight in config.style_layers.items():
        state[_lambda_key(layer)] = float(weight)
    if config.device in ("cuda", "cpu") and (config.device == "cpu" or gpu_available()):
        state[widget_key("device")] = config.device
    for slot, source in (("content", config.content), ("style", config.style)):
        if isinstance(source, str) and source in example_names(slot):
            state[slot] = source


def config_problem(exc: ConfigError) -> str:
    """A ConfigError as a sentence that names the form's field."""
    reason = str(exc).removeprefix(f"{exc.field}: ")
    return f"Check **{FIELD_LABELS.get(exc.field, exc.field)}**: {reason}"
