"""Product images: the renditions the shop front shows, and the sample catalogue's pictures.

An uploaded image is kept as it came; `renditions` makes from it a 4:3 thumbnail for the product
grid and a larger picture for the product page (JPEG, EXIF rotation applied), so a phone photo
of several megabytes never reaches a shopper's browser. `sample_image` draws a product's picture
for the sample catalogue, so a fresh `make run` shows no broken image without shipping photos.
"""

import functools
import hashlib
import io
import textwrap
from dataclasses import dataclass

from django.core.files.base import ContentFile
from PIL import Image, ImageDraw, ImageFont, ImageOps

from yourlocalshop.pdf import FONTS_DIR

THUMBNAIL_SIZE = (480, 360)
DISPLAY_SIZE = (1200, 900)
SAMPLE_SIZE = THUMBNAIL_SIZE
JPEG_QUALITY = 82
# Soft, light backgrounds the sample pictures pick from by SKU (dark text stays readable).
SAMPLE_COLOURS = [
    (232, 221, 196),
    (214, 230, 212),
    (222, 214, 232),
    (240, 216, 205),
    (206, 224, 236),
    (236, 230, 200),
]


@dataclass(frozen=True)
class Renditions:
    thumbnail: ContentFile
    display: ContentFile


def _jpeg(image: Image.Image, name: str) -> ContentFile:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return ContentFile(buffer.getvalue(), name=name)


def renditions(source, *, stem: str) -> Renditions:
    """The grid thumbnail (cropped to 4:3 around the centre) and the product page picture (the
    whole image, at most 1200x900) of an uploaded image file."""
    with Image.open(source) as opened:
        image = ImageOps.exif_transpose(opened)
        image.load()
    thumbnail = ImageOps.fit(image, THUMBNAIL_SIZE, Image.Resampling.LANCZOS)
    display = image.copy()
    display.thumbnail(DISPLAY_SIZE, Image.Resampling.LANCZOS)
    return Renditions(
        thumbnail=_jpeg(thumbnail, f"{stem}-thumbnail.jpg"),
        display=_jpeg(display, f"{stem}-display.jpg"),
    )


@functools.cache
def _sample_fonts() -> tuple[ImageFont.FreeTypeFont, ImageFont.FreeTypeFont]:
    return (
        ImageFont.truetype(str(FONTS_DIR / "DejaVuSans-Bold.ttf"), 34),
        ImageFont.truetype(str(FONTS_DIR / "DejaVuSans.ttf"), 20),
    )


def sample_image(*, name: str, sku: str, category: str) -> ContentFile:
    """A picture for a sample product, at the grid thumbnail's size (480x360): its name on a
    colour of its own, the category below."""
    digest = int(hashlib.sha256(sku.encode()).hexdigest(), 16)
    background = SAMPLE_COLOURS[digest % len(SAMPLE_COLOURS)]
    width, height = SAMPLE_SIZE
    image = Image.new("RGB", SAMPLE_SIZE, background)
    draw = ImageDraw.Draw(image)
    title, small = _sample_fonts()
    draw.ellipse(
        (width - 170, -70, width + 70, 170), fill=tuple(max(c - 24, 0) for c in background)
    )
    lines = textwrap.wrap(name, width=20)[:4]
    y = height / 2 - len(lines) * 21
    for line in lines:
        draw.text((36, y), line, font=title, fill=(38, 52, 44))
        y += 42
    draw.text((36, y + 10), category, font=small, fill=(88, 100, 92))
    return _jpeg(image, f"{sku.lower()}.jpg")
