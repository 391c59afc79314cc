"""The style controls of a run: each one's defining property, on tiny images with random weights."""

from __future__ import annotations

import json
from dataclasses import replace
from itertools import pairwise

import pytest
import torch
from PIL import Image

from nst_core import ConfigError, RunConfig, run
from nst_core.colors import rgb_to_yiq
from nst_core.losses import STYLE_LOSSES, total_variation
from nst_core.optim.sources import load_input
from tests.helpers import smooth_image, striped_config

# Shallow layers only: every property below shows there, at a fraction of the time.
LAYERS = {"relu1_1": 0.5, "relu2_1": 0.5}


def _flat(colour: tuple[float, float, float], side: int = 32) -> torch.Tensor:
    return torch.tensor(colour).view(1, 3, 1, 1).expand(1, 3, side, side).clone()


@pytest.fixture
def config() -> RunConfig:
    return striped_config(32, 4, style_layers=LAYERS, content_layer="relu2_1")


def test_luminance_keeps_the_contents_chroma(config, random_extractor) -> None:
    result = run(replace(config, preserve_colors="luminance", steps=3), extractor=random_extractor)
    content = load_input("content", config.content, config.size)
    torch.testing.assert_close(rgb_to_yiq(result.image)[:, 1:], rgb_to_yiq(content)[:, 1:], rtol=0, atol=1e-5)
    assert not torch.allclose(result.image, content, atol=1e-3)  # the luminance did change


def test_match_recolours_the_style_to_the_content(config, random_extractor) -> None:
    grey_content = replace(
        config, content=torch.full((1, 3, 32, 32), 0.5) + 0.1 * smooth_image(32, 32, seed=2), steps=1
    )
    matched = run(replace(grey_content, preserve_colors="match"), extractor=random_extractor)
    plain = run(grey_content, extractor=random_extractor)
    # The orange stripes recoloured to a grey content: a different (smaller) relu1_1 Gram target.
    assert not torch.allclose(matched.style_grams["relu1_1"], plain.style_grams["relu1_1"], rtol=0.05)


def test_tv_lowers_total_variation(config, random_extractor) -> None:
    noisy = replace(config, init="noise", seed=3, optimizer="adam", lr=0.05, steps=12)
    plain = run(noisy, extractor=random_extractor)
    smooth = run(replace(noisy, tv_weight=10.0), extractor=random_extractor)
    assert float(total_variation(smooth.image)) < 0.7 * float(total_variation(plain.image))
    assert smooth.history[-1].J_tv == pytest.approx(float(total_variation(smooth.image)), rel=1e-4)
    assert plain.history[-1].J_tv > 0.0 and smooth.loss_scaling.tv > 0.0 and plain.loss_scaling.tv == 0.0


@pytest.mark.parametrize("style_loss", STYLE_LOSSES)
def test_each_style_loss_drops_during_a_run_and_the_gram_values_stay_reported(config, random_extractor, style_loss):
    result = run(replace(config, style_loss=style_loss, optimizer="adam", lr=0.05, steps=8), extractor=random_extractor)
    first, last = result.history[0], result.history[-1]
    assert set(first.loss_layers) == set(first.J_style_layers) == set(LAYERS)
    assert sum(last.loss_layers.values()) < 0.8 * sum(first.loss_layers.values())
    if style_loss == "gram":
        assert last.loss_layers == last.J_style_layers
    else:
        assert last.loss_layers != last.J_style_layers
    assert last.J_style == pytest.approx(sum(w * last.J_style_layers[layer] for layer, w in LAYERS.items()), rel=1e-6)


def test_sliced_wasserstein_runs_are_seeded(config, random_extractor) -> None:
    cfg = replace(config, style_loss="sliced_wasserstein", steps=2)
    first, second = run(cfg, extractor=random_extractor), run(cfg, extractor=random_extractor)
    assert first.history[-1].loss_layers == second.history[-1].loss_layers
    other = run(replace(cfg, seed=1), extractor=random_extractor)
    assert other.history[0].loss_layers != first.history[0].loss_layers


def _warmth(image: torch.Tensor) -> torch.Tensor:
    """Red minus blue, per column half: (left, right)."""
    warm = (image[0, 0] - image[0, 2]).mean(dim=0)
    half = warm.shape[0] // 2
    return torch.stack([warm[:half].mean(), warm[half:].mean()])


def test_regions_confine_each_style_to_its_mask(config, random_extractor) -> None:
    left = torch.zeros(1, 3, 32, 32)
    left[..., :16] = 1.0
    right = 1.0 - left
    cfg = replace(
        config,
        content=torch.full((1, 3, 32, 32), 0.5),
        style=[_flat((1.0, 0.5, 0.0)), _flat((0.0, 0.3, 1.0))],  # orange, blue
        regions=[left, right],
        alpha=0.0,
        optimizer="adam",
        lr=0.05,
        steps=15,
        init="noise",
    )
    orange_left = _warmth(run(cfg, extractor=random_extractor).image)
    orange_right = _warmth(run(replace(cfg, regions=[right, left]), extractor=random_extractor).image)
    assert float(orange_left[0] - orange_left[1]) > 0.2
    assert float(orange_right[1] - orange_right[0]) > 0.2


