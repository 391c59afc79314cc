"""Where a channel fires most: receptive-field patches, strongest first, at distinct places."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from nst_core.explain import receptive_field, top_patches
from nst_core.explain.patches import Patch


def test_receptive_fields_of_vgg19_grow_as_published() -> None:
    assert receptive_field("conv1_1") == (3, 1)
    assert receptive_field("relu1_2") == (5, 1)
    assert receptive_field("relu2_1") == (10, 2)
    assert receptive_field("relu3_1") == (24, 4)
    assert receptive_field("relu4_1") == (68, 8)
    assert receptive_field("relu5_1") == (156, 16)


def test_top_patches_are_the_strongest_activations_in_order_with_their_pixels(random_extractor) -> None:
    image = torch.rand(1, 3, 64, 80, generator=torch.Generator().manual_seed(1))
    patches = top_patches(random_extractor, image, "relu2_1", 3, n=6)
    assert 1 <= len(patches) <= 6 and all(isinstance(p, Patch) for p in patches)
    with torch.no_grad():
        a = random_extractor(image, "relu2_1")["relu2_1"][0, 3]
    assert patches[0].activation == float(a.max())
    assert [p.activation for p in patches] == sorted((p.activation for p in patches), reverse=True)
    for patch in patches:
        assert patch.activation == float(a[patch.i - 1, patch.j - 1])  # positions are counted from 1
        top, left, bottom, right = patch.box
        assert patch.pixels.shape == (bottom - top, right - left, 3) and bottom - top <= 10
        expected = (image[0, :, top:bottom, left:right].permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
        assert (patch.pixels == expected).all()
    # Distinct places: two patches overlap by less than a stride (relu2_1: 10 px fields, 2 px apart).
    for n, p in enumerate(patches):
        for q in patches[n + 1 :]:
            assert max(abs(p.i - q.i), abs(p.j - q.j)) * 2 >= 10


def test_a_channel_that_never_fires_has_no_patches(random_extractor) -> None:
    black = torch.zeros(1, 3, 32, 32)
    with torch.no_grad():
        a = random_extractor(black, "relu1_1")["relu1_1"][0]
    silent = int(torch.nonzero(a.amax(dim=(-2, -1)) == 0)[0])
    assert top_patches(random_extractor, black, "relu1_1", silent) == []


def test_a_pil_image_or_an_array_finds_the_same_patches_as_its_tensor(random_extractor) -> None:
    pixels = (torch.rand(40, 48, 3, generator=torch.Generator().manual_seed(3)) * 255).round().to(torch.uint8)
    array = pixels.numpy()
    tensor = pixels.permute(2, 0, 1).float() / 255
    expected = top_patches(random_extractor, tensor, "relu1_2", 7, n=4)
    for image in (array, Image.fromarray(array)):
        found = top_patches(random_extractor, image, "relu1_2", 7, n=4)
        assert [(p.i, p.j, p.box) for p in found] == [(p.i, p.j, p.box) for p in expected]
        assert [p.activation for p in found] == pytest.approx([p.activation for p in expected])
    with pytest.raises(ValueError, match="H, W, 3"):
        top_patches(random_extractor, array[..., 0], "relu1_2", 7)
