"""Image input and output: any image file a user has -> a (1, 3, H, W) float32 tensor in [0, 1], and back."""

from __future__ import annotations

import hashlib
import io
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Final, Union

import numpy as np
import torch
from PIL import ExifTags, Image, ImageCms, ImageOps

from .errors import ImageError

ImageSource = Union[bytes, bytearray, memoryview, str, "os.PathLike[str]", BinaryIO]

DEFAULT_MAX_PIXELS = 50_000_000
"""Largest accepted image, in pixels, read from the file header before anything is decoded."""

ORIGINAL_MAX_SIDE: Final = 4096
"""Longest side an image is decoded at: the largest run size. A larger file is reduced to it while it is decoded,
which bounds the memory an upload can take, and every smaller size is then derived from that original."""

REDUCING_GAP: Final = 3.0
"""Lanczos resampling first box-reduces by the integer factor that leaves at least this ratio: much faster on
big photos, and the same quality (Pillow's ``reducing_gap``)."""

MIN_SIDE = 16
"""Smallest accepted side, in pixels (before and after resizing): VGG's poolings leave nothing of less."""

# Formats with a real signature only. Pillow's full list also holds formats it recognises by weak
# signatures (random bytes can pass for TGA) and EPS, which runs Ghostscript on untrusted input.
_SAFE_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF", "PPM", "AVIF")
_FORMAT_HINT = "PNG, JPEG, WebP, GIF, BMP, TIFF, PPM/PGM, AVIF"
_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")
_HIGH_PRECISION_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")
# Signatures of the supported formats, to tell "damaged PNG" from "not an image at all".
_SIGNATURES = (  # (offset, bytes, name)
    (0, b"\x89PNG\r\n\x1a\n", "PNG"),
    (0, b"\xff\xd8\xff", "JPEG"),
    (0, b"GIF8", "GIF"),
    (8, b"WEBP", "WebP"),
    (0, b"BM", "BMP"),
    (0, b"II*\x00", "TIFF"),
    (0, b"MM\x00*", "TIFF"),
)
_BOMB_PIXELS = re.compile(r"\((\d+) pixels\)")
_SRGB = ImageCms.createProfile("sRGB")


class DecodedImage:
    """An image decoded once, at its own size: the original every other size is derived from.

    ``at(max_side)`` gives the pixels at a longest side (as ``load_image``), ``resized(height, width)`` at an
    exact shape, both through one Lanczos resampling in float32. So a page that keeps the decoded original and
    asks it for several sizes sees exactly the pixels that the command line and a run decode from the file.

    ``planes`` are Pillow images of one size: three (red, green, blue) or one (grey, repeated), each in mode
    "L" (8-bit, 255 is 1.0) or "F" (float in [0, 1]). Keeping 8-bit planes costs 3 bytes a pixel.
    """

    def __init__(self, planes: Sequence[Image.Image]) -> None:
        if len(planes) not in (1, 3) or len({plane.size for plane in planes}) != 1:
            raise ValueError("a decoded image has 1 or 3 planes of one size")
        if any(plane.mode not in ("L", "F") for plane in planes):
            raise ValueError("decoded planes are 8-bit ('L') or float ('F')")
        self.planes = tuple(planes)

    @property
    def width(self) -> int:
        return self.planes[0].width

    @property
    def height(self) -> int:
        return self.planes[0].height

    def shape_at(self, max_side: int | None) -> tuple[int, int]:
        """(H, W) of ``at(max_side)``, without resampling anything; ``ImageError`` when a side would fall below
        ``MIN_SIDE``."""
        _check_positive("max_side", max_side, allow_none=True)
        width, height = _target_size((self.width, self.height), max_side) or (self.width, self.height)
        if min(height, width) < MIN_SIDE:
            raise ImageError(
                f"Scaled to {max_side} pixels on its longest side, the {self.width}x{self.height} image would be "
                f"{width}x{height}; each side must be at least {MIN_SIDE} pixels. "
                "Crop it to a less elongated shape or choose a larger size."
            )
        return height, width

    def at(self, max_side: int | None) -> torch.Tensor:
        """The (1, 3, H, W) float32 pixels in [0, 1] with the longest side at most ``max_side`` (None: as decoded).

        Never upscales. ``ImageError`` when a side would fall below ``MIN_SIDE``."""
        return self.resized(*self.shape_at(max_side))

    def resized(self, height: int, width: int) -> torch.Tensor:
        """The (1, 3, height, width) float32 pixels in [0, 1], resampled from the original (antialiased Lanczos)."""
        target = (width, height)
        arrays = [_unit_plane(plane, None if plane.size == target else target) for plane in self.planes]
        if len(arrays) == 1:
            arrays *= 3
        return torch.from_numpy(np.stack(arrays)).unsqueeze(0)


