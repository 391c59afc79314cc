"""Command line: ``python -m nst_core stylize CONTENT STYLE -o OUT.png`` and ``python -m nst_core gram IMAGE ...``.

A user mistake (malformed arguments, missing file, bad number, unknown layer, weights unavailable) prints
one ``error: ...`` line and exits with status 2 (``EXIT_USER_MISTAKE``); a run that fails on its own (its
loss became NaN, the device ran out of memory) exits with 1 (``EXIT_FAILURE``). Never a traceback.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn, TextIO

import numpy as np
import torch
from PIL import Image

from .errors import ConfigError, ImageError, NSTError, WeightsError
from .extractor import load_extractor, resolve_device
from .gram_views import VIEWS, gram_view
from .images import to_pil
from .layers import DEFAULT_STYLE_LAYERS
from .losses import STYLE_LOSSES
from .optim.config import DEFAULT_PARAMETERIZATION, INITS, OPTIMIZERS, PARAMETERIZATIONS, PRESERVE_COLORS, RunConfig
from .optim.engine import run
from .optim.result import RunProgress
from .optim.sources import load_input

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
GRAM_SUFFIXES = (".png", ".npy")
GRAM_PICTURE_SIDE = 512
"""A Gram picture is enlarged (each entry a square of pixels) to at least this many pixels a side."""
_DEFAULTS = RunConfig()  # the command line's defaults are the library's
EXIT_FAILURE = 1
EXIT_USER_MISTAKE = 2
"""argparse's own status for malformed arguments; every other mistake in what the user asked gives it too."""


