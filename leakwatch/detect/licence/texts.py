"""Reference fingerprints of the SPDX licence templates.

Licence texts are public, so their fingerprints are unkeyed and ship with the
package (``spdx-licences.npz`` beside this module, built by ``scripts/build_licences.py``
from the SPDX license-list-XML sources). A text is stored as its sequence of word
hashes (indices into one vocabulary of :func:`leakwatch.text.word_hash` values) with
one template class per word (required, optional or replaceable): the same words the
scanner sees, so any shingle size can be derived at load time. Licences whose
required texts are identical (``GPL-2.0-only`` and ``GPL-2.0-or-later``) are stored
once under all their ids. Matching a text against them: :mod:`leakwatch.detect.licence.match`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from leakwatch.detect.licence.templates import REQUIRED, LicenceTemplate, TemplateText, shingle_classes
from leakwatch.errors import UserError
from leakwatch.fingerprint import shingle_hashes

FORMAT = "leakwatch-licences/2"
RESOURCE_PACKAGE = "leakwatch.detect.licence"
RESOURCE_NAME = "spdx-licences.npz"


@dataclass(frozen=True)
class LicenceText:
    """One distinct licence text and every SPDX id that names it (canonical first).

    ``part`` is ``"text"`` for a licence's terms (its "How to apply" appendix is
    optional text of it) and ``"notice"`` for the standard header the licence tells
    users to put in each file ("This program is free software ... either version 2 of
    the License, or (at your option) any later version"): most files carry the
    notice, not the licence.
    """

    ids: tuple[str, ...]
    name: str
    url: str | None
    n_words: int
    part: str = "text"

    @property
    def spdx_id(self) -> str:
        return self.ids[0]


@dataclass(frozen=True)
class ShingleIndex:
    """Unique shingle hashes of all licence texts, with posting lists (CSR).

    A posting's class says what the shingle is in that licence (its template's
    :data:`~leakwatch.licence_templates.REQUIRED`, ``OPTIONAL`` or ``VARIABLE`` text);
    ``text_sizes`` counts each licence's distinct *required* shingles, the text a copy
    must hold.
    """

    hashes: np.ndarray  # uint64, sorted unique
    ptr: np.ndarray  # int64, len(hashes) + 1
    postings: np.ndarray  # int32 text indices
    text_sizes: np.ndarray  # int64 distinct required shingles per text
    classes: np.ndarray  # uint8, one per posting

    def locate(self, query: np.ndarray) -> np.ndarray:
        """Index into ``hashes`` of each query hash, or -1 when absent."""
        idx = np.searchsorted(self.hashes, query)
        idx[idx >= self.hashes.shape[0]] = 0
        found = self.hashes[idx] == query if self.hashes.size else np.zeros(query.shape, dtype=bool)
        return np.where(found, idx, -1)

    def texts_of(self, hash_idx: np.ndarray, required: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(row, text) pairs: for each entry of ``hash_idx``, every text holding that shingle
        (as required text only, when ``required``)."""
        lo = self.ptr[hash_idx]
        counts = self.ptr[hash_idx + 1] - lo
        rows = np.repeat(np.arange(hash_idx.shape[0]), counts)
        offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        at = np.repeat(lo, counts) + offsets
        if required:
            keep = self.classes[at] == REQUIRED
            rows, at = rows[keep], at[keep]
        return rows, self.postings[at]