def decode_image(
    source: ImageSource | DecodedImage | torch.Tensor,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int | None = None,
) -> DecodedImage:
    """Decode ``source`` once into a ``DecodedImage``: bytes, a path, a binary file object (an upload), a
    bundled example's name, an image tensor (1, 3, H, W) or (3, H, W) in [0, 1], or a ``DecodedImage``.

    The EXIF orientation is applied; transparency is composited over white; grayscale, palette, CMYK,
    YCbCr and 16-bit images become RGB (16-bit values are scaled, 65535 -> 1.0); an embedded ICC profile
    is converted to sRGB. Animated or multi-page files (GIF, APNG, WebP, TIFF) give their first frame.
    Images larger than ``ORIGINAL_MAX_SIDE`` on their longest side are reduced to it while decoding (JPEGs in
    the DCT domain), whatever size is asked for later, so that the original never depends on who asks.
    ``max_pixels`` is checked on the header size before anything is decoded (Pillow's own hard limit, about
    179 MP, still applies above it). ``max_bytes`` (None: no limit) caps the file's size.

    Raises ``ImageError`` for empty, corrupt, truncated, unsupported, too large or too small input.
    """
    _check_positive("max_pixels", max_pixels)
    _check_positive("max_bytes", max_bytes, allow_none=True)
    if isinstance(source, DecodedImage):
        return source
    if isinstance(source, torch.Tensor):
        return _from_tensor(source)
    data = _read_source(_example_bytes(source))
    if max_bytes is not None and len(data) > max_bytes:
        raise ImageError(
            f"The file is {_megabytes(len(data))}; images of at most {_megabytes(max_bytes)} are accepted. "
            "Save it as a JPEG or with fewer pixels and try again."
        )
    with _pillow_errors(data, max_pixels):
        return DecodedImage(_decode(_open_checked(data, max_pixels)))


def load_image(
    source: ImageSource | DecodedImage | torch.Tensor,
    max_side: int | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int | None = None,
) -> torch.Tensor:
    """The pixels of ``source`` as a (1, 3, H, W) float32 tensor in [0, 1], longest side at most ``max_side``.

    The one way the project turns an image into pixels: the pages, the command line and runs all call it, so
    they analyse the same numbers. ``source`` is anything ``decode_image`` takes; larger images are downscaled
    with antialiasing (Lanczos), keeping the aspect ratio; smaller ones are never upscaled. Raises ``ImageError``.
    """
    _check_positive("max_side", max_side, allow_none=True)
    return decode_image(source, max_pixels, max_bytes).at(max_side)


def to_pil(image: torch.Tensor) -> Image.Image:
    """Convert a (1, 3, H, W) or (3, H, W) tensor in [0, 1] to an RGB PIL image (clamped, rounded; NaN -> 0)."""
    if image.dim() == 4:
        if image.shape[0] != 1:
            raise ValueError(f"to_pil takes one image, got a batch of {image.shape[0]}")
        image = image[0]
    if image.dim() != 3 or image.shape[0] != 3:
        raise ValueError(f"to_pil expects shape (1, 3, H, W) or (3, H, W), got {tuple(image.shape)}")
    pixels = torch.nan_to_num(image.detach().to("cpu", torch.float32), nan=0.0).clamp(0.0, 1.0)
    array = (pixels * 255.0).round().to(torch.uint8).permute(1, 2, 0).contiguous().numpy()
    return Image.fromarray(array)


def to_png_bytes(image: torch.Tensor) -> bytes:
    """Encode a (1, 3, H, W) or (3, H, W) tensor in [0, 1] as PNG bytes."""
    buffer = io.BytesIO()
    to_pil(image).save(buffer, format="PNG")
    return buffer.getvalue()


def content_digest(data: bytes) -> str:
    """SHA-256 hex digest of raw bytes: a cache key that, unlike Streamlit's sampled hashing, sees every byte."""
    return hashlib.sha256(data).hexdigest()


def _check_positive(name: str, value: object, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer{' or None' if allow_none else ''}, got {value!r}")


def _read_source(source: ImageSource) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source).expanduser()
        try:
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise ImageError(f"No image file at {path}.") from exc
        except IsADirectoryError as exc:
            raise ImageError(f"{path} is a folder, not an image file.") from exc
        except OSError as exc:
            raise ImageError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
    elif hasattr(source, "read"):
        try:
            data = source.read()
        except OSError as exc:
            raise ImageError(f"Cannot read the image stream: {exc}.") from exc
        if isinstance(data, str):
            raise ImageError("The file was opened in text mode; open it in binary mode ('rb').")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"read() of the image source returned {type(data).__name__}, not bytes")
        data = bytes(data)
    else:
        raise TypeError(f"load_image takes bytes, a path or a binary file object, not {type(source).__name__}")
    if not data:
        raise ImageError("The file is empty (0 bytes).")
    return data