class _UserError(Exception):
    """A mistake on the command line, reported as one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USER_MISTAKE, f"error: {message} (see '{self.prog} --help')\n")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m nst_core", description="Style Lens: Gatys neural style transfer, made visible.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    stylize = commands.add_parser("stylize", help="stylise a content image with one or more style images")
    stylize.add_argument("content", metavar="CONTENT", help="content image: a path or a bundled example's name")
    stylize.add_argument("style", metavar="STYLE", nargs="+", help="style image(s): paths or bundled example names")
    stylize.add_argument("-o", "--output", required=True, type=Path, help="the image to write (.png, .jpg, ...)")
    stylize.add_argument("--history", type=Path, help="JSON of every step's costs (default: OUTPUT with .json)")
    stylize.add_argument("--style-blend", type=float, nargs="+", metavar="W", help="one weight per style image")
    d = _DEFAULTS
    stylize.add_argument("--size", type=int, default=d.size, help=f"longest side in pixels (default {d.size})")
    stylize.add_argument("--steps", type=int, default=d.steps, help=f"evaluations of J (default {d.steps})")
    stylize.add_argument("--alpha", type=float, default=d.alpha, help=f"content weight (default {d.alpha:g})")
    stylize.add_argument("--beta", type=float, default=d.beta, help=f"style weight (default {d.beta:g})")
    stylize.add_argument("--optimizer", choices=OPTIMIZERS, default=d.optimizer)
    stylize.add_argument("--lr", type=float, help="learning rate (default: 1 for lbfgs, 0.02 for adam)")
    stylize.add_argument("--init", choices=INITS, default=d.init, help="start from the content or from noise")
    stylize.add_argument("--seed", type=int, default=d.seed)
    stylize.add_argument("--style-layers", help="e.g. relu1_1,relu3_1 (equal λ) or relu1_1=0.5,relu3_1=0.5")
    stylize.add_argument("--content-layer", default=d.content_layer)
    stylize.add_argument(
        "--start-size", type=int, metavar="PX", help="coarse-to-fine from this size up to --size (default: one scale)"
    )
    stylize.add_argument(
        "--tv", type=float, default=d.tv_weight, metavar="W", help="total-variation weight against speckle (default 0)"
    )
    stylize.add_argument(
        "--preserve-colors",
        choices=PRESERVE_COLORS,
        default=d.preserve_colors,
        help="keep the content's colours: luminance-only transfer, or match the style's colours first",
    )
    stylize.add_argument(
        "--style-loss", choices=STYLE_LOSSES, default=d.style_loss, help="how style statistics compare"
    )
    stylize.add_argument(
        "--region",
        action="append",
        metavar="MASK",
        help="a mask image per style, in the order of the styles (white: where that style applies); repeat the flag",
    )
    stylize.add_argument(
        "--parameterization",
        choices=PARAMETERIZATIONS,
        help="what the optimiser moves: the pixels, or the image's frequencies (spectral, against speckle); default: "
        + ", ".join(f"{kind} for {name}" for name, kind in DEFAULT_PARAMETERIZATION.items()),
    )
    _add_model_arguments(stylize)
    stylize.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    stylize.set_defaults(handler=_stylize)

    gram = commands.add_parser("gram", help="the Gram matrix of one layer of an image, as a picture or an array")
    gram.add_argument("image", metavar="IMAGE", help="a path or a bundled example's name")
    gram.add_argument("--layer", default="relu3_1", help="VGG19 layer (default relu3_1)")
    gram.add_argument(
        "-o", "--output", required=True, type=Path, help=".npy: G as float32; .png: a colour-mapped picture"
    )
    gram.add_argument(
        "--view", choices=VIEWS, default="raw", help="raw G (default), per position, covariance or correlation"
    )
    gram.add_argument(
        "--size", type=int, default=d.size, help=f"longest side of the image in pixels (default {d.size})"
    )
    _add_model_arguments(gram)
    gram.set_defaults(handler=_gram)
    return parser


def _add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--weights", default=_DEFAULTS.weights, help="imagenet (default), random (offline) or a state-dict path"
    )
    parser.add_argument("--device", default=_DEFAULTS.device, help="auto (default), cpu, cuda or cuda:N")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _build_parser().parse_args(argv)
    try:
        args.handler(args)
    except KeyboardInterrupt:
        print("\nerror: interrupted", file=sys.stderr)
        return 130
    except (_UserError, ConfigError, ImageError, WeightsError, OSError) as exc:
        print(f"error: {_message(exc, args)}", file=sys.stderr)
        return EXIT_USER_MISTAKE
    except NSTError as exc:
        print(f"error: {_message(exc, args)}", file=sys.stderr)
        return EXIT_FAILURE
    return 0


# Where a configuration field comes from on the command line, to name it in errors.
_FLAGS = {"content": "CONTENT", "style": "STYLE", "size": "--size", "tv_weight": "--tv", "regions": "--region"}
_GRAM_FLAGS = {"content": "IMAGE", "style": "IMAGE", "style_layers": "--layer", "size": "--size"}


def _message(exc: BaseException, args: argparse.Namespace) -> str:
    if isinstance(exc, ConfigError):
        flags = _GRAM_FLAGS if args.command == "gram" else _FLAGS
        flag = flags.get(exc.field, "--" + exc.field.replace("_", "-"))
        detail = str(exc).removeprefix(f"{exc.field}: ")
        return f"{flag}: {detail}"
    if isinstance(exc, WeightsError) and args.weights == "imagenet":
        return f"{exc} To run offline, add --weights random (untrained VGG19 weights: still stylises)."
    if isinstance(exc, OSError) and not isinstance(exc, NSTError):
        return f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc)
    return " ".join(str(exc).split())


def _check_output(path: Path, suffixes: tuple[str, ...]) -> None:
    if path.suffix.lower() not in suffixes:
        raise _UserError(f"--output: {path} must end in {', '.join(suffixes)}")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise _UserError(f"--output: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise _UserError(f"--output: cannot write into {folder}")


def _style_layers(spec: str | None) -> dict[str, float]:
    if spec is None:
        return dict(DEFAULT_STYLE_LAYERS)
    names: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, sep, weight = part.replace(":", "=").partition("=")
        names[name.strip()] = weight.strip() if sep else ""
    if not names:
        raise ConfigError("style_layers", "name at least one layer")
    if all(weight == "" for weight in names.values()):
        return {name: 1.0 / len(names) for name in names}
    try:
        return {name: float(weight) for name, weight in names.items()}
    except ValueError:
        raise ConfigError("style_layers", f"give every layer a weight, or none: {spec!r}") from None


def _stylize(args: argparse.Namespace) -> None:
    _check_output(args.output, IMAGE_SUFFIXES)
    history = args.history or args.output.with_suffix(".json")
    config = RunConfig(
        content=args.content,
        style=args.style if len(args.style) > 1 else args.style[0],
        style_blend=args.style_blend,
        size=args.size,
        style_layers=_style_layers(args.style_layers),
        content_layer=args.content_layer,
        alpha=args.alpha,
        beta=args.beta,
        optimizer=args.optimizer,
        lr=args.lr,
        steps=args.steps,
        init=args.init,
        seed=args.seed,
        device=args.device,
        weights=args.weights,
        snapshot_every=0,  # the command line keeps the history only
        start_size=args.start_size,
        tv_weight=args.tv,
        preserve_colors=args.preserve_colors,
        style_loss=args.style_loss,
        regions=args.region,
        parameterization=args.parameterization,
    ).validate()
    bar = None if args.quiet else _ProgressBar(sys.stderr)
    result = run(config, on_progress=bar)
    if bar is not None:
        bar.close()
    to_pil(result.image).save(args.output)
    history.write_text(result.to_json(indent=1), encoding="utf-8")
    first, last = result.history[0], result.history[-1]
    height, width = result.image.shape[-2:]
    print(
        f"wrote {args.output} ({width}x{height}) and {history}: J {first.J:.4g} -> {last.J:.4g}, "
        f"J_style {first.J_style:.4g} -> {last.J_style:.4g} in {result.seconds:.1f} s on {result.device} "
        f"({result.precision}); {result.weights_source}"
    )


def _gram(args: argparse.Namespace) -> None:
    _check_output(args.output, GRAM_SUFFIXES)
    # The run configuration's checks name the bad argument: the image, the layer, the size, the device, the weights.
    config = RunConfig(
        content=args.image,
        style=args.image,
        size=args.size,
        style_layers={args.layer: 1.0},
        snapshot_layers=[],
        device=args.device,
        weights=args.weights,
    ).validate()
    image = load_input("content", args.image, args.size)
    extractor = load_extractor(args.weights, resolve_device(args.device))
    with torch.no_grad():
        activations = extractor(image.to(extractor.device), [args.layer])[args.layer][0].float().cpu()
    matrix = gram_view(activations, args.view).numpy()
    if args.output.suffix.lower() == ".npy":
        np.save(args.output, matrix.astype(np.float32))
    else:
        _gram_picture(matrix, args.view).save(args.output)
    n_C, n_H, n_W = activations.shape
    print(
        f"wrote {args.output}: {args.view} Gram matrix of {args.layer} ({n_C}x{n_C}, from {n_H}x{n_W} positions); "
        f"{config.size} px, {extractor.weights_source}"
    )


def _gram_picture(matrix: np.ndarray, view: str) -> Image.Image:
    from .figures import colourise, view_colours  # plotly's colour scales: only this command needs them

    colours = view_colours(matrix, view)  # type: ignore[arg-type]
    rgb = colourise(matrix, colours["colorscale"], colours["zmin"], colours["zmax"])
    repeat = max(1, math.ceil(GRAM_PICTURE_SIDE / matrix.shape[0]))
    return Image.fromarray(np.repeat(np.repeat(rgb, repeat, axis=0), repeat, axis=1))


class _ProgressBar:
    """A one-line bar on a terminal (redrawn at most 10 times a second); a line per 10% otherwise."""

    WIDTH = 24

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.drawn_at = 0.0
        self.tenth = -1
        self.first_elapsed = 0.0

    def __call__(self, progress: RunProgress) -> None:
        record = progress.record
        if progress.step == 1:
            self.first_elapsed = record.elapsed_s  # step 1 includes the targets' set-up: not a step's pace
        now = time.monotonic()
        tenth = 10 * progress.step // progress.steps
        if self.tty and (now - self.drawn_at < 0.1 and progress.step < progress.steps):
            return
        if not self.tty and tenth == self.tenth:
            return
        self.drawn_at, self.tenth = now, tenth
        filled = self.WIDTH * progress.step // progress.steps
        left = ""
        if progress.step > 1:
            pace = (record.elapsed_s - self.first_elapsed) / (progress.step - 1)
            left = f", ~{pace * (progress.steps - progress.step):.0f} s left"
        line = (
            f"{progress.step:>{len(str(progress.steps))}}/{progress.steps} "
            f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] "
            f"J={record.J:.4g} J_style={record.J_style:.4g} {record.elapsed_s:.1f} s{left}"
        )
        self.stream.write(f"\r{line}" if self.tty else f"{line}\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
