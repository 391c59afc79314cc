"""``RunConfig``: everything one optimisation run needs. Each field declares, beside itself, a ``Setting``
(label, help, range, choices, command-line flag, widget): the validation here, the command line's parser
(``nst_core.cli``) and the Run form (``ui.run_form``) are made from it, so a new setting is one field."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import Field, dataclass, field, fields, replace
from numbers import Integral, Real
from pathlib import Path
from typing import Any, Final, Literal, Union

import torch
from torch import Tensor

from ..errors import ConfigError
from ..examples import is_example
from ..images import content_digest
from ..layers import DEFAULT_CONTENT_LAYER, DEFAULT_STYLE_LAYERS, LAYER_INDEX, LAYER_NAMES, layer_shape
from ..losses import STYLE_LOSSES

ImageInput = Union[str, "os.PathLike[str]", bytes, Tensor]
"""A path, the bytes of an image file, a (1, 3, H, W) or (3, H, W) tensor in [0, 1], or a bundled example's name."""

OPTIMIZERS: Final = ("lbfgs", "adam")
INITS: Final = ("content", "noise")
PRESERVE_COLORS: Final = ("none", "luminance", "match")
PARAMETERIZATIONS: Final = ("pixels", "spectral")
DEFAULT_PARAMETERIZATION: Final[dict[str, str]] = {"lbfgs": "spectral", "adam": "pixels"}
"""Used when ``parameterization`` is None. Spectral coordinates keep L-BFGS from speckling the image; Adam's
per-coordinate step sizes undo their scaling, so Adam works on the pixels (measured: ``canvas``'s docstring)."""
SCALE_GROWTH: Final = math.sqrt(2.0)
"""Coarse-to-fine: each scale's longest side is about this times the previous one (as crowsonkb's)."""
DEFAULT_LR: Final[dict[str, float]] = {"lbfgs": 1.0, "adam": 0.02}
"""Learning rate used when ``lr`` is None. L-BFGS scales its steps by a line search, so 1 is its natural
value; Adam moves each pixel by about ``lr`` per step, and 0.02 of the [0, 1] range converges in ~100 steps."""

# α and β multiply the *normalised* terms of the objective (``result.LossScaling``): every style layer's
# term starts at 1 and the content term is the activations' relative squared error. With random weights
# (chelsea + orange_strokes, 192 px, 100 L-BFGS steps) β/α = 3 tints and textures the photo, 5 paints it
# with clear strokes while the eyes, nose and ears stay, 10 dissolves most of the face: 5 is the default.
DEFAULT_ALPHA: Final = 1.0
DEFAULT_BETA: Final = 5.0

MIN_SIZE: Final = 16
MAX_SIZE: Final = 4096
MAX_STEPS: Final = 100_000
MAX_SEED: Final = 2**63 - 1

OPTIMIZER_LABELS: Final = {"lbfgs": "L-BFGS", "adam": "Adam"}
DERIVED_FLAG: Final = ""
"""``Setting.flag``'s default: ``--`` and the field's name with dashes (``style_loss``: ``--style-loss``)."""
SETTING: Final = "setting"
"""The key of a field's ``Setting`` in its ``dataclasses.field`` metadata."""

Kind = Literal["int", "float", "choice", "layer", "other"]
Widget = Literal["number", "radio", "select"]
Section = Literal["objective", "optimisation", "layers", "style", "device"]


