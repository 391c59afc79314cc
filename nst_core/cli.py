"""Command line: ``python -m nst_core stylize CONTENT STYLE -o OUT.png`` and ``python -m nst_core gram IMAGE ...``.
One ``error: ...`` line, never a traceback: status 2 (``EXIT_USER_MISTAKE``) for a user's mistake, 1
(``EXIT_FAILURE``) for a run that fails on its own (README, "Command line")."""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final, NoReturn, TextIO

import numpy as np
import torch
from PIL import Image

from .errors import ConfigError, ImageError, NSTError, WeightsError
from .extractor import load_extractor, resolve_device
from .gram_views import VIEWS, gram_view
from .images import to_pil
from .optim.config import RunConfig, default_of, flag_of, settings
from .optim.engine import run
from .optim.result import RunProgress
from .optim.sources import load_input

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
GRAM_SUFFIXES = (".png", ".npy")
GRAM_PICTURE_SIDE = 512
"""A Gram picture is enlarged (each entry a square of pixels) to at least this many pixels a side."""
STYLIZE_SETTINGS: Final = tuple(name for name in settings() if flag_of(name) is not None)
"""The ``RunConfig`` fields ``stylize`` takes: every one with a flag (``Setting.flag``), defaults the library's."""
GRAM_SETTINGS: Final = ("size", "weights", "device")
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
    stylize.add_argument("-o", "--output", required=True, type=Path, help="the image to write (.png, .jpg, ...)")
    stylize.add_argument("--history", type=Path, help="JSON of every step's costs (default: OUTPUT with .json)")
    for name in STYLIZE_SETTINGS:
        _add_setting(stylize, name)
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
    for name in GRAM_SETTINGS:
        _add_setting(gram, name)
    gram.set_defaults(handler=_gram)
    return parser


def _add_setting(parser: argparse.ArgumentParser, name: str) -> None:
    """The argument of ``RunConfig`` field ``name``, from its ``Setting``: flag, type, choices, help and default."""
    declared, flag, default = settings()[name], flag_of(name), default_of(name)
    assert flag is not None, f"{name} is not on the command line"
    options: dict[str, Any] = {"help": declared.help}
    if declared.kind == "choice":
        options["choices"] = declared.choices
    if declared.kind in ("int", "float") or declared.parse is float:
        options["type"] = int if declared.kind == "int" else float
    if declared.nargs is not None:
        options["nargs"] = declared.nargs
    if declared.append:
        options["action"] = "append"
    if not flag.startswith("-"):
        parser.add_argument(name, metavar=flag, **options)
        return
    if isinstance(default, (str, int, float)):
        options["default"] = default
        options["help"] += f" (default {default:g})" if isinstance(default, float) else f" (default {default})"
    if "choices" not in options:
        options["metavar"] = declared.metavar or {"int": "N", "float": "X"}.get(declared.kind, name.upper())
    parser.add_argument(flag, dest=name, **options)


def _settings_of(args: argparse.Namespace, names: Sequence[str]) -> dict[str, Any]:
    """The ``RunConfig`` fields the command line gave (unset ones keep the config's defaults)."""
    values = {}
    for name in names:
        value, parse = getattr(args, name), settings()[name].parse
        if value is None:
            continue
        try:
            if parse is not None:
                value = [parse(v) for v in value] if isinstance(value, list) else parse(value)
        except ConfigError:
            raise
        except ValueError:
            raise ConfigError(name, f"cannot read {value!r}") from None
        values[name] = value
    return values


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


# Where a configuration field comes from on the gram command line, to name it in errors.
_GRAM_FLAGS = {"content": "IMAGE", "style": "IMAGE", "style_layers": "--layer"}


def _message(exc: BaseException, args: argparse.Namespace) -> str:
    if isinstance(exc, ConfigError):
        flag = (_GRAM_FLAGS if args.command == "gram" else {}).get(exc.field) or flag_of(exc.field) or exc.field
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


def _stylize(args: argparse.Namespace) -> None:
    _check_output(args.output, IMAGE_SUFFIXES)
    history = args.history or args.output.with_suffix(".json")
    # The command line keeps the history only: no snapshots.
    config = RunConfig(**_settings_of(args, STYLIZE_SETTINGS), snapshot_every=0).validate()
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
        style_layers={args.layer: 1.0},
        snapshot_layers=[],
        **_settings_of(args, GRAM_SETTINGS),
    ).validate()
    image = load_input("content", args.image, config.size)
    extractor = load_extractor(config.weights, resolve_device(config.device))
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

    rgb = colourise(matrix, **view_colours(matrix, view))  # type: ignore[arg-type]
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
