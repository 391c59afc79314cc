"""A contact sheet of one content/style pair under each style control, with per-layer costs and seconds.

chelsea + orange_strokes (random weights unless --weights says otherwise), the same size, steps and seed
for every option; prints each option's J_style^[l] (the Gram formula, comparable across losses), its
own loss's per-layer values, its speckle (``image_stats.speckle``; the content's own is printed first) and
its wall time, and writes the sheet (PNG), one labelled tile per option.

    python bench/quality.py                              # 256 px, 60 steps -> docs/quality-contact-sheet.png
    python bench/quality.py --size 128 --steps 30 --only default class_preset
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

import torch
from PIL import Image, ImageDraw

from nst_core import RunConfig, load_extractor, run
from nst_core.image_stats import speckle
from nst_core.images import to_pil
from nst_core.optim.sources import load_input

ROOT = Path(__file__).resolve().parents[1]
CONTENT, STYLE, SECOND_STYLE = "chelsea", "orange_strokes", "blue_waves"


def _halves(size: int) -> list[torch.Tensor]:
    """Two masks: the left half for the first style, the right half for the second."""
    left = torch.zeros(1, 3, size, size)
    left[..., : size // 2] = 1.0
    return [left, 1.0 - left]


def options(size: int) -> dict[str, dict[str, Any]]:
    """Each option's RunConfig fields on top of the shared ones; coarse-to-fine starts at half ``size``."""
    # The class-demo preset of the app (ui.state.PRESETS["class_demo"]: from 128 to 256 px, TV 0.1).
    half = max(16, size // 2)
    return {
        "default": {},
        "pixels": {"parameterization": "pixels"},
        "class_preset": {"start_size": half, "tv_weight": 0.1},
        "tv 0.5": {"tv_weight": 0.5},
        f"start_size {half}": {"start_size": half},
        "mean_cov": {"style_loss": "mean_cov"},
        "sliced_wasserstein": {"style_loss": "sliced_wasserstein"},
        "luminance": {"preserve_colors": "luminance"},
        "match": {"preserve_colors": "match"},
        "regions (left strokes, right waves)": {"style": [STYLE, SECOND_STYLE], "regions": _halves(size)},
    }


def _tile(image: Image.Image, label: str, side: int) -> Image.Image:
    height = round(side * image.height / image.width)
    tile = Image.new("RGB", (side, height + 22), "white")
    tile.paste(image.resize((side, height)), (0, 22))
    ImageDraw.Draw(tile).text((4, 4), label, fill="black")
    return tile


def _sheet(tiles: list[Image.Image], columns: int = 5) -> Image.Image:
    columns = min(columns, len(tiles))
    width, height = tiles[0].width, max(tile.height for tile in tiles)
    sheet = Image.new("RGB", (columns * width, -(-len(tiles) // columns) * height), "white")
    for index, tile in enumerate(tiles):
        sheet.paste(tile, ((index % columns) * width, (index // columns) * height))
    return sheet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--weights", default="random")
    parser.add_argument("--only", nargs="+", help="run only these options (names as printed)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "quality-contact-sheet.png")
    args = parser.parse_args()
    extractor = load_extractor(args.weights, "cpu")
    load = os.getloadavg()[0]
    print(
        f"{args.size} px, {args.steps} L-BFGS steps, {extractor.weights_source}, {torch.get_num_threads()} threads, "
        f"load average {load:.1f} at the start; the content's own speckle "
        f"{speckle(load_input('content', CONTENT, args.size)):.4f}"
    )
    tiles: list[Image.Image] = []
    args.out.parent.mkdir(parents=True, exist_ok=True)
    chosen = {name: fields for name, fields in options(args.size).items() if not args.only or name in args.only}
    for name, fields in chosen.items():
        base: dict[str, Any] = {
            "content": CONTENT,
            "style": STYLE,
            "size": args.size,
            "steps": args.steps,
            "weights": args.weights,
            "device": "cpu",
            "snapshot_every": 0,
        }
        config = RunConfig(**{**base, **fields})
        started = time.perf_counter()
        result = run(config, extractor=extractor)
        seconds = time.perf_counter() - started
        last = result.history[-1]
        gram = " ".join(f"{layer} {value:.3g}" for layer, value in last.J_style_layers.items())
        own = " ".join(f"{layer} {value:.3g}" for layer, value in last.loss_layers.items())
        print(
            f"{name:38s} {seconds:6.1f} s  J_style {last.J_style:.3g}  J_content {last.J_content:.3g}  "
            f"J_tv {last.J_tv:.3g}  speckle {speckle(result.image):.4f}\n    J_style^[l] {gram}\n"
            f"    {config.style_loss}^[l] {own}",
            flush=True,
        )
        tiles.append(_tile(to_pil(result.image), f"{name} ({seconds:.0f} s)", args.size))
        _sheet(tiles).save(args.out)  # after every option: an interrupted bench still leaves its sheet
    print(f"wrote {args.out} ({len(tiles)} tiles); load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