@dataclass(frozen=True)
class Setting:
    """What one ``RunConfig`` field means to a person, declared once beside the field.

    ``kind`` says how its value is checked: "int" and "float" (finite) within [``min``, ``max``] (``min``
    excluded with ``min_excluded``), "choice" among ``choices``, "layer" a VGG19 layer's name, "other" by
    ``check`` alone. ``none`` says what None means (e.g. "default"); None then passes, and the form shows
    ``none`` for it. ``check`` holds the rules a range cannot say (other fields, files); it runs after the
    kind's check (not on a None that passes), and ``validate_settings`` skips every check of a field
    ``on_machine`` (images, device, weights file: what depends on where the run is checked).

    The command line: ``flag`` ("--tv"; ``DERIVED_FLAG``: from the name; a name without dashes: a
    positional argument shown as it; None: not on the command line), ``metavar``, ``nargs``, ``append`` (a
    flag given once per value), ``parse`` (the text to the value, each value's with ``nargs``). The Run
    form: ``section`` (where it stands; None: not in the form, or drawn by the sidebar), ``widget`` (a
    radio, else a number input for a number and a selectbox for a choice or a layer; a field of kind
    "other" is drawn by the form's own code), ``unit`` (after the label), ``step``, ``form_min`` (the
    widget's minimum; when None: ``min`` for a whole number, none for a float, whose validation message
    names it) and ``choice_labels``.
    """

    label: str
    help: str
    kind: Kind = "other"
    min: float | None = None
    max: float | None = None
    min_excluded: bool = False
    choices: tuple[str, ...] = ()
    none: str | None = None
    check: Callable[[RunConfig], None] | None = None
    on_machine: bool = False
    flag: str | None = DERIVED_FLAG
    metavar: str | None = None
    nargs: str | None = None
    append: bool = False
    parse: Callable[[str], Any] | None = None
    widget: Widget | None = None
    section: Section | None = None
    unit: str | None = None
    step: float | None = None
    form_min: float | None = None
    choice_labels: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        if self.widget is None and self.section is not None and self.kind != "other":
            object.__setattr__(self, "widget", "number" if self.kind in ("int", "float") else "select")

    def check_value(self, name: str, value: object) -> None:
        """Raise ``ConfigError(name, ...)`` unless ``value`` is of this setting's kind and range."""
        if value is None and self.none is not None:
            return
        if self.kind == "choice" and value not in self.choices:
            raise ConfigError(name, f"must be one of {', '.join(self.choices)}{self._or_none()}, got {value!r}")
        if self.kind == "layer":
            _check_layer(name, value)
        if self.kind in ("int", "float"):
            whole = isinstance(value, Integral) and not isinstance(value, bool)
            number = whole if self.kind == "int" else _finite_real(value)
            if not number or not self._in_range(value):  # type: ignore[arg-type]
                what = "a whole number" if self.kind == "int" else "a finite number"
                unit = f" ({self.unit})" if self.unit else ""
                raise ConfigError(name, f"must be {what}{unit} {self._range()}{self._or_none()}, got {value!r}")

    def _in_range(self, value: float) -> bool:
        """Whether ``value`` is within the bounds, compared as it is (a float would round 2**63 - 1 up)."""
        above = self.min is None or (value > self.min if self.min_excluded else value >= self.min)
        return above and (self.max is None or value <= self.max)

    def _range(self) -> str:
        if self.min is not None and self.max is not None and not self.min_excluded:
            return f"from {_shown(self.min)} to {_shown(self.max)}"
        if self.min is not None:
            return f"{'>' if self.min_excluded else '>='} {_shown(self.min)}"
        return f"<= {_shown(self.max)}"

    def _or_none(self) -> str:
        return f' (or None, "{self.none}")' if self.none is not None else ""


def _shown(bound: float | None) -> str:
    return f"{bound:g}" if isinstance(bound, float) else str(bound)


def setting(default: Any = None, *, default_factory: Callable[[], Any] | None = None, **declared: Any) -> Any:
    """A ``RunConfig`` field with its ``Setting``."""
    if default_factory is not None:
        return field(default_factory=default_factory, metadata={SETTING: Setting(**declared)})
    return field(default=default, metadata={SETTING: Setting(**declared)})


def settings() -> dict[str, Setting]:
    """Every ``RunConfig`` field's ``Setting``, by name, in field order."""
    return {f.name: f.metadata[SETTING] for f in fields(RunConfig)}


