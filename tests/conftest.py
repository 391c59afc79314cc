"""Shared fixtures. No test may need the network or real weights: the session guard below makes sure."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from nst_core.extractor import VGGExtractor, load_extractor

# A closed loopback port: anything that tries to download "imagenet" fails at once with a WeightsError.
OFFLINE_WEIGHTS_URL = "http://127.0.0.1:9/vgg19-dcbb9e9d.pth"


@pytest.fixture(scope="session", autouse=True)
def _offline_weights(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Point the torch hub cache at an empty folder, the ImageNet weights URL at a closed port and the run
    store at an empty data folder."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TORCH_HOME", str(tmp_path_factory.mktemp("torch_home")))
        patch.setenv("NST_VGG19_WEIGHTS_URL", OFFLINE_WEIGHTS_URL)
        patch.setenv("STYLE_LENS_DATA", str(tmp_path_factory.mktemp("style_lens_data")))  # never the user's runs
        yield


@pytest.fixture(scope="session")
def random_extractor() -> VGGExtractor:
    """One CPU extractor on the seeded random weights (seed 0), built once: treat it as read-only."""
    return load_extractor("random", device="cpu")


@pytest.fixture
def images() -> torch.Tensor:
    """A reproducible batch of two non-square 32x48 images in [0, 1]."""
    return torch.rand(2, 3, 32, 48, generator=torch.Generator().manual_seed(0))
