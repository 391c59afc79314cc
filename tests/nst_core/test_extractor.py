"""The VGG19 extractor: layer shapes, agreement with torchvision, frozen trunk, input gradients, threads."""

from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch
import torch.nn.functional as F
import torchvision

from nst_core import LAYER_NAMES, ConfigError, gram_matrix, load_extractor
from nst_core.extractor import IMAGENET_MEAN, IMAGENET_STD, VGGExtractor, resolve_device
from nst_core.layers import LAYER_INDEX, layer_shape
from nst_core.weights import random_state_dict


def test_every_layer_has_its_documented_shape_at_a_non_square_size(random_extractor: VGGExtractor, images) -> None:
    with torch.no_grad():
        out = random_extractor(images, LAYER_NAMES)
    assert set(out) == set(LAYER_NAMES) and len(out) == 37
    for name, activations in out.items():
        assert activations.shape == (2, *layer_shape(name, 32, 48)), name


def test_equals_torchvision_vgg19_features_on_the_same_state_dict(random_extractor: VGGExtractor, images) -> None:
    # torchvision's own model class, built without its 500 MB classifier initialisation.
    with torch.device("meta"):
        reference = torchvision.models.vgg19(weights=None).features
    reference = reference.to_empty(device="cpu").eval()
    reference.load_state_dict(random_state_dict(0))
    normalised = (images - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    # torchvision's ReLUs work in place: each layer's output is copied as it comes, before the next one overwrites it.
    expected: list[torch.Tensor] = []
    for module in reference:
        module.register_forward_hook(lambda _module, _inputs, output: expected.append(output.clone()))
    with torch.no_grad():
        reference(normalised)
        ours = random_extractor(images, LAYER_NAMES)
    assert len(expected) == len(LAYER_NAMES)
    for name, reference_output in zip(LAYER_NAMES, expected, strict=True):
        torch.testing.assert_close(
            ours[name], reference_output, rtol=1e-5, atol=1e-6, msg=lambda text, name=name: f"{name}: {text}"
        )


def test_parameters_are_frozen_and_the_module_stays_in_eval_mode(random_extractor: VGGExtractor) -> None:
    assert all(not p.requires_grad for p in random_extractor.parameters())
    assert not random_extractor.training
    random_extractor.train()
    assert not random_extractor.training and not any(m.training for m in random_extractor.modules())


def test_gradients_reach_the_input_image_but_not_the_weights(random_extractor: VGGExtractor, images) -> None:
    image = images[:1].clone().requires_grad_(True)
    out = random_extractor(image, ["conv1_1", "relu3_1"])
    (out["conv1_1"].square().mean() + out["relu3_1"].sum()).backward()
    assert image.grad is not None and torch.isfinite(image.grad).all() and image.grad.abs().sum() > 0
    assert all(p.grad is None for p in random_extractor.parameters())


def test_only_the_prefix_up_to_the_deepest_layer_runs(random_extractor: VGGExtractor, images) -> None:
    ran: list[int] = []
    hooks = [
        module.register_forward_hook(lambda *_, index=index: ran.append(index))
        for index, module in enumerate(random_extractor.features)
    ]
    try:
        with torch.no_grad():
            out = random_extractor(images, ["relu1_1", "relu2_1"])
    finally:
        for hook in hooks:
            hook.remove()
    assert set(out) == {"relu1_1", "relu2_1"}
    assert ran == list(range(LAYER_INDEX["relu2_1"] + 1))


def test_conv_outputs_are_not_overwritten_by_their_relu(random_extractor: VGGExtractor, images) -> None:
    with torch.no_grad():
        out = random_extractor(images, ["conv1_1", "relu1_1"])
    assert (out["conv1_1"] < 0).any()
    torch.testing.assert_close(out["relu1_1"], out["conv1_1"].clamp(min=0))


def test_channels_last_and_float64_inputs_give_the_same_activations(random_extractor: VGGExtractor, images) -> None:
    with torch.no_grad():
        plain = random_extractor(images, "relu3_1")["relu3_1"]
        channels_last = random_extractor(images.contiguous(memory_format=torch.channels_last), "relu3_1")["relu3_1"]
        double = random_extractor(images.double(), "relu3_1")["relu3_1"]
    torch.testing.assert_close(channels_last, plain, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(double, plain)


def test_runs_under_autocast(random_extractor: VGGExtractor, images) -> None:
    with torch.no_grad():
        reference = random_extractor(images, "relu2_1")["relu2_1"]
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = random_extractor(images, "relu2_1")["relu2_1"]
    assert low.dtype == torch.bfloat16
    assert torch.isfinite(low).all()
    assert (low.float() - reference).norm() / reference.norm() < 0.05


def test_stored_as_gives_the_autocast_activations_from_cast_weights(random_extractor: VGGExtractor, images) -> None:
    stored = random_extractor.stored_as(torch.bfloat16, channels_last=True)
    assert stored is random_extractor.stored_as(torch.bfloat16, channels_last=True)  # built once
    assert random_extractor.stored_as(None) is random_extractor
    assert random_extractor.stored_as(torch.float32) is random_extractor
    weight = stored.features[0].weight
    assert weight.dtype == torch.bfloat16 and weight.is_contiguous(memory_format=torch.channels_last)
    assert not any(p.requires_grad for p in stored.parameters())
    assert random_extractor.features[0].weight.dtype == torch.float32  # the original is left as it was
    x = images.contiguous(memory_format=torch.channels_last)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        expected = random_extractor(x, "relu3_1")["relu3_1"]
        got = stored(x, "relu3_1")["relu3_1"]
    # Autocast rounds each weight to bfloat16 exactly as Tensor.to does: the same activations.
    torch.testing.assert_close(got, expected, rtol=0, atol=0)
    float32_channels_last = random_extractor.stored_as(None, channels_last=True)
    with torch.no_grad():
        torch.testing.assert_close(
            float32_channels_last(x, "relu3_1")["relu3_1"], random_extractor(x, "relu3_1")["relu3_1"]
        )


@pytest.mark.parametrize("precision", ["float32", "bfloat16 channels-last"])
def test_grams_computed_within_the_pass_are_the_formulas_and_give_the_same_gradient(
    random_extractor: VGGExtractor, images, precision
) -> None:
    """``activations_and_grams``: the same activations as ``forward``, G_G = ``gram_matrix(a, float32)``, and the
    gradient of a cost of G_G and of a deeper layer's activations equal to the one through ``forward``'s activations
    (there the two gradients of a style layer are added by autograd, here within the tap's product)."""
    bf16 = precision.startswith("bfloat16")
    network = random_extractor.stored_as(torch.bfloat16, True) if bf16 else random_extractor
    x = images.contiguous(memory_format=torch.channels_last) if bf16 else images
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16)
    layers, gram_layers = ["relu3_1"], ["relu1_1", "relu2_1", "relu3_1"]

    def cost(acts: dict[str, torch.Tensor], grams: dict[str, torch.Tensor]) -> torch.Tensor:
        style = sum(g.square().sum() / g.numel() for g in grams.values())
        return style + acts["relu3_1"].float().square().mean()

    tapped_image = x.clone().requires_grad_(True)
    with autocast:
        acts, grams = network.activations_and_grams(tapped_image, layers, gram_layers)
    cost(acts, grams).backward()
    plain_image = x.clone().requires_grad_(True)
    with autocast:
        plain = network(plain_image, [*layers, *gram_layers])
    cost(plain, {layer: gram_matrix(plain[layer], torch.float32) for layer in gram_layers}).backward()
    assert sorted(acts) == sorted({*layers, *gram_layers})
    for layer in gram_layers:
        assert grams[layer].dtype == torch.float32 and grams[layer].shape[0] == 2
        torch.testing.assert_close(acts[layer], plain[layer], rtol=0, atol=0)
        torch.testing.assert_close(grams[layer], gram_matrix(plain[layer].detach(), torch.float32), rtol=1e-5, atol=0)
    scale = plain_image.grad.abs().max()
    atol = 2e-2 if bf16 else 1e-5
    torch.testing.assert_close(tapped_image.grad / scale, plain_image.grad / scale, rtol=0, atol=atol)


def test_concurrent_calls_from_four_threads_match_serial_calls(random_extractor: VGGExtractor) -> None:
    generator = torch.Generator().manual_seed(1)
    batches = [torch.rand(1, 3, 32, 48, generator=generator) for _ in range(8)]
    layers = ["relu1_1", "relu2_2", "relu3_1"]

    def extract(batch: torch.Tensor) -> dict[str, torch.Tensor]:
        with torch.no_grad():
            return random_extractor(batch, layers)

    serial = [extract(batch) for batch in batches]
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(extract, batches))
    for expected, got in zip(serial, parallel, strict=True):
        for name in layers:
            torch.testing.assert_close(got[name], expected[name], rtol=0, atol=0)


