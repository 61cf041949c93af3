"""OCR: the words of an image, with their boxes, through Tesseract.

Tesseract is Debian's ``tesseract-ocr`` program (with ``tesseract-ocr-eng``), run once
per image as a child of the extraction worker (:mod:`leakwatch.extract.external`): the
image goes in on standard input as PNM and the words come back on standard output as
TSV, so nothing is written to disk; each image has ``ocr_timeout_s`` of its own, and a
crash or hang in Tesseract or Leptonica on a hostile image is that file's status, not
the worker's end. (tesserocr, the in-process binding, bundles its own older copies of
libtiff, libpng and Leptonica and cannot be stopped mid-page; pytesseract writes the
image and its output to files in the shared temporary folder. Both would save the 0.09 s
a call costs to start Tesseract, about 5% of a page.)

Images are decoded by Pillow within ``max_image_pixels`` (a decompression bomb is
``too-large`` before it is decoded), turned upright by their EXIF orientation, laid on
white where transparent (a screenshot's transparent background would read as black),
and read in grey. A file may have ``ocr_max_images`` images read in all.

The text of an image is its lines in Tesseract's reading order, a blank line between
blocks; every word keeps its box, in pixels of the image as decoded, so a finding on it
can say where it is (:class:`leakwatch.model.TextRegion`).
"""

from __future__ import annotations

import dataclasses
import io
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from leakwatch.config import ExtractLimits
from leakwatch.extract.external import find_program, private_folder, run_program
from leakwatch.model import ExtractedText, ExtractionError, Status, TextRegion

PAGE_SEPARATOR = "\f"

# Images smaller than this cannot hold a line of words legibly (icons, bullets, rules):
# they are not read. A 20-word line needs several hundred pixels of width.
MIN_SIDE = 16
MIN_PIXELS = 12_000

# Tesseract reads text best with capitals about 20-40 pixels high; a screenshot of 10 px
# text lost 32% of its words read at its own size and 2% at twice it, while 13 px text
# read as well either way (benchmarks/ocr_noise.py). Images whose lines are closer than
# this (median pitch, from the rows' ink profile; 10 px text is set 14 px apart, 13 px
# text 18) are read at twice their size.
UPSCALE_BELOW = 16

_TSV_COLUMNS = 12