def _open_checked(data: bytes, max_pixels: int) -> Image.Image:
    """Identify the image, check its header size, then its integrity; no pixel is decoded yet."""
    Image.init()  # registers every plugin, so that the filter below names only formats this Pillow has
    formats = [name for name in _SAFE_FORMATS if name in Image.OPEN]
    with _pillow_errors(data, max_pixels):
        im = Image.open(io.BytesIO(data), formats=formats)
    width, height = im.size
    if width * height > max_pixels:
        raise ImageError(
            f"The image is {width}x{height} pixels ({_megapixels(width * height)}); "
            f"the limit is {_megapixels(max_pixels)}."
        )
    if min(width, height) < MIN_SIDE:
        raise ImageError(f"The image is {width}x{height} pixels; each side must be at least {MIN_SIDE} pixels.")
    with _pillow_errors(data, max_pixels):
        # verify() walks the file (PNG chunk checksums, ...) and leaves its image unusable: use a second one.
        Image.open(io.BytesIO(data), formats=formats).verify()
    return im


@contextmanager
def _pillow_errors(data: bytes, max_pixels: int) -> Iterator[None]:
    """Turn whatever Pillow raises on bad input into an ImageError a user understands."""
    try:
        yield
    except ImageError:
        raise
    except Image.DecompressionBombError as exc:
        found = _BOMB_PIXELS.search(str(exc))
        size = _megapixels(int(found.group(1))) if found else "too many pixels"
        # Pillow raises this only when its own hard limit (read, never changed here) is the lower one.
        limit = min(max_pixels, 2 * (Image.MAX_IMAGE_PIXELS or max_pixels))
        raise ImageError(f"The image has {size}; the limit is {_megapixels(limit)}.") from exc
    except Image.UnidentifiedImageError as exc:
        raise ImageError(_unidentified_message(data)) from exc
    except MemoryError as exc:
        raise ImageError("Not enough memory to decode this image; try a smaller one.") from exc
    except Exception as exc:  # Pillow raises many types on malformed data (OSError, SyntaxError, struct.error, ...)
        detail = str(exc).strip().rstrip(".") or type(exc).__name__
        raise ImageError(
            f"The image file is damaged or incomplete (was the download or upload cut short?): {detail}."
        ) from exc


def _target_size(size: tuple[int, int], max_side: int | None) -> tuple[int, int] | None:
    """The size that caps the longest side at ``max_side``, or None when no downscaling is needed."""
    width, height = size
    longest = max(width, height)
    if max_side is None or longest <= max_side:
        return None
    scale = max_side / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def _decode(im: Image.Image) -> list[Image.Image]:
    """Decode, orient, convert, and reduce to ``ORIGINAL_MAX_SIDE``: the planes of a ``DecodedImage``."""
    cap = _target_size(im.size, ORIGINAL_MAX_SIDE)
    if cap is not None and im.format in ("JPEG", "MPO"):
        # DCT-domain downscaling: a huge photo decodes at 1/2..1/8 of its size, never below the cap.
        im.draft(None, cap)
    im.load()
    im = _oriented(im)
    cap = _target_size(im.size, ORIGINAL_MAX_SIDE)
    if im.mode in _HIGH_PRECISION_MODES:
        return [_resized(Image.fromarray(_unit_range(np.asarray(im))), cap)]
    return list(_resized(_to_rgb(im), cap).split())


def _from_tensor(image: torch.Tensor) -> DecodedImage:
    if image.dim() == 4 and image.shape[0] == 1:
        image = image[0]
    if image.dim() != 3 or image.shape[0] != 3 or not image.is_floating_point():
        raise ImageError(
            f"An image tensor must be float (1, 3, H, W) or (3, H, W), got {image.dtype} {tuple(image.shape)}."
        )
    pixels = image.detach().to("cpu", torch.float32)
    if not bool(torch.isfinite(pixels).all()):
        raise ImageError("The image tensor holds NaN or infinite values.")
    if min(pixels.shape[-2:]) < MIN_SIDE:
        raise ImageError(
            f"The image is {pixels.shape[-1]}x{pixels.shape[-2]} pixels; each side must be at least {MIN_SIDE} pixels."
        )
    return DecodedImage([Image.fromarray(np.ascontiguousarray(plane)) for plane in pixels.clamp(0.0, 1.0).numpy()])