@pytest.mark.parametrize(
    ("batch", "layers", "error", "match"),
    [
        (torch.rand(3, 32, 48), ["relu1_1"], ValueError, r"\(N, 3, H, W\)"),
        (torch.rand(1, 1, 32, 48), ["relu1_1"], ValueError, r"\(N, 3, H, W\)"),
        (torch.zeros(1, 3, 32, 48, dtype=torch.uint8), ["relu1_1"], ValueError, "float"),
        (torch.rand(1, 3, 16, 48), ["pool5"], ValueError, "16x48 image is too small to reach pool5"),
        (torch.rand(1, 3, 32, 48, device="meta"), ["relu1_1"], ValueError, "on meta but the extractor is on cpu"),
        (torch.rand(1, 3, 32, 48), ["relu9_9"], KeyError, "unknown VGG19 layer 'relu9_9'"),
    ],
)
def test_bad_calls_raise_clear_errors(random_extractor: VGGExtractor, batch, layers, error, match) -> None:
    with pytest.raises(error, match=match):
        random_extractor(batch, layers)


def test_no_layers_give_an_empty_dict(random_extractor: VGGExtractor, images) -> None:
    assert random_extractor(images, []) == {}


def test_device_follows_the_module(random_extractor: VGGExtractor) -> None:
    assert random_extractor.device == torch.device("cpu")
    moved = copy.deepcopy(random_extractor).to("meta")
    assert moved.device.type == "meta" and moved.weights_source == random_extractor.weights_source
    assert all(p.device.type == "meta" and not p.requires_grad for p in moved.parameters())


