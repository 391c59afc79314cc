"""Weights: the ImageNet download from a loopback server, local state dicts, seeded random weights."""

from __future__ import annotations

import hashlib
import io
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch
from torchvision.models import VGG19_Weights

from nst_core import WeightsError, load_extractor
from nst_core.extractor import VGGExtractor
from nst_core.weights import (
    DEFAULT_WEIGHTS_URL,
    WEIGHTS_URL_ENV,
    imagenet_cache_path,
    imagenet_weights_cached,
    imagenet_weights_url,
    random_state_dict,
    resolve_weights,
    trunk_shapes,
)


@dataclass
class LoopbackServer:
    """Serves ``routes`` (path -> (body, announced Content-Length)) on 127.0.0.1 and records every request."""

    base_url: str
    routes: dict[str, tuple[bytes, int]] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)

    def serve(self, name: str, body: bytes, announced_length: int | None = None) -> str:
        self.routes[f"/{name}"] = (body, len(body) if announced_length is None else announced_length)
        return f"{self.base_url}/{name}"


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    state = LoopbackServer(base_url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            state.hits.append(self.path)
            if self.path not in state.routes:
                self.send_error(404)
                return
            body, length = state.routes[self.path]
            self.send_response(200)
            self.send_header("Content-Length", str(length))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    class QuietServer(ThreadingHTTPServer):
        def handle_error(self, request: object, client_address: object) -> None:
            pass  # a client that hangs up early (the cancel test) is expected here

    httpd = QuietServer(("127.0.0.1", 0), Handler)
    state.base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def hub_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty torch hub cache; returns its checkpoints folder (created by the code under test)."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    assert torch.hub.get_dir() == str(tmp_path / "torch" / "hub")
    return tmp_path / "torch" / "hub" / "checkpoints"


@pytest.fixture(scope="module")
def full_model_file() -> tuple[bytes, dict[str, torch.Tensor]]:
    """A torchvision-style whole-model VGG19 file (features + a small stand-in classifier) and its trunk."""
    trunk = random_state_dict(seed=5)
    buffer = io.BytesIO()
    whole = {f"features.{key}": value for key, value in trunk.items()}
    torch.save({**whole, "classifier.0.weight": torch.ones(4, 8), "classifier.0.bias": torch.ones(4)}, buffer)
    return buffer.getvalue(), trunk


def sha_name(body: bytes) -> str:
    """A file name following torch.hub's convention: the first 8 hex digits of the body's SHA-256."""
    return f"vgg19-{hashlib.sha256(body).hexdigest()[:8]}.pth"


def cache_listing(checkpoints: Path) -> list[str]:
    return sorted(p.name for p in checkpoints.iterdir()) if checkpoints.exists() else []


def tiny_trunk(**changes: torch.Tensor | None) -> dict[str, torch.Tensor]:
    """Every trunk key at the right shape, stored as a stride-0 view of one zero so that files stay tiny."""
    state = {key: torch.zeros(()).expand(shape) for key, shape in trunk_shapes().items()}
    for key, value in changes.items():
        if value is None:
            del state[key]
        else:
            state[key] = value
    return state


# --- "imagenet": URL, cache location, download -------------------------------------------------------------------


def test_default_url_is_torchvisions_and_can_be_overridden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(WEIGHTS_URL_ENV, raising=False)
    assert DEFAULT_WEIGHTS_URL == VGG19_Weights.IMAGENET1K_V1.url
    assert imagenet_weights_url() == DEFAULT_WEIGHTS_URL  # never fetched by any test
    monkeypatch.setenv(WEIGHTS_URL_ENV, "http://mirror.invalid/w/vgg19-dcbb9e9d.pth")
    assert imagenet_weights_url() == "http://mirror.invalid/w/vgg19-dcbb9e9d.pth"
    assert imagenet_weights_url("http://other.invalid/x.pth") == "http://other.invalid/x.pth"


def test_cache_path_is_where_torchvision_puts_the_file(hub_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(WEIGHTS_URL_ENV, raising=False)
    assert imagenet_cache_path() == hub_dir / "vgg19-dcbb9e9d.pth"
    assert not imagenet_weights_cached()
    hub_dir.mkdir(parents=True)
    (hub_dir / "vgg19-dcbb9e9d.pth").write_bytes(b"")
    assert imagenet_weights_cached()


def test_download_once_with_progress_then_load_from_the_cache(
    server: LoopbackServer, hub_dir: Path, full_model_file: tuple[bytes, dict[str, torch.Tensor]]
) -> None:
    body, trunk = full_model_file
    url = server.serve(sha_name(body), body)
    reports: list[tuple[int, int | None]] = []

    extractor = load_extractor("imagenet", device="cpu", weights_url=url, progress=lambda *r: reports.append(r))

    assert server.hits == [f"/{sha_name(body)}"]
    assert reports[0] == (0, len(body)) and reports[-1] == (len(body), len(body))
    done = [d for d, _ in reports]
    assert done == sorted(done) and len(set(done)) == len(done) > 2
    assert all(total == len(body) for _, total in reports)
    assert cache_listing(hub_dir) == [sha_name(body)]
    assert (hub_dir / sha_name(body)).read_bytes() == body
    assert "ImageNet" in extractor.weights_source and url in extractor.weights_source
    for key, value in extractor.features.state_dict().items():
        assert torch.equal(value, trunk[key]), key

    state, _ = resolve_weights("imagenet", weights_url=url, progress=lambda *r: pytest.fail("downloaded again"))
    assert len(server.hits) == 1
    assert imagenet_weights_cached(url)
    assert all(torch.equal(state[key], trunk[key]) for key in trunk)


def test_concurrent_first_loads_download_once(
    server: LoopbackServer, hub_dir: Path, full_model_file: tuple[bytes, dict[str, torch.Tensor]]
) -> None:
    body, trunk = full_model_file
    url = server.serve(sha_name(body), body)
    with ThreadPoolExecutor(max_workers=3) as pool:
        states = list(pool.map(lambda _: resolve_weights("imagenet", weights_url=url)[0], range(3)))
    assert len(server.hits) == 1 and cache_listing(hub_dir) == [sha_name(body)]
    assert all(torch.equal(state["34.weight"], trunk["34.weight"]) for state in states)


def test_url_from_the_environment_is_used(
    server: LoopbackServer, hub_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(WEIGHTS_URL_ENV, f"{server.base_url}/mirror/vgg19-dcbb9e9d.pth")
    with pytest.raises(WeightsError, match="HTTP 404"):
        resolve_weights("imagenet")
    assert server.hits == ["/mirror/vgg19-dcbb9e9d.pth"]


def test_hash_mismatch_keeps_nothing(server: LoopbackServer, hub_dir: Path) -> None:
    url = server.serve("vgg19-00000000.pth", b"not the real weights" * 1000)
    with pytest.raises(WeightsError, match="SHA-256 starts with .* says 00000000") as caught:
        resolve_weights("imagenet", weights_url=url)
    assert "nothing was kept" in str(caught.value) and "weights='random'" in str(caught.value)
    assert cache_listing(hub_dir) == []


def test_http_error_names_the_status(server: LoopbackServer, hub_dir: Path) -> None:
    with pytest.raises(WeightsError, match=r"answered HTTP 404 Not Found.*Put the file vgg19-dcbb9e9d\.pth into"):
        resolve_weights("imagenet", weights_url=f"{server.base_url}/vgg19-dcbb9e9d.pth")
    assert cache_listing(hub_dir) == []


def test_offline_says_so_and_what_to_do(hub_dir: Path) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nobody listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/vgg19-dcbb9e9d.pth"
    with pytest.raises(WeightsError) as caught:
        load_extractor("imagenet", device="cpu", weights_url=url)
    message = str(caught.value)
    assert message.startswith(f"No network to download the VGG19 ImageNet weights (548 MB) from {url}")
    assert f"Put the file vgg19-dcbb9e9d.pth into {hub_dir}" in message and "weights='random'" in message
    assert cache_listing(hub_dir) == []


def test_a_download_that_is_not_a_weights_file_keeps_nothing(server: LoopbackServer, hub_dir: Path) -> None:
    url = server.serve("vgg19.pth", b"<html>Service temporarily unavailable</html>")
    with pytest.raises(WeightsError, match="is unusable: it is not a PyTorch weights file"):
        resolve_weights("imagenet", weights_url=url)
    assert cache_listing(hub_dir) == []


def test_an_interrupted_download_keeps_nothing(server: LoopbackServer, hub_dir: Path) -> None:
    url = server.serve("vgg19.pth", b"x" * 500, announced_length=1000)
    with pytest.raises(WeightsError, match="interrupted"):
        resolve_weights("imagenet", weights_url=url)
    assert cache_listing(hub_dir) == []


class Cancelled(Exception):
    """What a UI's progress callback raises to stop a download."""


def test_an_exception_from_the_progress_callback_aborts_and_keeps_nothing(
    server: LoopbackServer, hub_dir: Path
) -> None:
    url = server.serve("vgg19.pth", b"x" * 3_000_000)

    def cancel(done: int, total: int | None) -> None:
        if done > 0:
            raise Cancelled

    with pytest.raises(Cancelled):
        resolve_weights("imagenet", weights_url=url, progress=cancel)
    assert cache_listing(hub_dir) == []


def test_not_enough_disk_space_is_said_before_downloading(
    server: LoopbackServer, hub_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = server.serve("vgg19.pth", b"x" * 3_000_000)
    monkeypatch.setattr("shutil.disk_usage", lambda _: type("Usage", (), {"free": 1_000_000})())
    with pytest.raises(WeightsError, match="Not enough disk space.*3 MB needed, 1 MB free"):
        resolve_weights("imagenet", weights_url=url)
    assert cache_listing(hub_dir) == []


def test_a_corrupt_cached_file_is_an_error_that_says_what_to_do(server: LoopbackServer, hub_dir: Path) -> None:
    url = f"{server.base_url}/vgg19-dcbb9e9d.pth"
    hub_dir.mkdir(parents=True)
    (hub_dir / "vgg19-dcbb9e9d.pth").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(WeightsError, match=r"cached VGG19 ImageNet weights .* are unusable.*Delete that file"):
        resolve_weights("imagenet", weights_url=url)
    assert server.hits == []


# --- a local state dict --------------------------------------------------------------------------------------------


def test_a_local_whole_model_file_loads_only_the_trunk(
    tmp_path: Path, full_model_file: tuple[bytes, dict[str, torch.Tensor]]
) -> None:
    body, trunk = full_model_file
    path = tmp_path / "my-vgg19.pth"
    path.write_bytes(body)
    state, source = resolve_weights(path)
    assert source == "VGG19 weights from my-vgg19.pth"
    assert list(state) == list(trunk_shapes())
    assert all(torch.equal(state[key], trunk[key]) for key in trunk)


def test_a_local_trunk_only_file_loads_into_an_extractor(tmp_path: Path) -> None:
    path = tmp_path / "trunk.pth"
    torch.save(tiny_trunk(), path)
    extractor = load_extractor(str(path), device="cpu")
    assert isinstance(extractor, VGGExtractor) and extractor.weights_source == "VGG19 weights from trunk.pth"
    assert all(not p.requires_grad and not p.any() for p in extractor.parameters())


class Pickled:
    """A class that only a full unpickler could rebuild."""


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (tiny_trunk(**{"34.weight": None, "34.bias": None}), r"missing keys: 34\.weight, 34\.bias\)"),
        (
            tiny_trunk(**{"0.weight": torch.zeros(64, 3, 5, 5)}),
            r"0\.weight has shape \(64, 3, 5, 5\) but VGG19 needs \(64, 3, 3, 3\)",
        ),
        (tiny_trunk(**{"1.running_mean": torch.zeros(64)}), r"unexpected keys: 1\.running_mean\)"),
        (
            {key: value for key, value in tiny_trunk().items() if int(key.split(".")[0]) <= 10},
            r"missing keys: 12\.weight, 12\.bias, .* and 14 more",
        ),
        ({"features.0.weight": torch.zeros(64, 3, 3, 3)}, r"missing keys: 0\.bias, 2\.weight"),
        (tiny_trunk(**{"2.bias": torch.zeros(64, dtype=torch.long)}), r"2\.bias is a torch\.int64 tensor"),
        (torch.zeros(3), "it holds a Tensor, not a state dict"),
        ({"0.weight": Pickled()}, r"pickled Python objects \(.*Pickled\).*torch\.save\(model\.state_dict\(\)"),
    ],
    ids=["missing", "shape", "unexpected", "truncated", "whole-model-partial", "dtype", "tensor", "pickle"],
)
def test_a_local_file_that_is_not_vgg19_names_what_is_wrong(tmp_path: Path, content: object, match: str) -> None:
    path = tmp_path / "weights.pth"
    torch.save(content, path)
    with pytest.raises(WeightsError, match=match) as caught:
        load_extractor(path, device="cpu")
    assert str(caught.value).startswith(f"Cannot use the weights file {path}: ")


@pytest.mark.parametrize(
    "content", [b"", b"garbage\n" * 100, b"PK\x03\x04" + b"\0" * 100], ids=["empty", "text", "zip"]
)
def test_a_local_file_that_is_not_a_torch_file_is_an_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "weights.pth"
    path.write_bytes(content)
    with pytest.raises(WeightsError, match="it is not a PyTorch weights file, or it is damaged or incomplete"):
        resolve_weights(path)


def test_missing_paths_folders_and_unknown_names_are_errors(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match=r"No weights file at .*nope\.pth\. Use weights='imagenet'"):
        resolve_weights(tmp_path / "nope.pth")
    with pytest.raises(WeightsError, match="No weights file at"):
        resolve_weights("models/vgg")
    with pytest.raises(WeightsError, match="is a folder"):
        resolve_weights(tmp_path)
    with pytest.raises(WeightsError, match=r"Unknown weights 'ImageNet': use weights='imagenet' .*weights='random'"):
        resolve_weights("ImageNet")


# --- "random" ------------------------------------------------------------------------------------------------------


def test_random_weights_are_seeded_and_leave_the_global_rng_alone() -> None:
    before = torch.random.get_rng_state()
    first, source = resolve_weights("random", seed=7)
    again, _ = resolve_weights("random", seed=7)
    other = random_state_dict(8)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert source == "random VGG19 weights (seeded initialisation, seed 7), not trained"
    assert {key: tuple(value.shape) for key, value in first.items()} == trunk_shapes()
    assert all(torch.equal(first[key], again[key]) for key in first)
    assert not torch.equal(first["0.weight"], other["0.weight"])
    # He initialisation (fan-out), as torchvision initialises VGG: std = sqrt(2 / (out_channels * 3 * 3)).
    assert abs(first["28.weight"].std().item() - (2 / (512 * 9)) ** 0.5) < 1e-3
    assert not first["0.bias"].any()
