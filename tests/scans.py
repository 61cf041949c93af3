"""Images of text as people deliver them: scanned pages and screenshots, made with Pillow.

Used by the OCR tests (few, small images: OCR costs about a second a page) and by
``benchmarks/ocr_noise.py`` (many, at every degradation).
"""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

# Debian's fonts (LibreOffice brings Liberation; DejaVu is nearly everywhere); Pillow's own
# bundled font when neither is there.
_FONTS = {
    "serif": ["/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf",
              "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"],
    "sans": ["/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
             "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"],
    "mono": ["/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf",
             "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"],
}


def font(kind: str, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in _FONTS[kind]:
        if Path(path).is_file():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)


def render(text: str, kind: str = "serif", size: int = 30, width: int = 2480, margin: int = 150,
           spacing: float = 1.4, background: int | tuple[int, int, int] = 255) -> Image.Image:
    """``text`` typeset in lines on a white page ``width`` pixels wide (2480 is A4 at 300 dpi)."""
    face = font(kind, size)
    average = face.getlength("the quick brown fox jumps over a lazy dog ") / 42
    columns = max(10, int((width - 2 * margin) / average))
    lines: list[str] = []
    for paragraph in text.split("\n"):
        lines += textwrap.wrap(paragraph, columns) or [""]
    height = int(2 * margin + len(lines) * size * spacing)
    mode = "L" if isinstance(background, int) else "RGB"
    image = Image.new(mode, (width, height), background)
    draw = ImageDraw.Draw(image)
    for number, line in enumerate(lines):
        draw.text((margin, margin + number * size * spacing), line, font=face, fill=0)
    return image


@dataclass(frozen=True)
class Degradation:
    """What a scanner, a fax or a screenshot tool does to a page."""

    scale: float = 1.0  # resampled (a 200 dpi scan of a page set for 300 dpi: 0.67)
    angle: float = 0.0  # degrees of skew
    blur: float = 0.0  # Gaussian radius, pixels
    noise: float = 0.0  # standard deviation of grey-level noise
    jpeg: int | None = None  # JPEG quality, or None for lossless
    binary: bool = False  # thresholded to black and white, as a fax


CLEAN_SCAN = Degradation(angle=0.4, blur=0.6, noise=8, jpeg=75)
POOR_SCAN = Degradation(scale=0.67, angle=1.2, blur=1.0, noise=18, jpeg=45)
LOW_RES_SCAN = Degradation(scale=0.5, angle=0.7, blur=0.7, noise=10, jpeg=60)
FAX = Degradation(scale=0.67, angle=1.0, blur=0.6, noise=30, binary=True)
PHOTO = Degradation(scale=0.5, angle=2.0, blur=1.0, noise=15, jpeg=60)
SCREENSHOT_JPEG = Degradation(jpeg=60)


def degrade(image: Image.Image, how: Degradation, seed: int = 0) -> Image.Image:
    """``image`` after ``how``; the noise follows ``seed``."""
    if how.scale != 1.0:
        image = image.resize((int(image.width * how.scale), int(image.height * how.scale)), Image.Resampling.BILINEAR)
    if how.angle:
        fill = 255 if image.mode == "L" else (255, 255, 255)
        image = image.rotate(how.angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=fill)
    if how.blur:
        image = image.filter(ImageFilter.GaussianBlur(how.blur))
    if how.noise:
        grey = np.asarray(image.convert("L"), dtype=np.float32)
        grey = grey + np.random.default_rng(seed).normal(0, how.noise, grey.shape)
        image = Image.fromarray(grey.clip(0, 255).astype(np.uint8))
    if how.binary:
        image = image.convert("L").point(lambda v: 255 if v > 150 else 0).convert("1", dither=Image.Dither.NONE)
    if how.jpeg is not None:
        buffer = io.BytesIO()
        image.convert("L" if image.mode == "L" else "RGB").save(buffer, "JPEG", quality=how.jpeg)
        image = Image.open(io.BytesIO(buffer.getvalue()))
        image.load()
    return image


def encoded(image: Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def scanned_pdf(pages: list[Image.Image], header: str | None = None, dpi: int = 300) -> bytes:
    """A PDF of page images only (no text layer), as a scanner writes it; with ``header``,
    a line of real text above the image on the first page (a stamped page header)."""
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    first = pages[0]
    pdf = canvas.Canvas(out, pagesize=(first.width * 72 / dpi, first.height * 72 / dpi + (30 if header else 0)))
    for number, page in enumerate(pages):
        width, height = page.width * 72 / dpi, page.height * 72 / dpi
        pdf.setPageSize((width, height + (30 if header and number == 0 else 0)))
        if header and number == 0:
            pdf.setFont("Helvetica", 9)
            pdf.drawString(36, height + 12, header)
        pdf.drawImage(ImageReader(page), 0, 0, width, height)
        pdf.showPage()
    pdf.save()
    return out.getvalue()
