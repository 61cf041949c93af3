"""Reference fingerprints of the SPDX licence texts, and matching a text against them.

Licence texts are public, so their fingerprints are unkeyed and ship with the
package (``fingerprints/spdx-licences.npz``, built by ``scripts/build_licences.py``).
A text is stored as its sequence of word hashes (indices into one vocabulary of
:func:`leakwatch.text.word_hash` values): the same words the scanner sees, so any
shingle size can be derived at load time, and licences whose texts are identical
(``GPL-2.0-only`` and ``GPL-2.0-or-later``) are stored once under all their ids.

Which licence a passage is: many licences are near-copies of each other (BSD-2 and
BSD-3, the MIT family, GPL versions), so a similarity score alone cannot tell them
apart. Each candidate is scored by the shingles it explains *and* by the parts of it
that are absent: a BSD-2 text is explained as well by BSD-3 (which contains it) but
misses BSD-3's third clause, so BSD-2 wins; a BSD-3 text has shingles BSD-2 lacks,
so BSD-3 wins. The winner is reported with the evidence that separated it from the
runner-up (shingles present only in one of them).
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from leakwatch.fingerprint import shingle_hashes
from leakwatch.text import Tokens, tokenize

FORMAT = "leakwatch-licences/1"
RESOURCE_PACKAGE = "leakwatch.shipped"
RESOURCE_NAME = "spdx-licences.npz"


@dataclass(frozen=True)
class LicenceText:
    """One distinct licence text and every SPDX id that names it (canonical first).

    ``part`` is ``"text"`` for a licence's terms, ``"appendix"`` for its "How to apply"
    appendix (optional, so absent parts of it are no evidence against the licence),
    and ``"notice"`` for the standard notice the appendix tells users to put in each
    file ("This program is free software ... either version 2 of the License, or (at
    your option) any later version"): most files carry the notice, not the licence.
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
class LicenceMatchParams:
    shingle_size: int = 5
    # Matched shingles further apart than this (in words) belong to different blocks.
    max_gap: int = 40
    # A block must cover this many words to be reported (as for confidential text).
    min_words: int = 20
    # Matched words must fill at least this share of a reported block.
    min_density: float = 0.5
    # Exponent of coverage in the candidate score: explained * coverage ** this.
    coverage_weight: float = 0.5
    # Candidates scoring at least this share of the best are told apart by what differs.
    plausible: float = 0.8
    # Explaining this many more shingles than another candidate (or this share of the
    # most any candidate explains, if more) is evidence; less is the noise of real
    # copies (a changed word alters up to ``shingle_size`` shingles, and real files mix
    # the wordings of several variants: "COPYRIGHT HOLDERS" here, "OWNER" there).
    evidence_margin: int = 10
    evidence_share: float = 0.1


