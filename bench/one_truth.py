"""Print one G_S[k, k'] per row as the command line, the Gram explorer, the lesson and a run see it.

The same style image at the same size must give one value per row: the views share ``nst_core.load_image`` and
``nst_core.gram.gram_matrix``. A run's stored G_S is scaled to the generated image's positions; it is shown with that
factor undone. Random weights (seed 0), on the CPU.

Run: python bench/one_truth.py [--style orange_strokes] [--size 256]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from nst_core import RunConfig, load_image, run
from nst_core.gram_views import VIEW_LABELS
from nst_core.layers import LAYER_CHANNELS, layer_shape

ROOT = Path(__file__).resolve().parents[1]
CELLS = (("relu2_1", 49, 85), ("relu3_1", 0, 1), ("relu5_1", 298, 410))


def command_line(style: str, size: int, layer: str, folder: Path) -> np.ndarray:
    out = folder / f"{layer}.npy"
    command = [sys.executable, "-m", "nst_core", "gram", style, "--layer", layer, "--size", str(size), "-o", str(out)]
    subprocess.run([*command, "--weights", "random", "--device", "cpu"], check=True, capture_output=True, cwd=ROOT)
    return np.load(out)


def heatmap(at: AppTest, layer: str, title: str | None = None) -> np.ndarray:
    """The z of the first (n_C x n_C) heatmap on the page (whose title is ``title``, when given)."""
    n_c = LAYER_CHANNELS[layer]
    for element in at.get("plotly_chart"):
        figure = json.loads(element.proto.spec)
        if title is not None and figure["layout"].get("title", {}).get("text") != title:
            continue
        for trace in figure["data"]:
            z = trace.get("z") if trace.get("type") == "heatmap" else None
            if isinstance(z, dict) and z.get("shape") == f"{n_c}, {n_c}":
                return np.frombuffer(base64.b64decode(z["bdata"]), dtype=np.dtype(z["dtype"])).reshape(n_c, n_c)
    raise LookupError(f"no {n_c} x {n_c} heatmap on the page")


def app_session(style: str, size: int, page: str) -> AppTest:
    """The app with ``style`` as the style image and the Run form's Size set to ``size``, then ``page``."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.session_state["style"] = style
    at.run()
    at.switch_page("app_pages/run.py").run()
    at.number_input(key="run_size").set_value(size).run()
    return at.switch_page(page).run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--style", default="orange_strokes", help="a bundled style example")
    parser.add_argument("--size", type=int, default=256)
    args = parser.parse_args()
    os.environ["STYLE_LENS_WEIGHTS"] = "random"
    layers = [layer for layer, _, _ in CELLS]
    rows: dict[str, dict[str, float]] = {f"{layer} G[{k},{k2}]": {} for layer, k, k2 in CELLS}

    with tempfile.TemporaryDirectory() as folder:
        for (layer, k, k2), row in zip(CELLS, rows.values(), strict=True):
            g = command_line(args.style, args.size, layer, Path(folder))
            row[f"command line (gram --size {args.size})"] = float(g[k, k2])

    explorer = app_session(args.style, args.size, "app_pages/gram_explorer.py")
    lesson = app_session(args.style, args.size, "app_pages/lesson.py")
    for (layer, k, k2), row in zip(CELLS, rows.values(), strict=True):
        explorer.selectbox(key="layer").select(layer).run()
        row["Gram explorer"] = float(heatmap(explorer, layer)[k, k2])
        lesson.selectbox(key="lesson_layer").select(layer).run()
        row["lesson"] = float(heatmap(lesson, layer, VIEW_LABELS["raw"])[k, k2])

    config = RunConfig(
        content="chelsea",
        style=args.style,
        size=args.size,
        steps=1,
        snapshot_layers=layers,
        weights="random",
        device="cpu",
    )
    result = run(config)
    style_shape = load_image(args.style, max_side=args.size).shape[-2:]
    for (layer, k, k2), row in zip(CELLS, rows.values(), strict=True):
        _, h_S, w_S = layer_shape(layer, *style_shape)
        _, h_G, w_G = layer_shape(layer, *result.image.shape[-2:])
        row[f"run's G_S ({result.precision})"] = float(result.style_grams[layer][k, k2]) * (h_S * w_S) / (h_G * w_G)

    columns = list(next(iter(rows.values())))
    print(f"{args.style} at {args.size} px, random weights")
    print("| cell | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for name, row in rows.items():
        print(f"| {name} | " + " | ".join(f"{row[column]:.6g}" for column in columns) + " |")


if __name__ == "__main__":
    main()