@dataclass(frozen=True)
class LicenceReference:
    """The shipped licence set: texts as word-hash sequences over one vocabulary."""

    texts: tuple[LicenceText, ...]
    vocabulary: np.ndarray  # uint64 word hashes
    words: np.ndarray  # uint16/uint32 vocabulary indices, all texts concatenated
    bounds: np.ndarray  # int64, len(texts) + 1: text i is words[bounds[i]:bounds[i+1]]
    source: str  # e.g. "SPDX License List 3.28.0"
    classes: np.ndarray  # uint8 per word: required, optional or replaceable (SPDX template)

    def word_ids(self, text: int) -> np.ndarray:
        return self.vocabulary[self.words[self.bounds[text] : self.bounds[text + 1]]]

    def by_id(self, spdx_id: str, part: str = "text") -> int | None:
        """The entry holding ``part`` of licence ``spdx_id``, or None."""
        for n, t in enumerate(self.texts):
            if spdx_id in t.ids and t.part == part:
                return n
        return None

    @property
    def common(self) -> np.ndarray:
        """Per text, True when one of its ids is a common licence (see :data:`COMMON_LICENCES`)."""
        cached: np.ndarray | None = self.__dict__.get("_common")
        if cached is None:
            cached = np.array([bool(COMMON_LICENCES.intersection(t.ids)) for t in self.texts], dtype=bool)
            self.__dict__["_common"] = cached
        return cached

    def word_classes(self, text: int) -> np.ndarray:
        return self.classes[self.bounds[text] : self.bounds[text + 1]]

    def text_shingles(self, text: int, k: int, required: bool = False) -> np.ndarray:
        """Sorted unique shingle hashes of one licence text: all it holds (replaceable text as
        its template words it), or only those of its required text."""
        cache: dict[tuple[int, int, bool], np.ndarray] = self.__dict__.setdefault("_shingles", {})
        if (text, k, required) not in cache:
            hashes = shingle_hashes(self.word_ids(text), k)
            if required:
                hashes = hashes[shingle_classes(self.word_classes(text), k) == REQUIRED]
            cache[(text, k, required)] = np.unique(hashes)
        return cache[(text, k, required)]

    def index_for(self, k: int) -> ShingleIndex:
        """The shingle index for shingle size ``k``, built on first use (about 0.2 s)."""
        cache: dict[int, ShingleIndex] = self.__dict__.setdefault("_indices", {})
        if k not in cache:
            cache[k] = self._shingle_index(k)
        return cache[k]

    def _shingle_index(self, k: int) -> ShingleIndex:
        # All texts at once: shingles of the concatenation, minus those that straddle
        # two texts, deduplicated as (hash, text) pairs.
        ids = self.vocabulary[self.words]
        owner = np.repeat(np.arange(len(self.texts), dtype=np.int32), np.diff(self.bounds))
        hashes = shingle_hashes(ids, k)
        kind = shingle_classes(self.classes, k)
        inside = owner[: hashes.shape[0]] == owner[k - 1 :]
        hashes, owner, kind = hashes[inside], owner[: inside.shape[0]][inside], kind[inside]
        # Sorted by hash, text, class: the first of each (hash, text) has its most required class.
        order = np.lexsort((kind, owner, hashes))
        hashes, owner, kind = hashes[order], owner[order], kind[order]
        first = np.ones(hashes.shape[0], dtype=bool)
        first[1:] = (hashes[1:] != hashes[:-1]) | (owner[1:] != owner[:-1])
        hashes, owner, kind = hashes[first], owner[first], kind[first]
        sizes = np.bincount(owner[kind == REQUIRED], minlength=len(self.texts)).astype(np.int64)
        unique, starts = np.unique(hashes, return_index=True)
        ptr = np.append(starts, hashes.shape[0]).astype(np.int64)
        return ShingleIndex(unique, ptr, owner, sizes, kind.astype(np.uint8))


# The licences most software ships under (GitHub's and ClearlyDefined's statistics).
# When a text cannot tell variants apart (they explain it equally, up to the noise of
# real copies), the base rate does: a BSD-3 text with "COPYRIGHT OWNER" in place of
# "COPYRIGHT HOLDER" is BSD-3-Clause, not one of its rare variants.
COMMON_LICENCES = frozenset({
    "MIT", "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause", "ISC", "0BSD", "MIT-0", "X11", "Zlib", "BSL-1.0",
    "Unlicense", "CC0-1.0", "WTFPL", "MPL-2.0", "EPL-1.0", "EPL-2.0", "Artistic-2.0", "PSF-2.0", "Python-2.0",
    "GPL-2.0-only", "GPL-2.0-or-later", "GPL-3.0-only", "GPL-3.0-or-later", "LGPL-2.1-only", "LGPL-2.1-or-later",
    "LGPL-3.0-only", "LGPL-3.0-or-later", "AGPL-3.0-only", "AGPL-3.0-or-later", "CC-BY-4.0", "CC-BY-SA-4.0",
    "OFL-1.1",
})


# --- building and storing -------------------------------------------------------------------

_DEPRECATED_FORM = re.compile(r"^(?:A?L?GPL|GFDL)-\d\.\d\+?$")


def canonical_order(ids: list[str]) -> list[str]:
    """Ids of one text, the one to report first: the current ``-only`` form before the
    deprecated bare and ``+`` forms (``GPL-2.0-only`` before ``GPL-2.0``), then by name."""
    return sorted(ids, key=lambda i: (i.endswith("+") or bool(_DEPRECATED_FORM.match(i)),
                                      "-or-later" in i, len(i), i))