def default_of(name: str) -> Any:
    """The default value of ``RunConfig`` field ``name`` (a fresh copy of a mutable one)."""
    f: Field[Any] = RunConfig.__dataclass_fields__[name]
    return f.default_factory() if callable(f.default_factory) else f.default


def flag_of(name: str) -> str | None:
    """How the command line names field ``name`` (a flag, or a positional argument's name); None: not at all."""
    flag = settings()[name].flag
    return "--" + name.replace("_", "-") if flag == DERIVED_FLAG else flag


def parse_layer_weights(spec: str) -> dict[str, float]:
    """``relu1_1,relu3_1`` (equal λ^[l], summing to 1) or ``relu1_1=0.5,relu3_1=0.5`` as layer → λ^[l]."""
    names: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, sep, layer_weight = part.replace(":", "=").partition("=")
        names[name.strip()] = layer_weight.strip() if sep else ""
    if not names:
        raise ConfigError("style_layers", "name at least one layer")
    if all(layer_weight == "" for layer_weight in names.values()):
        return {name: 1.0 / len(names) for name in names}
    try:
        return {name: float(layer_weight) for name, layer_weight in names.items()}
    except ValueError:
        raise ConfigError("style_layers", f"give every layer its λ, or none: {spec!r}") from None


def _check_layer(name: str, layer: object) -> None:
    if not isinstance(layer, str) or layer not in LAYER_INDEX:
        raise ConfigError(name, f"unknown VGG19 layer {layer!r}; valid layers: {', '.join(LAYER_NAMES)}")


def _finite_real(value: object) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(float(value))


def _check_image(name: str, source: object) -> None:
    if source is None:
        raise ConfigError(name, "no image given: pass a path, image bytes, an image tensor or an example's name")
    if isinstance(source, Tensor):
        shape = tuple(source.shape)
        if not (source.dim() == 3 or (source.dim() == 4 and shape[0] == 1)) or shape[-3] != 3:
            raise ConfigError(name, f"an image tensor must be (1, 3, H, W) or (3, H, W), got {shape}")
        if not source.is_floating_point():
            raise ConfigError(name, f"an image tensor must be floating point in [0, 1], got {source.dtype}")
        if min(shape[-2:]) < MIN_SIZE:
            raise ConfigError(name, f"the image is {shape[-1]}x{shape[-2]}; each side must be at least {MIN_SIZE} px")
        values = source.detach()
        if not bool(torch.isfinite(values).all()) or float(values.min()) < 0.0 or float(values.max()) > 1.0:
            raise ConfigError(name, "an image tensor must hold finite values in [0, 1]")
    elif isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise ConfigError(name, "the image bytes are empty")
    elif isinstance(source, (str, os.PathLike)):
        if isinstance(source, str) and not source:
            raise ConfigError(name, "the image path is empty")
        if not Path(source).is_file() and not (isinstance(source, str) and is_example(source)):
            raise ConfigError(name, f"no image file or bundled example named {os.fspath(source)!r}")
    else:
        raise ConfigError(
            name, f"expected a path, bytes, an image tensor or an example's name, not {type(source).__name__}"
        )


def _is_list(value: object) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def _check_style(c: RunConfig) -> None:
    if isinstance(c.style, (list, tuple)) and not c.style:
        raise ConfigError("style", "the list of style images is empty")
    for source in _styles(c):
        _check_image("style", source)


def _styles(c: RunConfig) -> list[ImageInput]:
    return list(c.style) if isinstance(c.style, (list, tuple)) else [c.style]  # type: ignore[arg-type, list-item]


def _check_style_blend(c: RunConfig) -> None:
    if not _is_list(c.style_blend):
        raise ConfigError("style_blend", "give one weight per style image, as a list of numbers")
    if len(c.style_blend) != len(_styles(c)):
        raise ConfigError("style_blend", f"{len(c.style_blend)} weights for {len(_styles(c))} style image(s)")
    if not all(_finite_real(w) and float(w) >= 0.0 for w in c.style_blend):
        raise ConfigError("style_blend", "weights must be finite numbers >= 0")
    if sum(float(w) for w in c.style_blend) <= 0.0:
        raise ConfigError("style_blend", "at least one weight must be positive")


