"""SPDX licence templates: which words of a licence it requires, which are optional, which replaceable.

The SPDX License List Matching Guidelines say a text matches a licence when it
holds the licence's *required* text; *optional* text (``<optional>`` in the
license-list-XML sources, ``<<beginOptional>>`` in the text templates: a title,
"How to apply" appendices, "(including the next paragraph)") may be absent, and
*replaceable* text (``<alt>``, ``<<var;...>>``: the copyright holder, "THE AUTHOR",
the name in BSD's third clause, bullets) may be anything. Scoring a licence only
by its required words is what lets an ISC licence that names its author not look
like 0BSD (which has no notice clause, and which says "THE AUTHOR" where ISC
leaves the name open).

This module reads the license-list-XML sources (build time only: the shipped
reference keeps one class per word, see :mod:`leakwatch.detect.licence.texts`) and turns a
word sequence with classes into shingle classes.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from leakwatch.text import tokenize

# Word and shingle classes, ordered so that a shingle takes the largest class of its words.
REQUIRED = 0
OPTIONAL = 1
VARIABLE = 2

_NS = "{http://www.spdx.org/license}"
# Elements that stand on lines of their own (a word never runs across them).
_BLOCKS = frozenset({"p", "br", "item", "list", "titleText", "copyrightText", "bullet", "standardLicenseHeader"})
# Elements whose words the guidelines let a copy leave out or change.
_CLASS_OF = {
    "optional": OPTIONAL,
    "titleText": OPTIONAL,  # guideline 7.3 (a title may be omitted)
    "standardLicenseHeader": OPTIONAL,  # inside <text>: the notice quoted in an appendix
    "alt": VARIABLE,
    "copyrightText": VARIABLE,  # guideline 10 (copyright notices)
    "bullet": VARIABLE,  # guideline 5 (bullets and numbering)
}


@dataclass(frozen=True)
class TemplateText:
    """A rendered template: its words (word hashes) and each word's class."""

    ids: np.ndarray  # uint64
    classes: np.ndarray  # uint8: REQUIRED, OPTIONAL or VARIABLE

    def __len__(self) -> int:
        return int(self.ids.shape[0])


@dataclass(frozen=True)
class LicenceTemplate:
    """One licence of the SPDX list as its template gives it."""

    spdx_id: str
    name: str
    url: str | None
    deprecated: bool
    text: TemplateText
    notice: TemplateText | None  # the standard licence header, when the licence defines one


def _tag(element: ET.Element) -> str:
    return element.tag.removeprefix(_NS)


def _render(element: ET.Element, cls: int, out: list[tuple[str, int]]) -> None:
    """Append (text, class) chunks of ``element`` in document order."""
    tag = _tag(element)
    if tag in {"crossRefs", "notes", "obsoletedBys"}:
        return
    mine = max(cls, _CLASS_OF.get(tag, REQUIRED))
    if tag in _BLOCKS:
        out.append(("\n", REQUIRED))
    if element.text:
        out.append((element.text, mine))
    for child in element:
        _render(child, mine, out)
        if child.tail:
            out.append((child.tail, mine))
    if tag in _BLOCKS:
        out.append(("\n", REQUIRED))


def template_words(chunks: list[tuple[str, int]]) -> TemplateText:
    """Words of the concatenated chunks, each classed by the largest class of its characters
    (a word half inside ``<optional>`` is optional)."""
    text = "".join(c for c, _ in chunks)
    char_class = np.concatenate([np.full(len(c), k, dtype=np.uint8) for c, k in chunks]) if chunks else (
        np.zeros(0, dtype=np.uint8))
    tokens = tokenize(text)
    if len(tokens) == 0:
        return TemplateText(tokens.ids, np.zeros(0, dtype=np.uint8))
    classes = np.array([char_class[s:e].max() for s, e in zip(tokens.starts.tolist(), tokens.ends.tolist(),
                                                               strict=True)], dtype=np.uint8)
    return TemplateText(tokens.ids, classes)


def parse_licence_xml(data: bytes) -> LicenceTemplate | None:
    """The template of one license-list-XML file, or None for a licence exception."""
    root = ET.fromstring(data)
    licence = root.find(f"{_NS}license")
    if licence is None:
        return None
    text_el = licence.find(f"{_NS}text")
    if text_el is None:
        raise ValueError(f"licence {licence.get('licenseId')} has no <text>")
    chunks: list[tuple[str, int]] = []
    _render(text_el, REQUIRED, chunks)
    notice = None
    # The standard header defined outside the text (most licences define it there or not at all).
    for header in [*licence.findall(f"{_NS}standardLicenseHeader"), *text_el.iter(f"{_NS}standardLicenseHeader")]:
        header_chunks: list[tuple[str, int]] = []
        _render(header, REQUIRED, header_chunks)
        # Inside <text> the header is optional as a part of the licence, required as a notice.
        header_chunks = [(c, k if k == VARIABLE else REQUIRED) for c, k in header_chunks]
        notice = template_words(header_chunks)
        break
    refs = [r.text.strip() for r in licence.iter(f"{_NS}crossRef") if r.text and r.text.strip()]
    return LicenceTemplate(
        spdx_id=str(licence.get("licenseId")),
        name=str(licence.get("name")),
        url=refs[0] if refs else None,
        deprecated=licence.get("deprecatedVersion") is not None,
        text=template_words(chunks),
        notice=notice,
    )


def read_templates(src: Path) -> list[LicenceTemplate]:
    """Every licence (not exception) of a license-list-XML ``src`` folder, by id."""
    found = [parse_licence_xml(p.read_bytes()) for p in sorted(src.glob("*.xml"))]
    return sorted((t for t in found if t is not None), key=lambda t: t.spdx_id)


def shingle_classes(word_classes: np.ndarray, k: int) -> np.ndarray:
    """Class of each k-word shingle: the largest class of its words (a shingle touching
    replaceable text is replaceable)."""
    n = word_classes.shape[0] - k + 1
    if n <= 0:
        return np.zeros(0, dtype=np.uint8)
    out = word_classes[:n].copy()
    for offset in range(1, k):
        np.maximum(out, word_classes[offset : offset + n], out=out)
    return out
