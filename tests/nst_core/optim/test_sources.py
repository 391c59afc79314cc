"""A run's images: every kind of source becomes the pixels ``load_image`` gives, and a bad one names its field."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from nst_core import ConfigError, ImageError
from nst_core.optim import ImageInputError
from nst_core.optim.sources import load_input
from tests.helpers import smooth_image


def test_images_come_from_paths_bytes_tensors_and_example_names(tmp_path) -> None:
    picture = Image.fromarray((smooth_image(40, 56, seed=2)[0].permute(1, 2, 0).numpy() * 255).round().astype("uint8"))
    path = tmp_path / "content.png"
    picture.save(path)
    from_path = load_input("content", str(path), 64)
    assert torch.equal(from_path, load_input("content", path.read_bytes(), 64))
    torch.testing.assert_close(load_input("content", from_path[0], 64), from_path)
    assert load_input("content", path, 28).shape == (1, 3, 20, 28)  # the longest side is capped, never enlarged
    assert max(load_input("style", "orange_strokes", 48).shape[-2:]) == 48
    with pytest.raises(ImageInputError) as info:
        load_input("style", b"this is not an image", 64)
    assert isinstance(info.value, ConfigError) and isinstance(info.value, ImageError) and info.value.field == "style"
