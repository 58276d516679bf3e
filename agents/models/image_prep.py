"""Images made ready for a model: checked, resized to the preset's pixel budget and re-encoded, with Pillow.

Every image a model sees passes through `prepare`, whether a user attached it or a tool returned it: the bytes are
decoded (so what is sent is an image, whatever the file claimed), the first frame of an animation is kept, EXIF
rotation is applied, the picture is scaled down to at most `max_pixels`, and it is encoded again: PNG for PNG and GIF
sources (screenshots, charts, pages: sharp edges), JPEG for photos (JPEG and WebP sources).
"""

from __future__ import annotations

import base64
import io
import math
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from agents.errors import AppError

MAX_IMAGE_BYTES = 20 * 1024 * 1024
"""Larger files are refused before decoding: no chart or screenshot needs more, and decoding them costs seconds."""
MAX_SOURCE_PIXELS = 100_000_000
"""Pillow's decompression-bomb guard, made an error: a small file claiming huge dimensions is refused."""
JPEG_QUALITY = 85
ACCEPTED = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}
_KEEP_PNG = ("PNG", "GIF")


class ImageRefused(AppError):
    """An image that cannot be sent: too large, not an image, or of a type the model does not take."""


@dataclass(frozen=True)
class PreparedImage:
    """An image as it is sent: encoded bytes, their type, the size it was scaled to and the size it had."""

    data: bytes
    mime: str
    width: int
    height: int
    source_width: int
    source_height: int

    def data_url(self) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"


def too_large(name: str, size: int) -> str:
    """Why an image of `size` bytes is refused."""
    return (f"{name}: {size / 1e6:.1f} MB is too large to send to a model (at most {MAX_IMAGE_BYTES // (1024 * 1024)} "
            "MB); save a smaller copy, or a screenshot of the part that matters.")


def target_size(width: int, height: int, max_pixels: int) -> tuple[int, int]:
    """The largest size with the same aspect ratio and at most max_pixels (the size itself when it fits)."""
    if width * height <= max_pixels:
        return width, height
    scale = math.sqrt(max_pixels / (width * height))
    return max(1, math.floor(width * scale)), max(1, math.floor(height * scale))


def prepare(data: bytes, *, max_pixels: int, name: str = "image", types: tuple[str, ...] | None = None) -> PreparedImage:
    """The image scaled to the pixel budget and re-encoded; ImageRefused says why one cannot be sent."""
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageRefused(too_large(name, len(data)))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            fmt = image.format or ""
            mime = ACCEPTED.get(fmt)
            if mime is None or (types is not None and mime not in types):
                accepted = ", ".join(sorted(types or ACCEPTED.values()))
                raise ImageRefused(f"{name}: {fmt or 'unknown'} images are not accepted ({accepted}).")
            width, height = image.size
            if width * height > MAX_SOURCE_PIXELS:
                raise ImageRefused(f"{name}: {width}×{height} pixels is too large to decode safely.")
            size = target_size(width, height, max_pixels)
            if fmt == "JPEG" and size != (width, height):
                # The JPEG decoder scales by 1/2, 1/4 or 1/8 while it decodes (draft), to the smallest size still at
                # least the target: a 12 MP photo is decoded at 3 MP, then resized (thumbnail() drafts only to twice
                # the target, which for K2.5's budget means decoding all 12 MP).
                image.draft("RGB", size)
            if image.size != size:
                image = image.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)
            image = ImageOps.exif_transpose(image)
    except ImageRefused:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning, OSError,
            ValueError, SyntaxError) as exc:
        raise ImageRefused(f"{name}: not a readable image ({exc}).") from None
    out = io.BytesIO()
    if fmt in _KEEP_PNG:
        if image.mode not in ("RGB", "RGBA", "L", "LA"):
            image = image.convert("RGBA" if "transparency" in image.info or image.mode == "P" else "RGB")
        image.save(out, "PNG")
        mime = "image/png"
    else:
        if image.mode != "RGB":
            image = image.convert("RGB")
        image.save(out, "JPEG", quality=JPEG_QUALITY)
        mime = "image/jpeg"
    return PreparedImage(out.getvalue(), mime, image.width, image.height, width, height)