def build_reference(templates: list[LicenceTemplate], source: str) -> LicenceReference:
    """Build the reference set from the SPDX templates: each licence's text (optional and
    replaceable words marked) and its standard notice, when it defines one.

    Texts whose required words are the same are one entry under all their ids
    (``GPL-2.0-only`` and ``GPL-2.0-or-later``: only a notice tells them apart); the
    first template of a group (in :func:`canonical_order`) gives the entry's words.
    """
    groups: dict[tuple[str, bytes], list[LicenceTemplate]] = {}
    for t in templates:
        for part, words in (("text", t.text), ("notice", t.notice)):
            if words is None or len(words) < 20:
                continue
            required = words.ids[words.classes == REQUIRED]
            groups.setdefault((part, required.tobytes()), []).append(t)
    entries: list[tuple[list[str], TemplateText, str, LicenceTemplate]] = []
    for (part, _), members in groups.items():
        ordered = canonical_order([m.spdx_id for m in members])
        first = next(m for m in members if m.spdx_id == ordered[0])
        words = first.text if part == "text" else first.notice
        assert words is not None
        entries.append((ordered, words, part, first))
    vocabulary = np.unique(np.concatenate([e[1].ids for e in entries]))
    dtype = np.uint16 if vocabulary.shape[0] <= 1 << 16 else np.uint32
    texts: list[LicenceText] = []
    parts: list[np.ndarray] = []
    classes: list[np.ndarray] = []
    for ordered, words, part, first in sorted(entries, key=lambda e: (e[2], e[0][0])):
        suffix = " (standard notice)" if part == "notice" else ""
        texts.append(LicenceText(tuple(ordered), first.name + suffix, first.url, len(words), part))
        parts.append(np.searchsorted(vocabulary, words.ids).astype(dtype))
        classes.append(words.classes)
    bounds = np.concatenate([[0], np.cumsum([p.shape[0] for p in parts])]).astype(np.int64)
    return LicenceReference(tuple(texts), vocabulary, np.concatenate(parts), bounds, source,
                            np.concatenate(classes).astype(np.uint8))


def save_reference(ref: LicenceReference, path: Path) -> None:
    header = {
        "format": FORMAT,
        "source": ref.source,
        "texts": [{"ids": list(t.ids), "name": t.name, "url": t.url, "n_words": t.n_words, "part": t.part}
                  for t in ref.texts],
    }
    with path.open("wb") as fh:
        np.savez_compressed(
            fh,
            header=np.frombuffer(json.dumps(header, sort_keys=True).encode("utf-8"), dtype=np.uint8),
            vocabulary=ref.vocabulary, words=ref.words, bounds=ref.bounds, classes=ref.classes,
        )


class ReferenceFormatError(UserError, ValueError):
    """The licence reference file is missing, damaged or of another format version."""


def load_reference(path: Path | None = None) -> LicenceReference:
    """Read a reference file (the shipped one by default). Never unpickles anything."""
    try:
        if path is None:
            handle = resources.files(RESOURCE_PACKAGE).joinpath(RESOURCE_NAME).open("rb")
        else:
            handle = path.open("rb")
        with handle as fh, np.load(fh, allow_pickle=False) as data:
            header = json.loads(bytes(data["header"]).decode("utf-8"))
            vocabulary, words, bounds, classes = data["vocabulary"], data["words"], data["bounds"], data["classes"]
    except (OSError, KeyError, ValueError, ModuleNotFoundError) as exc:
        raise ReferenceFormatError(f"cannot read the licence reference: {exc}") from exc
    if header.get("format") != FORMAT:
        raise ReferenceFormatError(f"licence reference has format {header.get('format')!r}, expected {FORMAT!r}")
    texts = tuple(LicenceText(tuple(t["ids"]), t["name"], t["url"], int(t["n_words"]), t["part"])
                  for t in header["texts"])
    if bounds.shape[0] != len(texts) + 1 or int(bounds[-1]) != words.shape[0] or (
            words.size and int(words.max()) >= vocabulary.shape[0]) or classes.shape != words.shape:
        raise ReferenceFormatError("licence reference is inconsistent (damaged file?)")
    return LicenceReference(texts, vocabulary, words, bounds, str(header["source"]), classes.astype(np.uint8))


@lru_cache(maxsize=1)
def default_reference() -> LicenceReference:
    return load_reference()


def is_spdx_expression(expression: str) -> bool:
    """True when every licence named in ``expression`` ("MIT OR Apache-2.0",
    "GPL-2.0-only WITH Classpath-exception-2.0", "LicenseRef-acme") is on the SPDX list
    shipped here; exceptions after WITH and LicenseRef- ids are taken as written."""
    known = {i.lower() for t in default_reference().texts for i in t.ids}
    words = re.findall(r"[A-Za-z0-9.+-]+", re.sub(r"\bWITH\s+[A-Za-z0-9.+-]+", "", expression))
    names = [w for w in words if w.upper() not in {"AND", "OR"}]
    return bool(names) and all(n.lower() in known or n.startswith("LicenseRef-") for n in names)