def _check_style_layers(c: RunConfig) -> None:
    if not isinstance(c.style_layers, Mapping) or not c.style_layers:
        raise ConfigError("style_layers", "give at least one layer, as a mapping layer name -> λ")
    for layer, layer_weight in c.style_layers.items():
        _check_layer("style_layers", layer)
        if not _finite_real(layer_weight) or float(layer_weight) < 0.0:
            raise ConfigError("style_layers", f"λ of {layer} must be a finite number >= 0, got {layer_weight!r}")


def _check_beta(c: RunConfig) -> None:
    if float(c.alpha) == 0.0 and float(c.beta) == 0.0:
        raise ConfigError("beta", "alpha and beta are both 0: nothing to optimise")


def _empty_layer(c: RunConfig, side: int) -> str | None:
    """The first layer the run uses that has no positions left in a ``side`` px image (valid names only)."""
    style_layers = c.style_layers if isinstance(c.style_layers, Mapping) else ()
    snapshot_layers = c.snapshot_layers if isinstance(c.snapshot_layers, (list, tuple)) else ()
    layers = [*style_layers, c.content_layer, *snapshot_layers]
    empty = [name for name in layers if name in LAYER_INDEX and 0 in layer_shape(name, side, side)[1:]]
    return empty[0] if empty else None


def _check_positions(c: RunConfig, name: str, advice: str) -> None:
    side = getattr(c, name)
    if (layer := _empty_layer(c, side)) is not None:
        raise ConfigError(name, f"at {side} px layer {layer} has no positions left; use a larger {advice}")


def _check_start_size(c: RunConfig) -> None:
    if c.start_size > c.size:  # type: ignore[operator]
        raise ConfigError("start_size", f"must be None or at most size ({c.size}), got {c.start_size!r}")
    _check_positions(c, "start_size", "start_size")
    if c.steps < len(c.scales):
        raise ConfigError(
            "start_size",
            f"{len(c.scales)} scales from {c.start_size} to {c.size} px need at least {len(c.scales)} steps",
        )


def _check_regions(c: RunConfig) -> None:
    if not _is_list(c.regions):
        raise ConfigError("regions", "give a list of mask images, one per style image (or None)")
    if len(c.regions) != len(_styles(c)):
        raise ConfigError(
            "regions", f"{len(c.regions)} mask(s) for {len(_styles(c))} style image(s): give one per style"
        )
    for mask in c.regions:
        _check_image("regions", mask)


