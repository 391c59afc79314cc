"""Bundled example images: public-domain photos to stylise (content) and code-generated textures (style).

``sources.json`` beside this file is the catalogue: each entry records its source and licence.
The style textures are re-created by ``python -m nst_core.examples.generate``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

import torch

from ..errors import ImageError
from ..images import load_image

ExampleKind = Literal["content", "style"]
_KINDS = ("content", "style")


@dataclass(frozen=True)
class Example:
    """One bundled image and where it comes from."""

    name: str
    kind: ExampleKind
    title: str
    description: str
    source: str
    licence: str
    filename: str

    @property
    def path(self) -> Path:
        """Location of the file (packages install as plain folders, so this is a real path)."""
        return Path(str(resources.files(__name__) / self.filename))


def list_examples(kind: ExampleKind | None = None) -> list[Example]:
    """Every example, or those of one kind ("content" or "style"), in catalogue order."""
    if kind is not None and kind not in _KINDS:
        raise ValueError(f"kind must be 'content', 'style' or None, got {kind!r}")
    return [example for example in _catalogue().values() if kind is None or example.kind == kind]


def get_example(name: str) -> Example:
    """The catalogue entry of ``name``; ``ImageError`` naming the valid names when there is none."""
    try:
        return _catalogue()[name]
    except KeyError:
        raise ImageError(f"There is no example named {name!r}; choose one of: {', '.join(_catalogue())}.") from None


def is_example(name: str) -> bool:
    return name in _catalogue()


def example_bytes(name: str) -> bytes:
    """The file of example ``name`` as stored (JPEG or PNG bytes)."""
    return (resources.files(__name__) / get_example(name).filename).read_bytes()


def load_example(name: str, max_side: int | None = None) -> torch.Tensor:
    """Example ``name`` as a (1, 3, H, W) float32 tensor in [0, 1]; ``max_side`` as in ``load_image``."""
    return load_image(example_bytes(name), max_side=max_side)


@lru_cache(maxsize=1)
def _catalogue() -> dict[str, Example]:
    entries = json.loads((resources.files(__name__) / "sources.json").read_text(encoding="utf-8"))
    return {entry["name"]: Example(**entry) for entry in entries["examples"]}


__all__ = ["Example", "ExampleKind", "example_bytes", "get_example", "is_example", "list_examples", "load_example"]