@lru_cache(maxsize=1)
def tesseract_version() -> str:
    """Tesseract's version (part of extractor versions: another Tesseract reads differently)."""
    import subprocess

    program = find_program("tesseract", "tesseract-ocr", "OCR")
    try:
        out = subprocess.run([program, "--version"], capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    words = (out.stdout or out.stderr).decode("utf-8", "replace").split()
    return words[1] if len(words) > 1 and words[0] == "tesseract" else "unknown"


def ocr_version(limits: ExtractLimits) -> str:
    """What OCR's reading depends on, for :attr:`ExtractedText.extractor_version`."""
    return f"ocr-tesseract-{tesseract_version()}-{limits.ocr_languages}"


# --- the text of pages with OCR regions ---------------------------------------------------


@dataclass
class PageText:
    """One page (slide, sheet, frame) of text, with the parts of it read by OCR; region
    offsets are relative to this page's text until :func:`join_pages` places them."""

    text: str = ""
    regions: list[TextRegion] = field(default_factory=list)

    def add(self, read: ImageText | None) -> None:
        """Append an image's text (on lines of its own) and its region."""
        if read is None or not read.text.strip():
            return
        if self.text and not self.text.endswith("\n"):
            self.text += "\n"
        offset = len(self.text)
        self.text += read.text
        self.regions.append(read.region(offset))


def join_pages(pages: Sequence[PageText]) -> tuple[str, tuple[int, ...], tuple[TextRegion, ...]]:
    """Join pages with form feeds: the text, where pages 2, 3 ... start, and the regions
    at their offsets in the joined text."""
    parts: list[str] = []
    starts: list[int] = []
    regions: list[TextRegion] = []
    offset = 0
    for index, page in enumerate(pages):
        if index:
            parts.append(PAGE_SEPARATOR)
            offset += len(PAGE_SEPARATOR)
            starts.append(offset)
        parts.append(page.text.replace(PAGE_SEPARATOR, " "))
        regions.extend(shifted(r, offset) for r in page.regions)
        offset += len(page.text)
    return "".join(parts), tuple(starts), tuple(regions)


def with_regions(extracted: ExtractedText, regions: Sequence[TextRegion], used_ocr: bool,
                 limits: ExtractLimits) -> ExtractedText:
    """``extracted`` with its OCR regions, its extractor version naming the OCR engine
    when OCR read anything (the text then depends on it)."""
    if not used_ocr:
        return extracted
    return dataclasses.replace(extracted, regions=tuple(regions),
                               extractor_version=f"{extracted.extractor_version}+{ocr_version(limits)}")


def shifted(region: TextRegion, by: int) -> TextRegion:
    return TextRegion(region.start + by, region.end + by, region.name, region.size,
                      tuple((s + by, e + by, *box) for s, e, *box in region.words))  # type: ignore[misc]


# --- images -------------------------------------------------------------------------------


def _check_pixels(width: int, height: int, limits: ExtractLimits, name: str) -> None:
    if width * height > limits.max_image_pixels:
        raise ExtractionError(Status.TOO_LARGE, f"{name} is {width:,} x {height:,} pixels, over the limit of "
                                                f"{limits.max_image_pixels:,} (decompression bomb?)")


def _pillow_limit(limits: ExtractLimits) -> None:
    """Pillow's own decompression-bomb check (a warning past the limit, an error past twice
    it) at the configured limit: Pillow keeps it in a module global."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = limits.max_image_pixels


def image_frames(data: bytes, limits: ExtractLimits, name: str) -> Iterator[object]:
    """Each frame of an image file, decoded, within the limits: a TIFF's pages, the first
    frame of anything else (an animated GIF's frames are not pages).

    Raises:
        ExtractionError: ``too-large`` for a frame over ``max_image_pixels`` or more
            frames than ``ocr_max_images``; ``parse-error`` for data Pillow cannot decode.
    """
    from PIL import Image, UnidentifiedImageError

    _pillow_limit(limits)
    try:
        with warnings.catch_warnings():
            # Pillow warns of damage it reads past (corrupt EXIF ...): the worker's stderr
            # is the daemon's log, not the place for it. Bombs stay errors.
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            index = 0
            while True:
                _check_pixels(image.width, image.height, limits, name)
                if index >= limits.ocr_max_images:
                    raise ExtractionError(Status.TOO_LARGE, f"{name} has more than {limits.ocr_max_images:,} frames "
                                                            "to read (the limit of images per file)")
                image.load()
                yield image.copy()
                index += 1
                if image.format != "TIFF":
                    return
                try:
                    image.seek(index)
                except EOFError:
                    return
    except ExtractionError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ExtractionError(Status.TOO_LARGE, f"{name}: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise ExtractionError(Status.PARSE_ERROR, f"{name} is not an image Pillow can read") from exc
    except MemoryError as exc:
        raise ExtractionError(Status.MEMORY, f"out of memory decoding {name}") from exc
    except Exception as exc:  # OSError (truncated), SyntaxError (bad header), ValueError ...
        raise ExtractionError(Status.PARSE_ERROR, f"cannot decode {name} ({type(exc).__name__}: {exc})") from exc


def readable_size(width: int, height: int) -> bool:
    """True when an image is big enough to hold words worth reading."""
    return min(width, height) >= MIN_SIDE and width * height >= MIN_PIXELS


def _grey(image: object) -> object:
    """The image upright, on white where transparent, in 8-bit grey."""
    from PIL import Image, ImageOps

    assert isinstance(image, Image.Image)
    image = ImageOps.exif_transpose(image) or image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        image = image.point(lambda v: v / 256) if image.mode != "F" else image
    return image.convert("L")


def line_pitch(grey: object) -> float | None:
    """The median distance in pixels between the starts of successive runs of rows holding
    ink (lines of text), or None for an image with fewer than two: a cheap measure of how
    small its text is (lines are set about 1.2-1.4 times the font size apart)."""
    import numpy as np

    pixels = np.asarray(grey)
    if pixels.ndim != 2 or pixels.size == 0:
        return None
    inked = (pixels < 128).sum(axis=1) > max(2, pixels.shape[1] // 200)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], inked.astype(np.int8), [0]))))
    starts, ends = edges[0::2], edges[1::2]
    starts = starts[(ends - starts) > 2]  # rules and specks are not lines of text
    return float(np.median(np.diff(starts))) if starts.size > 1 else None


# --- Tesseract ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageText:
    """What OCR read on one image: its text, and each word's span in it and box (pixels)."""

    name: str
    size: tuple[int, int]
    text: str
    words: tuple[tuple[int, int, int, int, int, int], ...]

    def region(self, offset: int) -> TextRegion:
        return shifted(TextRegion(0, len(self.text), self.name, self.size, self.words), offset)


def parse_tsv(tsv: str, scale: float = 1.0) -> tuple[str, tuple[tuple[int, int, int, int, int, int], ...]]:
    """Text and word boxes from Tesseract's TSV output: words of a line joined by spaces,
    lines by line breaks, a blank line between blocks; boxes divided by ``scale`` (the
    factor the image was enlarged by for reading)."""
    out: list[str] = []
    words: list[tuple[int, int, int, int, int, int]] = []
    length = 0
    previous: tuple[str, str, str, str] | None = None
    for row in tsv.splitlines()[1:]:
        cells = row.split("\t")
        if len(cells) != _TSV_COLUMNS or cells[0] != "5":
            continue
        word = cells[11].strip()
        if not word:
            continue
        try:
            left, top, width, height = (int(c) for c in cells[6:10])
        except ValueError:
            continue
        line = (cells[1], cells[2], cells[3], cells[4])
        if previous is not None:
            gap = " " if line == previous else "\n" if line[:2] == previous[:2] else "\n\n"
            out.append(gap)
            length += len(gap)
        previous = line
        out.append(word)
        words.append((length, length + len(word), int(left / scale), int(top / scale),
                      int((left + width) / scale + 0.5), int((top + height) / scale + 0.5)))
        length += len(word)
    return "".join(out), tuple(words)


class OcrReader:
    """Reads the images of one file, counting them against ``ocr_max_images``."""

    def __init__(self, limits: ExtractLimits) -> None:
        self.limits = limits
        self.images = 0

    @property
    def enabled(self) -> bool:
        return self.limits.ocr

    def read(self, image: object, name: str) -> ImageText:
        """OCR one decoded image (a Pillow image).

        Raises:
            ExtractionError: ``too-large`` past ``ocr_max_images`` or ``max_image_pixels``,
                ``timeout`` past ``ocr_timeout_s``, ``parse-error`` when Tesseract fails,
                ``unsupported`` when it is not installed.
        """
        from PIL import Image

        assert isinstance(image, Image.Image)
        self.images += 1
        if self.images > self.limits.ocr_max_images:
            raise ExtractionError(Status.TOO_LARGE, f"more than {self.limits.ocr_max_images:,} images to read by OCR "
                                                    "in one file (extract.ocr_max_images)")
        size = image.size
        _check_pixels(*size, self.limits, name)
        try:
            grey = _grey(image)
            assert isinstance(grey, Image.Image)
            scale = 2.0 if (line_pitch(grey) or UPSCALE_BELOW) < UPSCALE_BELOW \
                and 4 * size[0] * size[1] <= self.limits.max_image_pixels else 1.0
            if scale != 1.0:
                grey = grey.resize((size[0] * 2, size[1] * 2), Image.Resampling.LANCZOS)
            buffer = io.BytesIO()
            grey.save(buffer, "PPM")
        except MemoryError as exc:
            raise ExtractionError(Status.MEMORY, f"out of memory preparing {name} for OCR") from exc
        except Exception as exc:  # a damaged EXIF block, an odd mode ...
            raise ExtractionError(Status.PARSE_ERROR, f"cannot prepare {name} for OCR "
                                                      f"({type(exc).__name__}: {exc})") from exc
        program = find_program("tesseract", "tesseract-ocr", "OCR")
        with private_folder() as folder:
            out = run_program([program, "stdin", "stdout", "-l", self.limits.ocr_languages, "--psm", "3", "tsv"],
                              what=f"OCR of {name}", folder=folder, timeout=self.limits.ocr_timeout_s,
                              stdin=buffer.getvalue(), env={"OMP_THREAD_LIMIT": "1"})
        text, words = parse_tsv(out.decode("utf-8", "replace"), scale)
        return ImageText(name, size, text, words)

    def read_embedded(self, data: bytes, name: str) -> ImageText | None:
        """OCR a picture embedded in a document (its first frame), or None when it is
        not a raster image (EMF, WMF, SVG) or too small to hold words.

        Raises:
            ExtractionError: as :meth:`read`, and for a raster image that cannot be decoded.
        """
        from PIL import Image, UnidentifiedImageError

        _pillow_limit(self.limits)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                probe = Image.open(io.BytesIO(data))
                width, height = probe.size
        except UnidentifiedImageError:
            return None  # vector or unknown picture formats hold no pixels to read
        except Image.DecompressionBombError as exc:
            raise ExtractionError(Status.TOO_LARGE, f"{name}: {exc}") from exc
        except MemoryError as exc:
            raise ExtractionError(Status.MEMORY, f"out of memory decoding {name}") from exc
        except Exception as exc:
            raise ExtractionError(Status.PARSE_ERROR, f"cannot decode {name} ({type(exc).__name__}: {exc})") from exc
        if not readable_size(width, height):
            return None
        frame = next(image_frames(data, self.limits, name))
        return self.read(frame, name)