def _check_device(c: RunConfig) -> None:
    device = c.device
    if not isinstance(device, str):
        raise ConfigError("device", f"must be 'auto', 'cpu' or 'cuda', got {device!r}")
    if device in ("auto", "cpu"):
        return
    kind, _, index = device.partition(":")
    if kind != "cuda" or (index and not index.isdigit()):
        raise ConfigError("device", f"must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    if not torch.cuda.is_available():
        raise ConfigError("device", "CUDA is not available on this machine; use 'cpu' or 'auto'")
    if index and int(index) >= torch.cuda.device_count():
        raise ConfigError("device", f"there is no {device}: this machine has {torch.cuda.device_count()} GPU(s)")


def _check_snapshot_layers(c: RunConfig) -> None:
    if not _is_list(c.snapshot_layers):
        raise ConfigError("snapshot_layers", "give a list of layer names (or None for the style layers)")
    for layer in c.snapshot_layers:
        _check_layer("snapshot_layers", layer)


def _check_weights(c: RunConfig) -> None:
    weights = c.weights
    if weights in ("imagenet", "random"):
        return
    if not isinstance(weights, (str, os.PathLike)) or not os.fspath(weights):
        raise ConfigError("weights", f"must be 'imagenet', 'random' or a path to a state dict, got {weights!r}")
    if not Path(weights).expanduser().is_file():
        raise ConfigError(
            "weights", f"no weights file at {os.fspath(weights)!r}; use 'imagenet', 'random' or an existing file"
        )


_SIDE: Final[dict[str, Any]] = {"kind": "int", "min": MIN_SIZE, "max": MAX_SIZE, "step": 16}
"""What ``size`` and ``start_size`` declare alike: a whole number of pixels."""


# Fields are in the order of the Run form (``Setting.section``) and checked in that order; a check that
# reads other fields (``check``) comes after them, or guards against their invalid values.
@dataclass
class RunConfig:
    """One style-transfer run. Call ``validate()`` (``run`` and ``Executor.submit`` do) before using it.

    Each field's ``Setting`` (``settings()``) says what it means, its range or choices. The images
    (``content``, ``style``, ``regions``) are each a path, image bytes, an image tensor or a bundled
    example's name. A field left None takes a default that depends on other fields: ``resolved()`` fills
    them in. ``scales`` and ``scale_steps`` are a coarse-to-fine run's sides and evaluations per scale.
    """

    content: ImageInput | None = setting(
        label="the content image",
        help="The content image: a path or a bundled example's name.",
        check=lambda c: _check_image("content", c.content),
        on_machine=True,
        flag="CONTENT",
    )
    style: ImageInput | Sequence[ImageInput] | None = setting(
        label="the style image",
        help="The style image(s): paths or bundled example names; several are blended as the weighted sum of "
        "their Gram targets (``style_blend``).",
        check=_check_style,
        on_machine=True,
        flag="STYLE",
        nargs="+",
    )
    style_blend: Sequence[float] | None = setting(
        label="Style blend",
        help="One weight per style image, normalised to sum 1 (equal when not given; unused with regions).",
        none="equal",
        check=_check_style_blend,
        metavar="W",
        nargs="+",
        parse=float,
    )
    alpha: float = setting(
        DEFAULT_ALPHA,
        label="α: content weight",
        help="The content term's weight in J = α·J_content + β·J_style.",
        kind="float",
        min=0.0,
        section="objective",
    )
    beta: float = setting(
        DEFAULT_BETA,
        label="β: style weight",
        help="The style term's weight in J = α·J_content + β·J_style.",
        kind="float",
        min=0.0,
        check=_check_beta,
        section="objective",
    )
    content_layer: str = setting(
        DEFAULT_CONTENT_LAYER,
        label="Content layer",
        help="The layer whose activations J_content compares with the content image's.",
        kind="layer",
        metavar="LAYER",
        section="objective",
    )
    init: str = setting(
        "content",
        label="Start from",
        help="The image the optimisation starts from: the content image, or noise.",
        kind="choice",
        choices=INITS,
        widget="radio",
        section="objective",
        choice_labels={"content": "content image", "noise": "noise"},
    )
    size: int = setting(
        256,
        label="Size",
        help="The longest side of the images, in pixels; a smaller image is never enlarged.",
        **_SIDE,
        check=lambda c: _check_positions(c, "size", "size or shallower layers"),
        section="optimisation",
        unit="px, longest side",
    )
    steps: int = setting(
        200,
        label="Steps",
        help="Evaluations of J (forward + backward), whatever the optimiser.",
        kind="int",
        min=1,
        max=MAX_STEPS,
        section="optimisation",
        step=10,
    )
    optimizer: str = setting(
        "lbfgs",
        label="Optimiser",
        help="L-BFGS (steps along a line search) or Adam.",
        kind="choice",
        choices=OPTIMIZERS,
        widget="radio",
        section="optimisation",
        choice_labels=OPTIMIZER_LABELS,
    )
    lr: float | None = setting(
        label="Learning rate",
        help="L-BFGS scales its steps by a line search; Adam moves pixels by ~lr. Not given: the optimiser's "
        f"default ({DEFAULT_LR['lbfgs']:g} for L-BFGS, {DEFAULT_LR['adam']:g} for Adam).",
        kind="float",
        min=0.0,
        min_excluded=True,
        none="default",
        section="optimisation",
        form_min=0.0,
    )
    seed: int = setting(
        0,
        label="Seed",
        help="Seeds the noise start and the sliced Wasserstein projections.",
        kind="int",
        min=0,
        max=MAX_SEED,
        section="optimisation",
    )
    style_layers: Mapping[str, float] = setting(
        default_factory=lambda: dict(DEFAULT_STYLE_LAYERS),
        label="Style layers",
        help="The layers whose Gram matrices J_style compares; each has its weight λ^[l] (equal when none is given).",
        check=_check_style_layers,
        metavar="LAYER[=λ],...",
        parse=parse_layer_weights,
        section="layers",
    )
    start_size: int | None = setting(
        label="Coarse to fine: start size",
        help="Runs small first, then grows the image by √2 per scale: large strokes appear early, and the coarse "
        "scales cost little. Not given (or not below Size): one scale at Size.",
        **_SIDE,
        none="off: one scale",
        check=_check_start_size,
        section="style",
        unit="px",
        metavar="PX",
    )
    tv_weight: float = setting(
        0.0,
        label="TV weight (smoothness)",
        help="Penalises differences between neighbouring pixels: removes speckle; too much blurs the strokes.",
        kind="float",
        min=0.0,
        flag="--tv",
        metavar="W",
        section="style",
        step=0.1,
        form_min=0.0,
    )
    preserve_colors: str = setting(
        "none",
        label="Colours",
        help="none: the style's colours; luminance: only brightness is stylised, the content keeps its colours; "
        "match: the style is recoloured to the content's palette first.",
        kind="choice",
        choices=PRESERVE_COLORS,
        section="style",
        choice_labels={"none": "style's colours", "luminance": "keep content's (luminance)", "match": "match palette"},
    )
    style_loss: str = setting(
        "gram",
        label="Style loss",
        help="gram: the course's Gram matrices; mean_cov: matches mean and covariance of the channels (W2 between "
        "Gaussians); sliced_wasserstein: matches the distribution along random directions.",
        kind="choice",
        choices=STYLE_LOSSES,
        section="style",
    )
    parameterization: str | None = setting(
        label="Optimise",
        help="What the optimiser moves: the pixels, or the image's frequencies (spectral), which lays out strokes "
        "instead of pixel speckle. Same J, another path. Auto (not given): "
        + ", ".join(f"{kind} for {OPTIMIZER_LABELS[name]}" for name, kind in DEFAULT_PARAMETERIZATION.items())
        + ".",
        kind="choice",
        choices=PARAMETERIZATIONS,
        none="auto",
        section="style",
    )
    regions: Sequence[ImageInput] | None = setting(
        label="Region mask",
        help="White where the style applies, black where it does not (guided Gram matrices, one mask per style "
        "image); no mask: everywhere.",
        none="everywhere",
        check=_check_regions,
        on_machine=True,
        flag="--region",
        metavar="MASK",
        append=True,
        section="style",
    )
    device: str = setting(
        "auto",
        label="Device",
        help="Where the run computes: auto, cpu, cuda or cuda:N.",
        check=_check_device,
        on_machine=True,
        section="device",
    )
    snapshot_every: int = setting(
        10,
        label="Snapshot every",
        help="How often the preview and the Gram matrices G_G of the style layers are recorded: at every multiple "
        "of it and at step 0, the starting image (0: never).",
        kind="int",
        min=0,
        flag=None,
        section="device",
        unit="steps",
        form_min=1,
    )
    snapshot_layers: Sequence[str] | None = setting(
        label="Snapshot layers",
        help="The layers whose Gram matrices a snapshot records (None: the style layers).",
        none="the style layers",
        check=_check_snapshot_layers,
        flag=None,
    )
    weights: str | os.PathLike[str] = setting(
        "imagenet",
        label="the weights",
        help="The VGG19 parameters: imagenet (WeightsError with advice when they cannot be had, never a silent "
        "fallback), random (offline) or a state-dict path.",
        check=_check_weights,
        on_machine=True,
    )

    def validate(self) -> RunConfig:
        """Raise ``ConfigError`` naming the first invalid field; return ``self`` when all are valid."""
        return self._checked(on_machine=True)

    def validate_settings(self) -> RunConfig:
        """``validate`` without the checks that depend on this machine or on files: the images, the device
        and the weights file. What a stored run's description must pass, wherever it was made."""
        return self._checked(on_machine=False)

    def _checked(self, on_machine: bool) -> RunConfig:
        for name, declared in settings().items():
            value = getattr(self, name)
            if (declared.on_machine and not on_machine) or (value is None and declared.none is not None):
                continue
            declared.check_value(name, value)
            if declared.check is not None:
                declared.check(self)
        return self

    def resolved(self) -> RunConfig:
        """This configuration with every default that depends on other fields filled in, as a run uses it:
        ``style`` a list, ``style_blend`` normalised to sum 1 (equal when None), ``lr`` and
        ``parameterization`` the optimiser's when None, ``snapshot_layers`` the recorded layers in network
        order (the style layers when None)."""
        style = _styles(self)
        blend = [1.0] * len(style) if self.style_blend is None else [float(w) for w in self.style_blend]
        recorded = self.style_layers if self.snapshot_layers is None else self.snapshot_layers
        return replace(
            self,
            style=style,
            style_blend=[w / sum(blend) for w in blend],
            lr=float(self.lr) if self.lr is not None else DEFAULT_LR[self.optimizer],
            parameterization=self.parameterization or DEFAULT_PARAMETERIZATION[self.optimizer],
            snapshot_layers=sorted(set(recorded), key=LAYER_INDEX.__getitem__),
        )

    @property
    def scales(self) -> list[int]:
        """The longest side of each scale, coarse to fine; the last is ``size``."""
        if self.start_size is None or self.start_size >= self.size:
            return [self.size]
        scales = [int(self.start_size)]
        while (larger := round(scales[-1] * SCALE_GROWTH)) < self.size:
            scales.append(larger)
        return [*scales, self.size]

    @property
    def scale_steps(self) -> list[int]:
        """Evaluations per scale: ``steps`` split evenly, the remainder to the coarsest scales.

        An even split spends most of the time at the finest scale (a step there costs ~2x the previous
        scale's) while the coarse scales, cheap, lay out the large structures.
        """
        n = len(self.scales)
        share, extra = divmod(self.steps, n)
        return [share + (i < extra) for i in range(n)]

    def describe(self) -> dict[str, Any]:
        """The configuration as JSON-friendly values (images are described, not embedded); ``lr`` and
        ``parameterization`` as the run used them."""
        resolved = self.resolved()
        return {f.name: getattr(self, f.name) for f in fields(self)} | {
            "content": describe_image(self.content),
            "style": [describe_image(s) for s in resolved.style],  # type: ignore[union-attr]
            "style_blend": None if self.style_blend is None else list(self.style_blend),
            "style_layers": {k: float(v) for k, v in self.style_layers.items()},
            "lr": resolved.lr,
            "parameterization": resolved.parameterization,
            "regions": None if self.regions is None else [describe_image(mask) for mask in self.regions],
            "snapshot_layers": None if self.snapshot_layers is None else list(self.snapshot_layers),
            "weights": os.fspath(self.weights) if isinstance(self.weights, os.PathLike) else self.weights,
        }


def describe_image(source: object) -> str:
    if isinstance(source, Tensor):
        return f"tensor {'x'.join(map(str, source.shape))}"
    if isinstance(source, (bytes, bytearray, memoryview)):
        return f"upload {content_digest(bytes(source))}"  # names the file (SHA-256), never embeds it
    return os.fspath(source) if isinstance(source, (str, os.PathLike)) else repr(source)