def test_coarse_to_fine_ends_at_size_with_the_total_steps(config, random_extractor) -> None:
    cfg = replace(config, content=smooth_image(48, 64, seed=4), size=64, start_size=32, steps=7, snapshot_every=2)
    assert cfg.scales == [32, 45, 64] and cfg.scale_steps == [3, 2, 2] and sum(cfg.scale_steps) == cfg.steps
    result = run(cfg, extractor=random_extractor)
    scales = [record.scale for record in result.history]
    assert len(result.history) == cfg.steps and [r.step for r in result.history] == list(range(1, 8))
    assert all(a <= b for a, b in pairwise(scales)) and scales[-1] == 64 and scales[0] == 32
    assert scales == [32, 32, 32, 45, 45, 64, 64]
    assert result.image.shape == (1, 3, 48, 64)
    # Step 0 (the start) and the coarse snapshots are upsampled to the final size.
    assert [s.step for s in result.snapshots] == [0, 2, 4, 6]
    assert [s.image.shape for s in result.snapshots] == [(1, 3, 48, 64)] * 4
    assert result.style_grams["relu2_1"].shape == (128, 128)


def test_new_fields_are_recorded_in_the_json(config, random_extractor) -> None:
    mask = torch.ones(1, 3, 32, 32)
    cfg = replace(config, steps=2, tv_weight=0.5, style_loss="mean_cov", regions=[mask], start_size=None)
    document = json.loads(run(cfg, extractor=random_extractor).to_json())
    assert document["config"]["tv_weight"] == 0.5 and document["config"]["style_loss"] == "mean_cov"
    assert document["config"]["regions"] == ["tensor 1x3x32x32"] and document["config"]["start_size"] is None
    assert document["config"]["preserve_colors"] == "none"
    record = document["history"][-1]
    assert record["scale"] == 32 and record["J_tv"] > 0 and set(record["loss_layers"]) == set(LAYERS)


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"start_size": 64}, "start_size"),  # above size
        ({"start_size": 16, "size": 64, "steps": 2}, "start_size"),  # 4 scales need 4 steps
        ({"start_size": 16, "size": 64, "style_layers": {"relu5_1": 1.0}}, "start_size"),  # no positions left
        ({"regions": [torch.ones(1, 3, 32, 32)] * 2}, "regions"),  # two masks, one style
        ({"tv_weight": -0.1}, "tv_weight"),
        ({"preserve_colors": "histogram"}, "preserve_colors"),
        ({"style_loss": "w2"}, "style_loss"),
    ],
)
def test_invalid_controls_name_their_field(config, changes, field) -> None:
    with pytest.raises(ConfigError) as info:
        replace(config, **changes).validate()
    assert info.value.field == field


def test_an_unreadable_mask_names_regions(config, random_extractor) -> None:
    with pytest.raises(ConfigError) as info:
        run(replace(config, regions=[b"not an image"]), extractor=random_extractor)
    assert info.value.field == "regions"


def test_cli_flags_reach_the_run_config(tmp_path, monkeypatch, capsys) -> None:
    from nst_core import cli
    from nst_core.errors import RunError

    seen: list[RunConfig] = []

    def capture(config: RunConfig, **kwargs: object) -> None:
        seen.append(config)
        raise RunError("stopped by the test")

    monkeypatch.setattr(cli, "run", capture)
    masks = []
    for name, colour in (("left.png", 255), ("right.png", 0)):
        path = tmp_path / name
        Image.new("RGB", (32, 32), (colour,) * 3).save(path)
        masks.append(str(path))
    status = cli.main(
        [
            "stylize", "chelsea", "orange_strokes", "blue_waves", "-o", str(tmp_path / "out.png"),
            "--size", "64", "--steps", "8", "--weights", "random", "--device", "cpu",
            "--start-size", "32", "--tv", "2.5", "--preserve-colors", "luminance", "--style-loss", "mean_cov",
            "--region", masks[0], "--region", masks[1], "--parameterization", "pixels",
        ]
    )  # fmt: skip
    assert status == 1 and "stopped by the test" in capsys.readouterr().err
    (config,) = seen
    assert (config.start_size, config.tv_weight, config.preserve_colors, config.style_loss) == (
        32, 2.5, "luminance", "mean_cov"
    )  # fmt: skip
    assert config.regions == masks and config.parameterization == "pixels"
    defaults = cli._build_parser().parse_args(["stylize", "c", "s", "-o", "o.png"])
    named = ("start_size", "tv_weight", "preserve_colors", "style_loss", "regions")
    assert [getattr(defaults, name) for name in named] == [None, 0.0, "none", "gram", None]
    assert defaults.parameterization is None  # the optimiser's default
    assert cli.main(["stylize", "chelsea", "orange_strokes", "-o", str(tmp_path / "o.png"), "--tv", "-1"]) == 2
    assert "--tv:" in capsys.readouterr().err


def test_coarse_to_fine_is_estimated_faster_than_the_same_steps_at_full_size(config) -> None:
    from nst_core import estimate_run

    full = replace(config, content="chelsea", size=256, steps=100)
    coarse = estimate_run(replace(full, start_size=64))
    assert coarse.seconds < 0.8 * estimate_run(full).seconds
    assert coarse.peak_bytes == estimate_run(full).peak_bytes  # the last scale is the full size
