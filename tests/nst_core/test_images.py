"""Image input and output: a corpus of bad files (each a clear ImageError), every colour mode, EXIF, resizing."""

from __future__ import annotations

import contextlib
import hashlib
import io
import random
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageCms, ImageFile, ImageFilter

import nst_core
from nst_core.errors import ImageError
from nst_core.images import (
    MIN_SIDE,
    ORIGINAL_MAX_SIDE,
    REDUCING_GAP,
    content_digest,
    decode_image,
    load_image,
    to_pil,
    to_png_bytes,
)

RNG = np.random.default_rng(0)
NOISE = RNG.integers(0, 256, size=(40, 60, 3), dtype=np.uint8)


def encode(im: Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def pixels(image: torch.Tensor) -> np.ndarray:
    """(1, 3, H, W) tensor -> (H, W, 3) array, after checking the contract every load must meet."""
    assert image.dtype == torch.float32 and image.dim() == 4 and image.shape[:2] == (1, 3)
    assert image.is_contiguous()
    assert float(image.min()) >= 0.0 and float(image.max()) <= 1.0
    return image[0].permute(1, 2, 0).numpy()


def png_chunks(data: bytes) -> list[tuple[int, bytes, bytes]]:
    """(offset, type, payload) of each chunk of a PNG file."""
    chunks, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        chunks.append((offset, data[offset + 4 : offset + 8], data[offset + 8 : offset + 8 + length]))
        offset += 12 + length
    return chunks


def with_chunk(data: bytes, kind: bytes, payload: bytes, fix_crc: bool = True) -> bytes:
    """Replace the payload of the first chunk of ``kind``; its checksum is recomputed unless told not to."""
    offset, _, old = next(chunk for chunk in png_chunks(data) if chunk[1] == kind)
    crc = zlib.crc32(kind + payload) if fix_crc else zlib.crc32(kind + old) ^ 0xFFFFFFFF
    chunk = struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)
    return data[:offset] + chunk + data[offset + 12 + len(old) :]


def png_claiming(width: int, height: int) -> bytes:
    """A valid 1x1 PNG whose header claims another size: a decompression bomb costs no memory to make."""
    tiny = encode(Image.new("RGB", (1, 1)))
    return with_chunk(tiny, b"IHDR", struct.pack(">II", width, height) + png_chunks(tiny)[0][2][8:])


GOOD_PNG = encode(Image.fromarray(NOISE))
GOOD_JPEG = encode(Image.fromarray(NOISE), "JPEG", quality=90)
GOOD_GIF = encode(Image.fromarray(NOISE).convert("P"), "GIF")


def _flip_idat_data(data: bytes) -> bytes:
    idat = next(chunk[2] for chunk in png_chunks(data) if chunk[1] == b"IDAT")
    broken = bytearray(idat)
    broken[10:30] = bytes(20)
    return with_chunk(data, b"IDAT", bytes(broken))


