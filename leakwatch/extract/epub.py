"""EPUB 2 and 3: the visible text of each chapter, chapters (spine items) as pages.

``META-INF/container.xml`` names the package document (OPF); its spine lists the content
documents in reading order, each a page. The package is read with the OOXML defences
(:mod:`leakwatch.extract.ooxml`); container and OPF are XML, parsed by defusedxml with
DTDs forbidden. Content documents are XHTML, read by the HTML extractor's parser
(:mod:`leakwatch.extract.markup`, which never expands DTD entities): EPUB 2 chapters use
HTML entities such as ``&nbsp;`` that their external DTD declares, and that an XML
parser which loads no DTD refuses. Runs of blank space left where markup was are
collapsed (offsets into a chapter's XHTML mean nothing to a reader of the book).

A book whose chapters are encrypted (DRM, listed in ``META-INF/encryption.xml`` with an
algorithm other than the IDPF and Adobe font obfuscations) is ``encrypted``.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from leakwatch.config import ExtractLimits
from leakwatch.extract.base import Extractor, decode_text
from leakwatch.extract.markup import HTML_HIDDEN, visible_text
from leakwatch.extract.ocr import PageText, join_pages
from leakwatch.extract.ooxml import TextBudget, guarded, open_package, parse_xml, read_member
from leakwatch.model import ExtractedText, ExtractionError, Status

CONTAINER = "META-INF/container.xml"
ENCRYPTION = "META-INF/encryption.xml"
_NS_CONTAINER = "urn:oasis:names:tc:opendocument:xmlns:container"
_NS_OPF = "http://www.idpf.org/2007/opf"
_NS_ENC = "http://www.w3.org/2001/04/xmlenc#"
# Font obfuscation (IDPF, Adobe) mangles fonts only; the text stays readable.
_FONT_OBFUSCATION = frozenset({"http://www.idpf.org/2008/embedding", "http://ns.adobe.com/pdf/enc#RC"})
_BLANKS = re.compile(r"[^\S\n]+")
# Block elements start lines: chapters are often written as one line of markup.
_BLOCK = re.compile(r"<(?=(?:p|div|h[1-6]|li|br|tr|blockquote|section|article|dt|dd|pre|figcaption)\b)", re.I)
_BLANK_LINES = re.compile(r"\n\s*\n+")


def _resolve(base: str, href: str) -> str:
    """A member name from an href relative to the part at ``base`` (URL-decoded, no fragment)."""
    path = unquote(urlsplit(href).path)
    return posixpath.normpath(posixpath.join(posixpath.dirname(base), path)).lstrip("/")


def package_document(container: bytes) -> str:
    """The OPF member named by ``META-INF/container.xml``.

    Raises:
        ExtractionError: ``parse-error`` when it names none.
    """
    for element in parse_xml(container, CONTAINER).iter(f"{{{_NS_CONTAINER}}}rootfile"):
        path = element.get("full-path")
        if path:
            return path.lstrip("/")
    raise ExtractionError(Status.PARSE_ERROR, "EPUB container names no package document")


def spine(opf: bytes, opf_name: str) -> list[str]:
    """The content documents in reading order (the spine's items, resolved to members)."""
    root = parse_xml(opf, opf_name)
    manifest = {item.get("id", ""): item.get("href", "") for item in root.iter(f"{{{_NS_OPF}}}item")}
    order: list[str] = []
    for ref in root.iter(f"{{{_NS_OPF}}}itemref"):
        href = manifest.get(ref.get("idref", ""))
        if href:
            member = _resolve(opf_name, href)
            if member not in order:
                order.append(member)
    if not order:
        raise ExtractionError(Status.PARSE_ERROR, f"EPUB package {opf_name} has an empty spine")
    return order


def encrypted_members(encryption: bytes) -> set[str]:
    """Members ``META-INF/encryption.xml`` lists as encrypted for real (not font obfuscation)."""
    found: set[str] = set()
    for data in parse_xml(encryption, ENCRYPTION).iter(f"{{{_NS_ENC}}}EncryptedData"):
        method = data.find(f"{{{_NS_ENC}}}EncryptionMethod")
        algorithm = method.get("Algorithm", "") if method is not None else ""
        reference = data.find(f".//{{{_NS_ENC}}}CipherReference")
        if algorithm not in _FONT_OBFUSCATION and reference is not None:
            found.add(_resolve("", reference.get("URI", "")))  # relative to the container's root
    return found


def chapter_text(data: bytes) -> str:
    """The visible words of one XHTML chapter, a line per block (paragraph, heading ...)."""
    text, _ = decode_text(data)
    visible = visible_text(_BLOCK.sub("\n<", text), HTML_HIDDEN | {"head"})
    lines = (_BLANKS.sub(" ", line).strip() for line in visible.split("\n"))
    return _BLANK_LINES.sub("\n", "\n".join(line for line in lines if line)).strip()


def _chapters(data: bytes, limits: ExtractLimits) -> list[PageText]:
    with open_package(data, limits) as package:
        names = set(package.namelist())
        if CONTAINER not in names:
            raise ExtractionError(Status.PARSE_ERROR, f"not an EPUB book: no {CONTAINER}")
        opf_name = package_document(read_member(package, CONTAINER, limits))
        if opf_name not in names:
            raise ExtractionError(Status.PARSE_ERROR, f"EPUB package document {opf_name} is missing")
        order = spine(read_member(package, opf_name, limits), opf_name)
        locked = encrypted_members(read_member(package, ENCRYPTION, limits)) if ENCRYPTION in names else set()
        if locked & set(order):
            raise ExtractionError(Status.ENCRYPTED, "EPUB chapters are encrypted (DRM)")
        budget = TextBudget(limits)
        pages: list[PageText] = []
        for member in order:
            if member not in names:
                raise ExtractionError(Status.PARSE_ERROR, f"EPUB spine item {member} is missing")
            pages.append(PageText(budget.add(chapter_text(read_member(package, member, limits)))))
        return pages


class EpubExtractor(Extractor):
    """EPUB books; each chapter (spine item) is a page."""

    name = "epub"

    def extract(self, path: Path, data: bytes, limits: ExtractLimits) -> ExtractedText:
        text, starts, _ = join_pages(guarded("EPUB package", lambda: _chapters(data, limits)))
        return self.result(text, limits, page_starts=starts)