def test_average_pooling_and_random_weights_leave_the_global_rng_alone(images) -> None:
    before = torch.random.get_rng_state()
    extractor = load_extractor("random", device="cpu", pooling="avg", seed=3)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert extractor.weights_source == (
        "random VGG19 weights (seeded initialisation, seed 3), not trained, average pooling"
    )
    with torch.no_grad():
        out = extractor(images, ["relu1_2", "pool1"])
    torch.testing.assert_close(out["pool1"], F.avg_pool2d(out["relu1_2"], 2))


def test_random_weights_source_says_random(random_extractor: VGGExtractor) -> None:
    assert random_extractor.weights_source == "random VGG19 weights (seeded initialisation, seed 0), not trained"


def test_bad_pooling_and_devices_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="pooling"):
        load_extractor("random", pooling="median")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="device"):
        resolve_device("gpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA is not available"):
            load_extractor("random", device="cuda")
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(None) == resolve_device("auto")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_a_cuda_extractor_matches_the_cpu_one(random_extractor: VGGExtractor, images) -> None:
    extractor = load_extractor("random", device="cuda")
    assert extractor.device.type == "cuda" and all(p.is_cuda for p in extractor.parameters())
    with torch.no_grad():
        got = extractor(images.cuda(), "relu3_1")["relu3_1"].cpu()
        expected = random_extractor(images, "relu3_1")["relu3_1"]
    # cuDNN may use TF32: agreement to about 1e-3, not bit for bit.
    assert (got - expected).norm() / expected.norm() < 1e-2
    with pytest.raises(ValueError, match="but the extractor is on cuda"):
        extractor(images, "relu1_1")