BAD_INPUTS: dict[str, tuple[Callable[[], bytes], str]] = {
    "zero bytes": (lambda: b"", "empty"),
    "random bytes": (lambda: np.random.default_rng(1).bytes(4096), "not an image"),
    "text file": (lambda: b"Dear user,\nthis is not a picture.\n" * 20, "not an image"),
    "svg": (lambda: b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"/>', "not an image"),
    "HEIC photo": (lambda: b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(200), "HEIC"),
    "PNG signature only": (lambda: GOOD_PNG[:8], "PNG"),
    "truncated PNG": (lambda: GOOD_PNG[: len(GOOD_PNG) // 2], "damaged or incomplete"),
    "PNG without IEND": (lambda: GOOD_PNG[:-12], "damaged or incomplete"),
    "PNG with bad IHDR checksum": (
        lambda: with_chunk(GOOD_PNG, b"IHDR", png_chunks(GOOD_PNG)[0][2], fix_crc=False),
        "PNG",
    ),
    "PNG with bad IDAT checksum": (
        lambda: with_chunk(
            GOOD_PNG, b"IDAT", next(c[2] for c in png_chunks(GOOD_PNG) if c[1] == b"IDAT"), fix_crc=False
        ),
        "damaged",
    ),
    "PNG with corrupt IDAT data": (lambda: _flip_idat_data(GOOD_PNG), "damaged"),
    "truncated JPEG": (lambda: GOOD_JPEG[: len(GOOD_JPEG) // 2], "damaged or incomplete"),
    "JPEG header then garbage": (lambda: GOOD_JPEG[:4] + bytes(64), "JPEG"),
    "truncated GIF": (lambda: GOOD_GIF[: len(GOOD_GIF) // 3], "damaged or incomplete"),
    "decompression bomb": (lambda: png_claiming(100_000, 100_000), r"10,000 MP.*limit is 50 MP"),
    "over the pixel limit": (lambda: png_claiming(10_000, 6_000), r"10000x6000 pixels \(60 MP\); the limit is 50 MP"),
    "tiny image": (lambda: encode(Image.new("RGB", (8, 40))), rf"8x40 pixels.*at least {MIN_SIDE}"),
}


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_bad_input_is_a_clear_image_error(name: str) -> None:
    make, message = BAD_INPUTS[name]
    with pytest.raises(ImageError, match=message) as caught:
        load_image(make())
    assert isinstance(caught.value, ValueError)
    assert str(caught.value)[0].isupper() and str(caught.value).endswith(".")


def test_pixel_limit_is_configurable() -> None:
    data = encode(Image.new("RGB", (100, 80)))
    with pytest.raises(ImageError, match=r"100x80 pixels \(8,000 pixels\); the limit is 5,000 pixels"):
        load_image(data, max_pixels=5_000)
    assert load_image(data, max_pixels=8_000).shape == (1, 3, 80, 100)
    with pytest.raises(ImageError, match=r"\(1\.5 MP\); the limit is 1\.0 MP"):
        load_image(png_claiming(1500, 1000), max_pixels=1_000_000)


def test_byte_limit_refuses_a_larger_file_before_decoding_it() -> None:
    data = encode(Image.new("RGB", (100, 80)))
    with pytest.raises(ImageError, match=r"^The file is 0\.0 MB; images of at most 0\.0 MB are accepted\. "):
        load_image(data, max_bytes=len(data) - 1)
    assert load_image(data, max_bytes=len(data)).shape == (1, 3, 80, 100)
    with pytest.raises(ImageError, match=r"The file is 3\.0 MB; images of at most 2\.0 MB"):
        load_image(b"\x89PNG\r\n\x1a\n" + bytes(3_000_000 - 8), max_bytes=2_000_000)  # never decoded


def test_pillow_globals_are_left_alone() -> None:
    limit, truncated = Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES
    for data in (png_claiming(100_000, 100_000), GOOD_JPEG[:-40], GOOD_PNG):
        with contextlib.suppress(ImageError):
            load_image(data, max_pixels=10**12)
    assert (limit, truncated) == (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES)


@pytest.mark.parametrize("data", [GOOD_PNG, GOOD_JPEG, GOOD_GIF], ids=["png", "jpeg", "gif"])
def test_damaged_files_never_raise_anything_but_image_error(data: bytes) -> None:
    mutations = random.Random(0)
    for trial in range(40):
        broken = bytearray(data)
        if trial % 2:
            del broken[mutations.randrange(8, len(broken)) :]
        for _ in range(mutations.randint(1, 8)):
            broken[mutations.randrange(len(broken))] = mutations.randrange(256)
        try:
            pixels(load_image(bytes(broken)))
        except ImageError as error:
            assert str(error)


def test_missing_file_folder_and_text_stream(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="No image file at"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(ImageError, match="is a folder"):
        load_image(tmp_path)
    (tmp_path / "image.png").write_bytes(GOOD_PNG)
    with open(tmp_path / "image.png", encoding="latin-1") as text, pytest.raises(ImageError, match="binary mode"):
        load_image(text)  # type: ignore[arg-type]


def test_programming_errors_are_not_image_errors() -> None:
    with pytest.raises(TypeError):
        load_image(12345)  # type: ignore[arg-type]
    for bad in (0, -5, 2.5, True):
        with pytest.raises(ValueError, match="max_side"):
            load_image(GOOD_PNG, max_side=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_pixels"):
        load_image(GOOD_PNG, max_pixels=0)


def test_every_kind_of_source_gives_the_same_image(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"  # a PNG under a JPEG name: the content decides, not the extension
    path.write_bytes(GOOD_PNG)
    reference = load_image(GOOD_PNG)
    np.testing.assert_array_equal(pixels(reference), NOISE / np.float32(255.0))
    with open(path, "rb") as stream:
        from_stream = load_image(stream)
    sources = (bytearray(GOOD_PNG), memoryview(GOOD_PNG), str(path), path, io.BytesIO(GOOD_PNG))
    for other in [from_stream, *(load_image(source) for source in sources)]:
        assert torch.equal(other, reference)


def test_transparency_is_composited_over_white() -> None:
    rgba = Image.new("RGBA", (20, 20), (0, 0, 255, 255))
    rgba.putpixel((0, 0), (255, 0, 0, 0))  # fully transparent red -> white
    rgba.putpixel((1, 0), (0, 0, 0, 128))  # half-transparent black -> mid grey
    out = pixels(load_image(encode(rgba)))
    np.testing.assert_allclose(out[0, 0], [1.0, 1.0, 1.0])
    np.testing.assert_allclose(out[0, 1], [127 / 255] * 3, atol=1 / 255)
    np.testing.assert_allclose(out[5, 5], [0.0, 0.0, 1.0])

    la = Image.new("LA", (20, 20), (100, 255))
    la.putpixel((3, 2), (0, 0))
    out = pixels(load_image(encode(la)))
    np.testing.assert_allclose(out[2, 3], [1.0, 1.0, 1.0])
    np.testing.assert_allclose(out[0, 0], [100 / 255] * 3, atol=1e-6)


def test_palette_with_transparent_index_and_transparent_gif() -> None:
    palette = Image.new("P", (24, 24), 1)
    palette.putpalette([0, 0, 0, 200, 30, 30] + [0] * 762)
    palette.paste(0, (0, 0, 12, 24))
    for data in (encode(palette, transparency=0), encode(palette, "GIF", transparency=0)):
        out = pixels(load_image(data))
        np.testing.assert_allclose(out[5, 2], [1.0, 1.0, 1.0])  # index 0 is transparent black -> white
        np.testing.assert_allclose(out[5, 20], np.array([200, 30, 30]) / 255, atol=1e-6)


def test_grayscale_and_bilevel_become_three_equal_channels() -> None:
    gray = Image.fromarray(NOISE[:, :, 0])
    out = pixels(load_image(encode(gray)))
    for channel in range(3):
        np.testing.assert_allclose(out[:, :, channel], NOISE[:, :, 0] / 255, atol=1e-6)
    bilevel = Image.fromarray(NOISE[:, :, 0] > 127)
    out = pixels(load_image(encode(bilevel)))
    assert set(np.unique(out)) == {0.0, 1.0}
    np.testing.assert_array_equal(out[:, :, 1], NOISE[:, :, 0] > 127)


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_16_bit_grayscale_is_scaled_not_clipped(fmt: str) -> None:
    values = np.zeros((20, 30), dtype=np.uint16)
    values[:, :10], values[:, 10:20] = 65535, 32768
    im = Image.fromarray(values)
    assert im.mode == "I;16"
    out = pixels(load_image(encode(im, fmt)))
    np.testing.assert_allclose(out[5, 5], [1.0] * 3)
    np.testing.assert_allclose(out[5, 15], [32768 / 65535] * 3, rtol=1e-6)
    np.testing.assert_allclose(out[5, 25], [0.0] * 3)


def test_16_bit_keeps_more_than_8_bits_of_precision() -> None:
    ramp = np.tile(np.arange(0, 65536, 64, dtype=np.uint16)[None, :], (16, 1))
    out = pixels(load_image(encode(Image.fromarray(ramp))))
    assert len(np.unique(out[0, :, 0])) == ramp.shape[1]  # 1024 distinct levels, not 256


def test_32_bit_integer_and_float_planes() -> None:
    eight_bit = Image.fromarray(NOISE[:, :, 0].astype(np.int32))  # mode "I" holding 0..255
    np.testing.assert_allclose(pixels(load_image(encode(eight_bit, "TIFF")))[:, :, 0], NOISE[:, :, 0] / 255, atol=1e-6)
    floats = Image.fromarray((NOISE[:, :, 0] / 255).astype(np.float32))
    np.testing.assert_allclose(pixels(load_image(encode(floats, "TIFF")))[:, :, 2], NOISE[:, :, 0] / 255, atol=1e-6)


@pytest.mark.parametrize(
    ("mode", "fmt", "tolerance"), [("CMYK", "JPEG", 0.03), ("CMYK", "TIFF", 1e-6), ("YCbCr", "TIFF", 0.02)]
)
def test_cmyk_and_ycbcr_become_rgb(mode: str, fmt: str, tolerance: float) -> None:
    # A smooth image keeps the error of JPEG's chroma subsampling small.
    smooth = np.asarray(Image.fromarray(NOISE).filter(ImageFilter.GaussianBlur(3)))
    data = encode(Image.fromarray(smooth).convert(mode), fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    assert Image.open(io.BytesIO(data)).mode == mode
    assert np.abs(pixels(load_image(data)) - smooth / 255).mean() < tolerance


def test_icc_profile_is_applied_and_a_broken_one_ignored() -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    for profile in (srgb, b"not a profile" * 20):
        out = pixels(load_image(encode(Image.fromarray(NOISE), icc_profile=profile)))
        np.testing.assert_allclose(out, NOISE / 255, atol=1 / 255)


def test_exif_orientation_is_applied() -> None:
    stored = np.zeros((40, 80, 3), dtype=np.uint8)
    stored[:, :] = (0, 0, 255)
    stored[:, :20] = (255, 0, 0)  # the left quarter of the stored image is red
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    data = encode(Image.fromarray(stored), "JPEG", quality=95, exif=exif.tobytes())
    out = pixels(load_image(data))
    assert out.shape == (80, 40, 3)
    # The stored left edge is the displayed top edge.
    np.testing.assert_allclose(out[5, 20], [1.0, 0.0, 0.0], atol=0.05)
    np.testing.assert_allclose(out[60, 20], [0.0, 0.0, 1.0], atol=0.05)
    # Resizing happens in display orientation (and through JPEG draft mode).
    assert load_image(data, max_side=40).shape == (1, 3, 40, 20)


def test_multi_frame_files_give_their_first_frame() -> None:
    frames = [Image.new("RGB", (20, 20), colour) for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    for fmt in ("GIF", "PNG", "TIFF", "WEBP"):
        options = {"lossless": True} if fmt == "WEBP" else {}
        data = encode(frames[0], fmt, save_all=True, append_images=frames[1:], **options)
        assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 3, fmt
        np.testing.assert_allclose(pixels(load_image(data))[10, 10], [1.0, 0.0, 0.0], atol=0.02, err_msg=fmt)


def test_max_side_caps_the_longest_side_and_never_upscales() -> None:
    data = encode(Image.new("RGB", (100, 50), (10, 200, 30)))
    assert load_image(data, max_side=40).shape == (1, 3, 20, 40)
    assert load_image(encode(Image.new("RGB", (50, 100))), max_side=40).shape == (1, 3, 40, 20)
    assert load_image(data, max_side=100).shape == (1, 3, 50, 100)
    assert load_image(data, max_side=1000).shape == (1, 3, 50, 100)
    np.testing.assert_allclose(pixels(load_image(data, max_side=64))[10, 10], np.array([10, 200, 30]) / 255, atol=1e-6)


def test_resizing_is_antialiased() -> None:
    checkerboard = (np.indices((64, 64)).sum(axis=0) % 2 * 255).astype(np.uint8)
    out = pixels(load_image(encode(Image.fromarray(checkerboard)), max_side=16))
    assert abs(out.mean() - 0.5) < 0.02 and out.std() < 0.02  # aliasing would leave pure black or white


def test_jpeg_draft_decoding_matches_full_decoding() -> None:
    photo = Image.fromarray(NOISE).resize((480, 320), Image.Resampling.BICUBIC)
    data = encode(photo, "JPEG", quality=95)
    fast = load_image(data, max_side=60)
    full = torch.from_numpy(np.asarray(Image.open(io.BytesIO(data)).resize((60, 40), Image.Resampling.LANCZOS)) / 255)
    assert fast.shape == (1, 3, 40, 60)
    assert float((fast[0].permute(1, 2, 0) - full).abs().mean()) < 0.02


def test_an_elongated_image_too_thin_after_resizing_is_refused() -> None:
    with pytest.raises(ImageError, match=r"would be 64x3.*at least 16"):
        load_image(encode(Image.new("RGB", (400, 20))), max_side=64)


def test_round_trip_through_png_bytes() -> None:
    image = torch.rand(1, 3, 24, 36, generator=torch.Generator().manual_seed(3))
    back = load_image(to_png_bytes(image))
    assert back.shape == image.shape
    assert float((back - image).abs().max()) <= 0.5 / 255 + 1e-6


def test_to_pil_clamps_rounds_and_checks_shape() -> None:
    image = torch.tensor([[[-1.0, 0.5], [2.0, float("nan")]]] * 3)
    pil = to_pil(image)
    assert pil.mode == "RGB" and pil.size == (2, 2)
    np.testing.assert_array_equal(np.asarray(pil)[:, :, 0], [[0, 128], [255, 0]])
    assert np.asarray(to_pil(image[None])).tolist() == np.asarray(pil).tolist()
    assert to_pil(torch.ones(1, 3, 4, 4, requires_grad=True)).getpixel((0, 0)) == (255, 255, 255)
    for bad in (torch.zeros(2, 3, 4, 4), torch.zeros(1, 4, 4), torch.zeros(4, 4)):
        with pytest.raises(ValueError):
            to_pil(bad)


def test_content_digest_is_sha256_of_every_byte() -> None:
    assert content_digest(GOOD_PNG) == hashlib.sha256(GOOD_PNG).hexdigest()
    changed = bytearray(GOOD_PNG)
    changed[-20] ^= 1
    assert content_digest(bytes(changed)) != content_digest(GOOD_PNG)


def test_public_names_are_exported() -> None:
    assert nst_core.load_image is load_image and nst_core.to_pil is to_pil and nst_core.to_png_bytes is to_png_bytes
    assert nst_core.ImageError is ImageError and issubclass(ImageError, ValueError)


def test_every_source_gives_the_pixels_of_its_file_at_every_size(tmp_path: Path) -> None:
    """A path, bytes, a file object, a decoded original and an example's name give the same numbers at every size,
    and so does a tensor of the same 8-bit pixels below a sixfold reduction (from there on the 8-bit plane is
    box-reduced in 8 bits first): one decoding, one resampling."""
    data = nst_core.examples.example_bytes("chelsea")
    path = tmp_path / "chelsea.jpg"
    path.write_bytes(data)
    original = decode_image(data)
    tensor = original.at(None)
    for side in (None, 300, 128, 40):
        expected = load_image(data, max_side=side)
        sources: list[object] = [path, str(path), io.BytesIO(data), original, "chelsea"]
        if side is None or max(original.width, original.height) / side < 2 * REDUCING_GAP:
            sources += [tensor, load_image(to_png_bytes(tensor))]
        for source in sources:
            assert torch.equal(load_image(source, max_side=side), expected), (type(source).__name__, side)
        assert original.shape_at(side) == tuple(expected.shape[-2:])
        assert torch.equal(original.resized(*expected.shape[-2:]), expected)


def test_an_image_larger_than_the_original_cap_is_reduced_while_decoding() -> None:
    data = encode(Image.new("RGB", (ORIGINAL_MAX_SIDE + 904, 1000), (10, 200, 30)), "JPEG")
    original = decode_image(data)
    assert (original.width, original.height) == (ORIGINAL_MAX_SIDE, 819)
    assert load_image(data).shape == (1, 3, 819, ORIGINAL_MAX_SIDE)


_DECODE_THREE = """
import io, threading
from PIL import Image
from nst_core.images import decode_image
im = Image.new("RGB", (7000, 7000), (200, 120, 30)); buffer = io.BytesIO(); im.save(buffer, "PNG"); del im
data = buffer.getvalue()
def status(name): return int(open("/proc/self/status").read().split(name + ":")[1].split()[0]) // 1024
idle = status("VmRSS")
def upload(): decode_image(data, max_bytes=10_000_000).at(256)
threads = [threading.Thread(target=upload) for _ in range(3)]
[thread.start() for thread in threads]; [thread.join() for thread in threads]
print(len(data), status("VmHWM") - idle)
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the peak memory from /proc")
def test_three_visitors_decoding_a_7000_px_png_at_once_stay_under_1_5_gb() -> None:
    """A 160 kB PNG of 7000 x 7000 pixels decodes to 147 MB: three at once must not exhaust a server."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _DECODE_THREE], capture_output=True, text=True, check=True)
    size, peak_mb = map(int, done.stdout.split())
    assert size < 200_000 and peak_mb < 1500, done.stdout