@dataclass(frozen=True)
class ShingleIndex:
    """Unique shingle hashes of all licence texts, with posting lists (CSR)."""

    hashes: np.ndarray  # uint64, sorted unique
    ptr: np.ndarray  # int64, len(hashes) + 1
    postings: np.ndarray  # int32 text indices
    text_sizes: np.ndarray  # int64 unique shingles per text

    def locate(self, query: np.ndarray) -> np.ndarray:
        """Index into ``hashes`` of each query hash, or -1 when absent."""
        idx = np.searchsorted(self.hashes, query)
        idx[idx >= self.hashes.shape[0]] = 0
        found = self.hashes[idx] == query if self.hashes.size else np.zeros(query.shape, dtype=bool)
        return np.where(found, idx, -1)

    def texts_of(self, hash_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row, text) pairs: for each entry of ``hash_idx``, every text holding that shingle."""
        lo = self.ptr[hash_idx]
        counts = self.ptr[hash_idx + 1] - lo
        rows = np.repeat(np.arange(hash_idx.shape[0]), counts)
        offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        return rows, self.postings[np.repeat(lo, counts) + offsets]


@dataclass(frozen=True)
class LicenceReference:
    """The shipped licence set: texts as word-hash sequences over one vocabulary."""

    texts: tuple[LicenceText, ...]
    vocabulary: np.ndarray  # uint64 word hashes
    words: np.ndarray  # uint16/uint32 vocabulary indices, all texts concatenated
    bounds: np.ndarray  # int64, len(texts) + 1: text i is words[bounds[i]:bounds[i+1]]
    source: str  # e.g. "SPDX License List 3.28.0"

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

    def text_shingles(self, text: int, k: int) -> np.ndarray:
        """Sorted unique shingle hashes of one licence text."""
        cache: dict[tuple[int, int], np.ndarray] = self.__dict__.setdefault("_shingles", {})
        if (text, k) not in cache:
            cache[(text, k)] = np.unique(shingle_hashes(self.word_ids(text), k))
        return cache[(text, k)]

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
        inside = owner[: hashes.shape[0]] == owner[k - 1 :]
        hashes, owner = hashes[inside], owner[: inside.shape[0]][inside]
        order = np.lexsort((owner, hashes))
        hashes, owner = hashes[order], owner[order]
        first = np.ones(hashes.shape[0], dtype=bool)
        first[1:] = (hashes[1:] != hashes[:-1]) | (owner[1:] != owner[:-1])
        hashes, owner = hashes[first], owner[first]
        sizes = np.bincount(owner, minlength=len(self.texts)).astype(np.int64)
        unique, starts = np.unique(hashes, return_index=True)
        ptr = np.append(starts, hashes.shape[0]).astype(np.int64)
        return ShingleIndex(unique, ptr, owner, sizes)


# --- building and storing -------------------------------------------------------------------

_DEPRECATED_FORM = re.compile(r"^(?:A?L?GPL|GFDL)-\d\.\d\+?$")


def canonical_order(ids: list[str]) -> list[str]:
    """Ids of one text, the one to report first: the current ``-only`` form before the
    deprecated bare and ``+`` forms (``GPL-2.0-only`` before ``GPL-2.0``), then by name."""
    return sorted(ids, key=lambda i: (i.endswith("+") or bool(_DEPRECATED_FORM.match(i)),
                                      "-or-later" in i, len(i), i))


# Standard notices, cut from the appendices of the licences that define one: (licence
# whose text holds it, where it starts, where it ends, the id it grants). The GNU notices
# say "or (at your option) any later version", so they name the -or-later licence.
STANDARD_NOTICES: tuple[tuple[str, str, str, str], ...] = (
    ("GPL-1.0-only", r"This program is free software;", r"MA 02139, USA\.", "GPL-1.0-or-later"),
    ("GPL-2.0-only", r"This program is free software;", r"02110-1301, USA\.", "GPL-2.0-or-later"),
    ("GPL-3.0-only", r"This program is free software:", r"licenses/>\.", "GPL-3.0-or-later"),
    ("LGPL-2.0-only", r"This library is free software;", r"02110-1301, USA\.", "LGPL-2.0-or-later"),
    ("LGPL-2.1-only", r"This library is free software;", r"02110-1301\s+USA", "LGPL-2.1-or-later"),
    ("AGPL-3.0-only", r"This program is free software:", r"licenses/>\.", "AGPL-3.0-or-later"),
    ("Apache-2.0", r"Licensed under the Apache License", r"limitations under the License\.", "Apache-2.0"),
    ("MPL-2.0", r"This Source Code Form is subject", r"MPL/2\.0/\.", "MPL-2.0"),
)


def split_appendix(text: str) -> tuple[str, str]:
    """A licence's terms and its "How to apply" appendix, which SPDX treats as optional
    and many copies leave out (so it is matched as a part of its own)."""
    end = text.find("END OF TERMS AND CONDITIONS")
    return (text, "") if end < 0 else (text[:end], text[end:])


def standard_notice(text: str, start: str, end: str) -> str | None:
    """The notice between the first match of ``start`` and the next match of ``end``."""
    found = re.search(f"{start}.*?{end}", text, flags=re.DOTALL)
    return found.group(0) if found else None


def build_reference(text_dir: Path, metadata: dict[str, dict[str, object]], source: str) -> LicenceReference:
    """Build the reference set from one ``<SPDX-ID>.txt`` per licence, plus the
    standard notices of :data:`STANDARD_NOTICES`."""
    sequences: dict[bytes, list[str]] = {}
    appendices: dict[bytes, list[str]] = {}
    raw_texts: dict[str, str] = {}
    for path in sorted(text_dir.glob("*.txt")):
        raw_texts[path.stem] = path.read_text(encoding="utf-8")
        terms, appendix = split_appendix(raw_texts[path.stem])
        sequences.setdefault(tokenize(terms).ids.tobytes(), []).append(path.stem)
        appendix_ids = tokenize(appendix).ids
        if appendix_ids.shape[0] >= 20:
            appendices.setdefault(appendix_ids.tobytes(), []).append(path.stem)
    entries: list[tuple[list[str], np.ndarray, str, str]] = [
        (canonical_order(ids), np.frombuffer(raw, dtype=np.uint64), "text", "") for raw, ids in sequences.items()
    ]
    entries += [(canonical_order(ids), np.frombuffer(raw, dtype=np.uint64), "appendix", " (appendix)")
                for raw, ids in appendices.items()]
    for holder, start, end, granted in STANDARD_NOTICES:
        notice = standard_notice(raw_texts.get(holder, ""), start, end)
        if notice is None:
            raise ValueError(f"standard notice of {holder} not found: has the text changed?")
        group = next(ids for ids in sequences.values() if holder in ids)
        ordered = [granted, *(i for i in canonical_order(group) if i != granted)]
        entries.append((ordered, tokenize(notice).ids, "notice", " (standard notice)"))
    vocabulary = np.unique(np.concatenate([e[1] for e in entries]))
    dtype = np.uint16 if vocabulary.shape[0] <= 1 << 16 else np.uint32
    texts: list[LicenceText] = []
    parts: list[np.ndarray] = []
    for ordered, word_ids, part, suffix in sorted(entries, key=lambda e: (e[2], e[0][0])):
        meta = metadata.get(ordered[0], {})
        texts.append(LicenceText(tuple(ordered), str(meta.get("name", ordered[0])) + suffix,
                                 str(meta["url"]) if meta.get("url") else None, int(word_ids.shape[0]), part))
        parts.append(np.searchsorted(vocabulary, word_ids).astype(dtype))
    bounds = np.concatenate([[0], np.cumsum([p.shape[0] for p in parts])]).astype(np.int64)
    return LicenceReference(tuple(texts), vocabulary, np.concatenate(parts), bounds, source)


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
            vocabulary=ref.vocabulary, words=ref.words, bounds=ref.bounds,
        )


class ReferenceFormatError(ValueError):
    """The licence reference file is missing, damaged or of another format version."""


def load_reference(path: Path | None = None) -> LicenceReference:
    """Read a reference file (the shipped one by default). Never unpickles anything."""
    try:
        if path is None:
            try:
                handle = resources.files(RESOURCE_PACKAGE).joinpath(RESOURCE_NAME).open("rb")
            except ModuleNotFoundError:
                # Run from a source checkout that was never installed: the file is in the tree.
                handle = (Path(__file__).resolve().parent.parent / "fingerprints" / RESOURCE_NAME).open("rb")
        else:
            handle = path.open("rb")
        with handle as fh, np.load(fh, allow_pickle=False) as data:
            header = json.loads(bytes(data["header"]).decode("utf-8"))
            vocabulary, words, bounds = data["vocabulary"], data["words"], data["bounds"]
    except (OSError, KeyError, ValueError, ModuleNotFoundError) as exc:
        raise ReferenceFormatError(f"cannot read the licence reference: {exc}") from exc
    if header.get("format") != FORMAT:
        raise ReferenceFormatError(f"licence reference has format {header.get('format')!r}, expected {FORMAT!r}")
    texts = tuple(LicenceText(tuple(t["ids"]), t["name"], t["url"], int(t["n_words"]), t["part"])
                  for t in header["texts"])
    if bounds.shape[0] != len(texts) + 1 or int(bounds[-1]) != words.shape[0] or (
            words.size and int(words.max()) >= vocabulary.shape[0]):
        raise ReferenceFormatError("licence reference is inconsistent (damaged file?)")
    return LicenceReference(texts, vocabulary, words, bounds, str(header["source"]))


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


# --- matching -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Distinction:
    """Why the winner beat the runner-up: shingles present in the text that only one
    of the two licences has, and how much of each licence the text covers."""

    runner_up: int
    only_winner_present: int
    only_runner_up_present: int
    runner_up_coverage: float


@dataclass(frozen=True)
class LicenceMatch:
    """One block of licence text found in a document (word range, end exclusive)."""

    text: int
    word_start: int
    word_end: int
    matched_words: int
    matched_shingles: int
    coverage: float  # share of the licence's distinct shingles present in the block
    resemblance: float  # Jaccard of the block's shingles and the licence's
    distinction: Distinction | None


def _runs(positions: np.ndarray, max_gap: int) -> list[np.ndarray]:
    """Split sorted positions where consecutive ones are more than ``max_gap`` apart."""
    if positions.size == 0:
        return []
    cuts = np.nonzero(np.diff(positions) > max_gap)[0] + 1
    return np.split(positions, cuts)


def _covered(positions: np.ndarray, k: int) -> int:
    if positions.size == 0:
        return 0
    return int(np.minimum(np.diff(positions), k).sum()) + k


@dataclass(frozen=True)
class Candidates:
    """Per licence text, how well it explains a block of matched shingles."""

    explained: np.ndarray  # matched positions whose shingle the licence holds
    absent: np.ndarray  # distinct shingles of the licence missing from the block
    coverage: np.ndarray  # share of the licence's distinct shingles present
    score: np.ndarray  # explained * coverage ** weight


def presence(index: ShingleIndex, block_hashes: np.ndarray) -> np.ndarray:
    """Per licence, how many of its distinct shingles a block holds (``block_hashes``:
    the block's distinct hash indices)."""
    _, texts = index.texts_of(block_hashes)
    return np.bincount(texts, minlength=index.text_sizes.shape[0]).astype(np.float64)


def candidate_scores(index: ShingleIndex, hash_idx: np.ndarray, present: np.ndarray, weight: float) -> Candidates:
    """Score every licence on ``hash_idx`` (matched positions still to explain, with
    repeats), given its :func:`presence` in the block."""
    n_texts = index.text_sizes.shape[0]
    # Per distinct shingle, weighted by how often it occurs: the posting lists of common
    # licence phrases are long, and a block repeats them.
    distinct, repeats = np.unique(hash_idx, return_counts=True)
    rows, texts = index.texts_of(distinct)
    explained = np.bincount(texts, weights=repeats[rows], minlength=n_texts)
    coverage = present / np.maximum(index.text_sizes, 1)
    return Candidates(explained, index.text_sizes - present, coverage, explained * coverage**weight)


def match_licences(tokens: Tokens, text: str, ref: LicenceReference,
                   params: LicenceMatchParams | None = None, skip: np.ndarray | None = None) -> list[LicenceMatch]:
    """Licence blocks in ``text`` (tokenized as ``tokens``); shingles where ``skip`` is
    True (the allow-list) never match.

    Blocks of matched shingles are found first; within a block, licences are chosen
    greedily, each explaining the shingles the previous ones left, so a file that
    quotes several licences one after another gets one match per licence.
    """
    params = params or LicenceMatchParams()
    k = params.shingle_size
    index = ref.index_for(k)
    located = index.locate(shingle_hashes(tokens.ids, k))
    if skip is not None and skip.shape == located.shape:
        located[skip] = -1
    positions = np.nonzero(located >= 0)[0]
    matches: list[LicenceMatch] = []
    for block in _runs(positions, params.max_gap):
        if _covered(block, k) < params.min_words:
            continue
        start, end = tokens.char_span(int(block[0]), int(block[-1]) + k)
        matches.extend(_match_block(block, located, ref, params, stated_versions(text[start:end])))
    return merge_parts(sorted(matches, key=lambda m: m.word_start), ref, params.max_gap)


def merge_parts(matches: list[LicenceMatch], ref: LicenceReference, max_gap: int) -> list[LicenceMatch]:
    """One match per licence copy: a licence's terms followed by its appendix (or its
    notice) are one block, reported under the terms (their coverage is the licence's)."""
    merged: list[LicenceMatch] = []
    for m in matches:
        last = merged[-1] if merged else None
        if (last is not None and m.word_start - last.word_end <= max_gap
                and set(ref.texts[m.text].ids) & set(ref.texts[last.text].ids)):
            main = last if ref.texts[last.text].part == "text" or ref.texts[m.text].part != "text" else m
            merged[-1] = dataclasses.replace(
                main, word_start=last.word_start, word_end=max(last.word_end, m.word_end),
                matched_words=last.matched_words + m.matched_words,
                matched_shingles=last.matched_shingles + m.matched_shingles,
            )
        elif last is not None and m.word_start < last.word_end:
            # A run ends k-1 words past its last shingle, where the next block's first
            # shingles may start: the words go to the earlier match.
            if m.word_end > last.word_end:
                merged.append(dataclasses.replace(m, word_start=last.word_end))
        else:
            merged.append(m)
    return merged


def _match_block(block: np.ndarray, located: np.ndarray, ref: LicenceReference,
                 params: LicenceMatchParams, versions: frozenset[str]) -> list[LicenceMatch]:
    k = params.shingle_size
    index = ref.index_for(k)
    remaining = block
    block_hashes = np.unique(located[block])
    present = presence(index, block_hashes)
    found: list[LicenceMatch] = []
    # Each round explains at least one shingle, so this ends; the cap bounds hostile input.
    for _ in range(64):
        if _covered(remaining, k) < params.min_words:
            break
        ranked, tied = rank_candidates(
            candidate_scores(index, located[remaining], present, params.coverage_weight), params,
            ref.common)
        if not ranked:
            break
        ranked = settle_by_distinction(ranked, tied, ref, k, index.hashes[block_hashes], params)
        ranked = prefer_stated_version(ranked, ref, versions)
        winner = ranked[0]
        runner_up = ranked[1] if len(ranked) > 1 else None
        in_winner = _holds(ref, index, located[remaining], winner, k)
        mine = remaining[in_winner]
        claimed = np.zeros(remaining.shape[0], dtype=bool)
        for run in _runs(mine, params.max_gap):
            start, end = int(run[0]), int(run[-1]) + k
            covered = _covered(run, k)
            # ``remaining`` is sorted: the run's extent is one slice of it.
            claimed[np.searchsorted(remaining, run[0]) : np.searchsorted(remaining, run[-1], side="right")] = True
            if covered < params.min_words or covered < params.min_density * (end - start):
                continue
            found.append(_describe(ref, index, located, run, winner, runner_up, start, end, covered, k))
        claimed |= in_winner
        remaining = remaining[~claimed]
    return found


def distinctive_presence(a: np.ndarray, b: np.ndarray, present: np.ndarray) -> tuple[int, float]:
    """How much of what licence ``a`` has and ``b`` lacks is present (count, share);
    ``a``, ``b`` and ``present`` are sorted unique shingle hashes."""
    only_a = np.setdiff1d(a, b, assume_unique=True)
    if only_a.size == 0:
        return 0, 0.0
    hits = int(np.isin(only_a, present, assume_unique=True).sum())
    return hits, hits / only_a.size


def settle_by_distinction(ranked: list[int], tied: int, ref: LicenceReference, k: int, present: np.ndarray,
                          params: LicenceMatchParams) -> list[int]:
    """Among tied candidates, one whose distinctive part is present beats the leader.

    The tie order favours common licences and fewer absent parts; that is only
    right when nothing in the text separates the two. A licence whose own parts
    (those the leader lacks) are mostly present, and at least ``evidence_margin``
    shingles of them, is what the text is: the Pixar licence's changed trademark
    clause, CC-BY-NC's NonCommercial terms.
    """
    if tied < 2:
        return ranked
    champion = ranked[0]
    for other in ranked[1:tied]:
        a, b = ref.text_shingles(other, k), ref.text_shingles(champion, k)
        hits, share = distinctive_presence(a, b, present)
        if hits >= params.evidence_margin and share >= 0.5:
            _, back_share = distinctive_presence(b, a, present)
            if share > back_share:
                champion = other
    return [champion, *(t for t in ranked if t != champion)]


_STATED_VERSION = re.compile(r"\bversions?\s+(\d+(?:\.\d+)?)\b", re.IGNORECASE)
_ID_VERSION = re.compile(r"-(\d+(?:\.\d+)*)")


def stated_versions(text: str) -> frozenset[str]:
    """Licence versions a text names ("either version 3 of the License" -> "3.0")."""
    return frozenset(v if "." in v else f"{v}.0" for v in _STATED_VERSION.findall(text))


def licence_family(spdx_id: str) -> tuple[str, str | None]:
    """An id without its version, and the version: ("GPL-or-later", "2.0")."""
    found = _ID_VERSION.search(spdx_id)
    return _ID_VERSION.sub("", spdx_id, count=1), found.group(1) if found else None


def prefer_stated_version(ranked: list[int], ref: LicenceReference, versions: frozenset[str]) -> list[int]:
    """A plausible candidate of the winner's family whose version the text names beats a
    winner whose version it does not name: GPL notices differ mostly in that number,
    and real ones mix the wordings of two versions."""
    if not versions or len(ranked) < 2:
        return ranked
    family, version = licence_family(ref.texts[ranked[0]].spdx_id)
    if version in versions:
        return ranked
    for n in range(1, len(ranked)):
        other_family, other_version = licence_family(ref.texts[ranked[n]].spdx_id)
        if other_family == family and other_version in versions:
            return [ranked[n], *ranked[:n], *ranked[n + 1 :]]
    return ranked


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


def rank_candidates(c: Candidates, params: LicenceMatchParams,
                    common: np.ndarray | None = None) -> tuple[list[int], int]:
    """Plausible licences, best first, told apart by what differs between them.

    Plausible: scoring at least ``params.plausible`` of the best (a licence that
    explains the block but of which little is present is not). Among those, the one
    explaining clearly more of the text wins (it has present parts the others lack:
    BSD-3's third clause); when they explain the same shingles up to
    ``params.evidence_margin``, a common licence beats a rare variant (``common``:
    per text, True for :data:`COMMON_LICENCES`), then the one with the fewest absent
    parts wins (BSD-3's clause is absent from a BSD-2 text; BSD-2 lacks nothing).
    Returns the plausible candidates in that order and how many of them are tied
    (those come first; :func:`settle_by_distinction` then looks at what differs).
    """
    best = float(c.score.max()) if c.score.size else 0.0
    if best <= 0:
        return [], 0
    plausible = np.nonzero(c.score >= params.plausible * best)[0]
    explained = c.explained[plausible]
    margin = max(params.evidence_margin, params.evidence_share * explained.max())
    tied = explained >= explained.max() - margin
    rare = ~common[plausible] if common is not None else np.zeros(plausible.shape[0], dtype=bool)
    order = np.lexsort((-explained, -c.coverage[plausible], c.absent[plausible], rare, ~tied))
    return [int(t) for t in plausible[order]], int(tied.sum())


def _holds(ref: LicenceReference, index: ShingleIndex, hash_idx: np.ndarray, text: int, k: int) -> np.ndarray:
    """For each entry of ``hash_idx``, whether licence ``text`` has that shingle."""
    return np.isin(index.hashes[hash_idx], ref.text_shingles(text, k))


def _describe(ref: LicenceReference, index: ShingleIndex, located: np.ndarray, run: np.ndarray, winner: int,
              runner_up: int | None, start: int, end: int, covered: int, k: int) -> LicenceMatch:
    hashes = np.unique(located[run])
    in_w = _holds(ref, index, hashes, winner, k)
    size_w = int(index.text_sizes[winner])
    present_w = int(in_w.sum())
    distinction = None
    if runner_up is not None:
        in_r = _holds(ref, index, hashes, runner_up, k)
        distinction = Distinction(
            runner_up=runner_up,
            only_winner_present=int((in_w & ~in_r).sum()),
            only_runner_up_present=int((in_r & ~in_w).sum()),
            runner_up_coverage=float(in_r.sum()) / max(int(index.text_sizes[runner_up]), 1),
        )
    return LicenceMatch(
        text=winner, word_start=start, word_end=end, matched_words=covered, matched_shingles=int(run.shape[0]),
        coverage=present_w / max(size_w, 1),
        resemblance=present_w / max(size_w + hashes.shape[0] - present_w, 1),
        distinction=distinction,
    )