def _example_bytes(source: ImageSource) -> ImageSource:
    """A bundled example's file for its name (a file of that name in the working folder wins), else ``source``."""
    if isinstance(source, str) and not Path(source).is_file():
        from .examples import example_bytes, is_example  # the examples module decodes through this one

        if is_example(source):
            return example_bytes(source)
    return source


def _unit_plane(plane: Image.Image, target: tuple[int, int] | None) -> np.ndarray:
    """One plane as float32 in [0, 1], resampled to ``target`` (width, height) unless None.

    8-bit planes are scaled to [0, 1] before resampling, as a tensor of the same values would be, so an image
    and its 8-bit PNG give the same pixels at every size below a sixfold reduction. From there on the integer
    box reduction that Lanczos starts with (``REDUCING_GAP``) runs on the 8-bit plane: a 4096 px original is never
    turned into floats whole (64 MB a plane)."""
    if target is not None and plane.mode == "L":
        factor = tuple(max(1, int(have / want / REDUCING_GAP)) for have, want in zip(plane.size, target, strict=True))
        if factor != (1, 1):
            plane = plane.reduce(factor)  # type: ignore[arg-type]
    values = np.asarray(plane, dtype=np.float32)
    if plane.mode == "L":
        values = values / np.float32(255.0)
    if target is None:
        return values.copy() if plane.mode == "F" else values
    resampled = _resized(Image.fromarray(values), target)
    return np.asarray(resampled, dtype=np.float32).clip(0.0, 1.0)


def _oriented(im: Image.Image) -> Image.Image:
    try:
        if im.getexif().get(ExifTags.Base.Orientation, 1) == 1:
            return im  # exif_transpose would copy the decoded photo
        return ImageOps.exif_transpose(im)
    except Exception:  # noqa: BLE001 - a damaged EXIF block should not cost the user a photo whose pixels are fine
        return im


def _to_rgb(im: Image.Image) -> Image.Image:
    """Flatten any 8-bit mode to RGB: transparency over white, an ICC profile to sRGB."""
    if im.mode in _ALPHA_MODES or "transparency" in im.info:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    icc = im.info.get("icc_profile")
    if icc and im.mode in ("RGB", "CMYK"):
        try:
            return ImageCms.profileToProfile(im, io.BytesIO(icc), _SRGB, outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken profile: read the values as sRGB, as browsers do
    if im.mode == "RGB":
        return im  # converting would copy the decoded photo
    try:
        return im.convert("RGB")
    except ValueError as exc:
        raise ImageError(
            f"Images in colour mode {im.mode!r} are not supported; save it as an RGB PNG or JPEG."
        ) from exc


def _unit_range(values: np.ndarray) -> np.ndarray:
    """Scale a 16-bit, 32-bit integer or float plane to [0, 1] (float32).

    16-bit planes use 65535 as full scale. 32-bit integer and float planes carry no declared range:
    the smallest usual full scale that holds the brightest value is used (float 1, 255, 65535, else the peak).
    """
    if values.dtype.kind == "u":
        scales: tuple[float, ...] = (65535.0,)
    elif values.dtype.kind == "i":
        scales = (255.0, 65535.0)
    else:
        scales = (1.0, 255.0, 65535.0)
    plane = np.nan_to_num(values.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    peak = float(plane.max(initial=0.0))
    full_scale = next((scale for scale in scales if peak <= scale), peak)
    return (plane / full_scale).clip(0.0, 1.0)


def _resized(im: Image.Image, target: tuple[int, int] | None) -> Image.Image:
    """``im`` resampled to ``target`` (width, height) with Lanczos; the one resampling of the project."""
    if target is None or im.size == target:
        return im
    return im.resize(target, Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)


def _megabytes(size: int) -> str:
    """Decimal megabytes, as browsers show a file's size."""
    return f"{size / 1e6:.1f} MB"


def _megapixels(pixels: int) -> str:
    if pixels < 1_000_000:
        return f"{pixels:,} pixels"
    return f"{pixels / 1e6:,.0f} MP" if pixels >= 10_000_000 else f"{pixels / 1e6:.1f} MP"


def _unidentified_message(data: bytes) -> str:
    for offset, signature, name in _SIGNATURES:
        if data[offset : offset + len(signature)] == signature:
            return f"The file starts like a {name} image but is damaged or incomplete; it cannot be read."
    if data[4:8] == b"ftyp":
        return "The file looks like a HEIC/HEIF photo or a video, which cannot be read here; export it as JPEG or PNG."
    return f"The file is not an image in a supported format ({_FORMAT_HINT})."
