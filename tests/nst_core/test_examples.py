"""Bundled examples: each loads, records source and licence, ships as package data; generated ones regenerate."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import nst_core
from nst_core.errors import ImageError
from nst_core.examples import (
    Example,
    example_bytes,
    get_example,
    is_example,
    list_examples,
    load_example,
)
from nst_core.examples.generate import GENERATORS, main

EXAMPLES_DIR = Path(nst_core.examples.__file__).parent
REPO = Path(__file__).resolve().parents[2]


def rgb(image: torch.Tensor) -> np.ndarray:
    return image[0].permute(1, 2, 0).numpy()


def gradient_energy(image: np.ndarray) -> tuple[float, float]:
    """Mean |change| going down the rows (vertical) and along the columns (horizontal)."""
    return float(np.abs(np.diff(image, axis=0)).mean()), float(np.abs(np.diff(image, axis=1)).mean())


def test_catalogue_has_photos_and_the_promised_styles() -> None:
    names = [example.name for example in list_examples()]
    assert len(names) == len(set(names))
    assert {"orange_strokes", "mosaic", "rings"} <= {example.name for example in list_examples("style")}
    assert len(list_examples("content")) >= 2
    assert all(example.kind == "content" for example in list_examples("content"))
    assert len(list_examples("content")) + len(list_examples("style")) == len(names)
    with pytest.raises(ValueError, match="kind"):
        list_examples("texture")  # type: ignore[arg-type]


@pytest.mark.parametrize("example", list_examples(), ids=lambda example: example.name)
def test_every_example_loads_and_says_where_it_comes_from(example: Example) -> None:
    assert example.title and example.description
    assert len(example.source) > 20 and len(example.licence) > 10
    assert "public domain" in example.licence.lower() or "cc0" in example.licence.lower()
    assert is_example(example.name) and get_example(example.name) == example
    assert example.path.is_file() and example_bytes(example.name) == example.path.read_bytes()
    image = load_example(example.name)
    assert image.dtype == torch.float32 and image.shape[:2] == (1, 3)
    assert 256 <= max(image.shape[2:]) <= 512 and min(image.shape[2:]) >= 64
    assert float(image.min()) >= 0.0 and float(image.max()) <= 1.0 and float(image.std()) > 0.05
    assert max(load_example(example.name, max_side=64).shape[2:]) == 64


def test_unknown_example_is_an_image_error_listing_the_choices() -> None:
    assert not is_example("starry_night")
    with pytest.raises(ImageError, match=r"no example named 'starry_night'.*orange_strokes"):
        load_example("starry_night")
    with pytest.raises(ImageError):
        example_bytes("")


def test_every_file_is_catalogued_shipped_and_small() -> None:
    catalogued = {example.filename for example in list_examples()}
    images = {path.name for path in EXAMPLES_DIR.iterdir() if path.suffix in (".png", ".jpg", ".jpeg")}
    assert images == catalogued
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    patterns = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"][
        "nst_core.examples"
    ]
    for name in catalogued | {"sources.json"}:
        assert any(fnmatch.fnmatch(name, pattern) for pattern in patterns), f"{name} would not be installed"
    assert sum((EXAMPLES_DIR / name).stat().st_size for name in catalogued) < 1_500_000


def test_examples_is_a_subpackage_of_nst_core() -> None:
    assert nst_core.examples.list_examples is list_examples


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("generated")
    main([str(folder)])
    return folder


@pytest.mark.parametrize("name", list(GENERATORS))
def test_generated_styles_regenerate_identically(name: str, regenerated: Path) -> None:
    example = get_example(name)
    assert example.kind == "style" and example.filename == f"{name}.png" and "generate.py" in example.source
    shipped = np.asarray(Image.open(example.path).convert("RGB"), dtype=np.int16)
    fresh = np.asarray(Image.open(regenerated / example.filename).convert("RGB"), dtype=np.int16)
    assert fresh.shape == shipped.shape == (512, 512, 3)
    difference = np.abs(fresh - shipped)
    # Equal here; elsewhere sin/cos/tanh may differ in the last bit between CPUs, moving a rare
    # value across a rounding boundary: allow one level on a handful of pixels, nothing more.
    assert difference.max() <= 1 and (difference > 0).mean() < 1e-3


def test_orange_strokes_are_vertical_and_orange() -> None:
    image = rgb(load_example("orange_strokes"))
    vertical, horizontal = gradient_energy(image)
    assert vertical < 0.2 * horizontal  # colour changes across the strokes, hardly along them
    red, green, blue = image[..., 0], image[..., 1], image[..., 2]
    bright = image.max(axis=2) > 0.5
    assert 0.2 < bright.mean() < 0.8  # strokes and dark ground both present
    assert ((red > green) & (green > blue))[bright].mean() > 0.99
    assert 0.35 < float((green / red)[bright].mean()) < 0.7  # orange, neither red nor yellow
    assert float(image[~bright].mean()) < 0.2


def test_blue_waves_are_horizontal_and_blue() -> None:
    image = rgb(load_example("blue_waves"))
    vertical, horizontal = gradient_energy(image)
    assert horizontal < 0.5 * vertical
    dark = image.mean(axis=2) < 0.4
    assert ((image[..., 2] > image[..., 1]) & (image[..., 1] > image[..., 0]))[dark].mean() > 0.99


def test_rings_have_no_preferred_orientation() -> None:
    vertical, horizontal = gradient_energy(rgb(load_example("rings")))
    assert abs(vertical - horizontal) < 0.05 * horizontal


def test_mosaic_is_coloured_tiles_with_dark_grout() -> None:
    image = rgb(load_example("mosaic"))
    grout = image.max(axis=2) < 0.2
    assert 0.05 < grout.mean() < 0.3
    levels = (image * 255).round().astype(np.uint32)
    _, counts = np.unique((levels[..., 0] << 16 | levels[..., 1] << 8 | levels[..., 2])[~grout], return_counts=True)
    assert (counts >= 300).sum() >= 100  # about 170 flat tiles, each of its own colour
