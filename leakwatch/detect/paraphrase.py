"""Paraphrase-tolerant alignment over sentences (seed, extend, validate).

Exact shingles miss passages whose words were shuffled, replaced or translated
back and forth: few 5-word runs survive. This stage follows the sentence-level
approach of the strongest PAN text-alignment systems (Sanchez-Perez, Sidorov &
Gelbukh, 2014): sentences of both documents become tf-isf vectors of their
content words; sentence pairs with both cosine and Dice above a threshold are
seeds; seeds close together in both documents are clustered into fragments,
and a fragment pair is kept only if the fragments as a whole are similar.

It needs the words of the source, so it runs only when the source has been
re-read from its registered path (the store keeps no text).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from scipy import sparse

from leakwatch.text import Tokens, content_mask, normalize_word, word_hash

# Sentence ends: terminal punctuation followed by white space, or a blank line.
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*\s+|\n\s*\n")
MIN_SENTENCE_WORDS = 4


@dataclass(frozen=True)
class ParaphraseParams:
    seed_cosine: float = 0.33
    seed_dice: float = 0.33
    max_gap: int = 4  # sentences, in the deliverable
    # A summary condenses many source sentences into few: seeds of one passage can
    # lie further apart in the source than in the deliverable.
    max_source_gap: int = 4
    fragment_cosine: float = 0.34
    min_seeds: int = 2
    single_seed_cosine: float = 0.6


# Candidate generation when a learned scorer decides: looser gates, so that the
# scorer (not hand-set thresholds) separates reworded copies from topic overlap.
# Two clusterings: tight on both sides (edited and translated passages keep their
# order), and wide on the source side (a summary condenses many source sentences);
# the scorer picks between overlapping candidates.
RELAXED = ParaphraseParams(seed_cosine=0.25, seed_dice=0.25, fragment_cosine=0.25, min_seeds=1,
                           max_source_gap=4, single_seed_cosine=0.0)
RELAXED_WIDE = ParaphraseParams(seed_cosine=0.25, seed_dice=0.25, fragment_cosine=0.25, min_seeds=1,
                                max_source_gap=20, single_seed_cosine=0.0)
CANDIDATE_SETTINGS = (RELAXED, RELAXED_WIDE)

# What the scorer sees of a fragment pair (see fragment_features). Chosen on the PAN
# 2013 training set under grouped cross-validation: shingle Jaccard, length ratio,
# seed counts and the source-side overlap were dropped (each left out cost nothing:
# they restate the others); word order, content bigrams and subject-discounted
# overlap were added (reuse keeps a passage's order, phrasing and specific words;
# documents on one subject share its vocabulary, scattered).
FEATURES = ("log_matched_words", "cosine", "overlap_deliverable", "order", "bigrams_source",
            "specific_deliverable", "specific_source")


@dataclass(frozen=True)
class Fragment:
    """A pair of sentence ranges judged to be one reworded passage."""

    d_word_start: int
    d_word_end: int
    s_word_start: int
    s_word_end: int
    cosine: float
    n_seeds: int
    # The clustering's reach in the source, in sentences (tight, or wide for summaries).
    source_gap: int = 4


def sentence_bounds(text: str, tokens: Tokens) -> np.ndarray:
    """Word index where each sentence starts (plus a final ``len(tokens)``).

    Sentences shorter than MIN_SENTENCE_WORDS are joined to the next one, so that
    headings and list bullets do not become seeds on their own.
    """
    ends = [m.end() for m in _SENTENCE_END.finditer(text)]
    cuts = np.searchsorted(tokens.starts, np.asarray(ends, dtype=np.int64), side="left")
    bounds = [0]
    for c in cuts.tolist():
        if c - bounds[-1] >= MIN_SENTENCE_WORDS and c < len(tokens):
            bounds.append(c)
    bounds.append(len(tokens))
    return np.asarray(bounds, dtype=np.int64)


@dataclass(frozen=True)
class _Sentences:
    """The distinct content words of every sentence, as flat arrays sorted by sentence
    and then word (one array operation per document, not one per sentence)."""

    rows: np.ndarray  # int64 sentence index of each (sentence, word) pair
    terms: np.ndarray  # uint64 word id
    count: int  # sentences

    def sizes(self) -> np.ndarray:
        return np.bincount(self.rows, minlength=self.count)


def _sentence_terms(ids: np.ndarray, bounds: np.ndarray) -> _Sentences:
    count = bounds.shape[0] - 1
    rows = np.repeat(np.arange(count, dtype=np.int64), np.diff(bounds))
    content = content_mask(ids)
    rows, terms = rows[content], ids[content]
    order = np.lexsort((terms, rows))
    rows, terms = rows[order], terms[order]
    first = np.ones(rows.shape[0], dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (terms[1:] != terms[:-1])
    return _Sentences(rows[first], terms[first], count)


def _tfisf_matrix(sentences: _Sentences, vocab: np.ndarray, isf: np.ndarray) -> sparse.csr_matrix:
    """Sparse L2-normalised binary tf x isf rows (sentences are short: tf is 0/1).

    Sparse because a long document has thousands of sentences and tens of
    thousands of distinct words, while each sentence holds a handful.
    """
    from scipy import sparse  # only when aligning: keeps it off the start-up path

    indices = np.searchsorted(vocab, sentences.terms)
    indptr = np.concatenate([[0], np.cumsum(sentences.sizes())])
    m = sparse.csr_matrix((isf[indices].astype(np.float64), indices, indptr),
                          shape=(sentences.count, vocab.shape[0]))
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    return sparse.csr_matrix(sparse.diags(1.0 / np.where(norms == 0, 1.0, norms)) @ m)


def align_sentences(d_text: str, d_tokens: Tokens, s_text: str, s_tokens: Tokens,
                    params: ParaphraseParams | None = None) -> list[Fragment]:
    """Reworded passages shared by a deliverable and a source, as word ranges."""
    return align_sentences_all(d_text, d_tokens, s_text, s_tokens, (params or ParaphraseParams(),))


def align_sentences_all(d_text: str, d_tokens: Tokens, s_text: str, s_tokens: Tokens,
                        settings: tuple[ParaphraseParams, ...]) -> list[Fragment]:
    """:func:`align_sentences` for several clusterings of one set of seeds (the
    sentence vectors are built once); duplicate fragments are returned once."""
    p = settings[0]
    if any((q.seed_cosine, q.seed_dice) != (p.seed_cosine, p.seed_dice) for q in settings):
        raise ValueError("settings must share their seed thresholds")
    d_bounds, s_bounds = sentence_bounds(d_text, d_tokens), sentence_bounds(s_text, s_tokens)
    d_sent = _sentence_terms(d_tokens.ids, d_bounds)
    s_sent = _sentence_terms(s_tokens.ids, s_bounds)
    if not d_sent.count or not s_sent.count:
        return []
    all_terms = np.concatenate([d_sent.terms, s_sent.terms])
    vocab = np.unique(all_terms)
    if vocab.size == 0:
        return []
    # Sentence frequency: each sentence lists a word once.
    sf = np.bincount(np.searchsorted(vocab, all_terms), minlength=vocab.shape[0]).astype(np.float64)
    isf = np.log((d_sent.count + s_sent.count) / sf).astype(np.float32)
    dm, sm = _tfisf_matrix(d_sent, vocab, isf), _tfisf_matrix(s_sent, vocab, isf)
    cosine = (dm @ sm.T).tocoo()
    d_len = d_sent.sizes().astype(np.float64)
    s_len = s_sent.sizes().astype(np.float64)
    # Shared terms of the sentence pairs that share any (the non-zeros of cosine).
    inter = np.asarray(((dm > 0).astype(np.float64) @ (sm > 0).astype(np.float64).T)[cosine.row, cosine.col]).ravel()
    dice = 2 * inter / np.maximum(1, d_len[cosine.row] + s_len[cosine.col])
    seed = (cosine.data > p.seed_cosine) & (dice > p.seed_dice)
    di, sj, seed_cos = cosine.row[seed].astype(np.int64), cosine.col[seed].astype(np.int64), cosine.data[seed]
    if di.size == 0:
        return []
    fragments: dict[tuple[int, int, int, int], Fragment] = {}
    clusters = [(q, c) for q in settings for c in _cluster(di, sj, q.max_gap, q.max_source_gap)]
    # The tight and wide clusterings often find the same sentence ranges: their
    # similarity and trimmed word ranges are computed once.
    ranges: dict[tuple[int, int, int, int], tuple[float, tuple[int, int, int, int]]] = {}
    for p, cluster in clusters:
        ci, cj = di[cluster], sj[cluster]
        d0, d1 = int(ci.min()), int(ci.max()) + 1
        s0, s1 = _source_span(ci, cj, seed_cos[cluster], s_bounds, int(d_bounds[d1] - d_bounds[d0]))
        if (d0, d1, s0, s1) not in ranges:
            ranges[(d0, d1, s0, s1)] = (_range_cosine(dm, d0, d1, sm, s0, s1), (
                *_trim(d_tokens.ids, int(d_bounds[d0]), int(d_bounds[d1]), s_tokens.ids[s_bounds[s0] : s_bounds[s1]]),
                *_trim(s_tokens.ids, int(s_bounds[s0]), int(s_bounds[s1]), d_tokens.ids[d_bounds[d0] : d_bounds[d1]])))
        sim, (dw0, dw1, sw0, sw1) = ranges[(d0, d1, s0, s1)]
        best_seed = float(seed_cos[cluster].max())
        if sim < p.fragment_cosine:
            continue
        if len(cluster) < p.min_seeds and best_seed < p.single_seed_cosine:
            continue
        if dw1 > dw0 and sw1 > sw0:
            fragments.setdefault((dw0, dw1, sw0, sw1),
                                 Fragment(dw0, dw1, sw0, sw1, sim, len(cluster), p.max_source_gap))
    return list(fragments.values())


def _range_vector(m: sparse.csr_matrix, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
    """The sum of rows [start, end) of a CSR matrix, as (sorted columns, values)."""
    lo, hi = int(m.indptr[start]), int(m.indptr[end])
    columns, inverse = np.unique(m.indices[lo:hi], return_inverse=True)
    return columns, np.bincount(inverse, weights=m.data[lo:hi], minlength=columns.shape[0])


def _range_cosine(dm: sparse.csr_matrix, d0: int, d1: int, sm: sparse.csr_matrix, s0: int, s1: int) -> float:
    """Cosine of the summed sentence vectors of two sentence ranges (a fragment as a whole).

    On the rows' own non-zeros: slicing the sparse matrices and summing them to dense
    vocabulary-wide vectors cost about a millisecond per fragment.
    """
    d_cols, d_vals = _range_vector(dm, d0, d1)
    s_cols, s_vals = _range_vector(sm, s0, s1)
    _, i, j = np.intersect1d(d_cols, s_cols, assume_unique=True, return_indices=True)
    denom = float(np.linalg.norm(d_vals) * np.linalg.norm(s_vals)) or 1.0
    return float(d_vals[i] @ s_vals[j]) / denom


# The source side grows over neighbouring matched sentences only while it is shorter than
# this many times the deliverable side: a reworded copy is about as long as its source
# passage, and growing further took in the neighbouring copy's source (random obfuscation
# precision 0.935 -> 0.939 and summaries 0.667 -> 0.676 on the PAN training set under
# cross-validation; 1.0 cut recall, 1.5 and 2.0 fell back towards unlimited growth).
SOURCE_GROWTH = 1.25


def _source_span(ci: np.ndarray, cj: np.ndarray, cos: np.ndarray, s_bounds: np.ndarray,
                 d_words: int) -> tuple[int, int]:
    """The source sentences [s0, s1) of a cluster of seeds (deliverable sentence ``ci``,
    source sentence ``cj``, cosine ``cos``).

    The span runs from the first to the last source sentence that is the best match of
    some deliverable sentence, and grows over the other matched source sentences that
    continue it without a gap, while it is shorter than SOURCE_GROWTH times the
    deliverable side (``d_words``; ``s_bounds`` are the source's sentence starts). A
    deliverable sentence also resembles a few source sentences on its topic further
    away; taking those in made the source span of reworded passages overshoot (most
    where two reworded copies sit side by side).
    """
    order = np.lexsort((-cos, ci))
    best = np.ones(order.shape[0], dtype=bool)
    best[1:] = ci[order][1:] != ci[order][:-1]
    core = cj[order][best]
    s0, s1 = int(core.min()), int(core.max()) + 1
    matched = set(np.unique(cj).tolist())
    limit = SOURCE_GROWTH * d_words
    # Walk outwards over matched sentences next to the span, the earlier side first.
    while s_bounds[s1] - s_bounds[s0] < limit and (s0 - 1 in matched or s1 in matched):
        if s0 - 1 in matched:
            s0 -= 1
        elif s1 in matched:
            s1 += 1
    return s0, s1


# A fragment keeps its sentences' first and last words when no more than this many words
# lie between them and the nearest shared content word: a reworded sentence's opening
# and closing words ("It is also", "as well") are its own words but part of the copy.
# On the PAN training set under cross-validation, 0 (trim to the shared words) / 3 / 6 /
# 8 / 10 / 12 / whole sentences gave random obfuscation 0.873 / 0.877 / 0.881 / 0.881 /
# 0.880 / 0.878 / 0.876 and overall 0.905 / 0.907 / 0.908 / 0.909 / 0.909 / 0.908 / 0.902.
EDGE_WORDS = 8


def _trim(ids: np.ndarray, start: int, end: int, other: np.ndarray) -> tuple[int, int]:
    """Shrink [start, end) to its first and last content word that the other side also has,
    unless only EDGE_WORDS words or fewer lie beyond them: sentence boundaries overshoot a
    copied passage that starts or ends mid-sentence, and undershoot it when trimmed to
    the shared words of a sentence that was copied whole."""
    shared = np.isin(ids[start:end], other) & content_mask(ids[start:end])
    hits = np.nonzero(shared)[0]
    if hits.size == 0:
        return start, start
    first, last = start + int(hits[0]), start + int(hits[-1]) + 1
    return (start if first - start <= EDGE_WORDS else first), (end if end - last <= EDGE_WORDS else last)


def _cluster(di: np.ndarray, sj: np.ndarray, max_gap: int, max_source_gap: int) -> list[np.ndarray]:
    """Connected groups of seeds: sorted by deliverable sentence, a seed joins a group
    whose latest seed is at most ``max_gap`` sentences away in the deliverable and
    ``max_source_gap`` in the source."""
    order = np.lexsort((sj, di))
    groups: list[list[int]] = []
    # Open groups only: seeds come in deliverable order, so a group whose last seed
    # is more than max_gap sentences behind can never grow again (keeps this linear).
    open_tails: dict[int, tuple[int, int]] = {}
    for n in order.tolist():
        i, j = int(di[n]), int(sj[n])
        open_tails = {g: t for g, t in open_tails.items() if i - t[0] <= max_gap}
        for g, (_, tj) in open_tails.items():
            if abs(j - tj) <= max_source_gap:
                groups[g].append(n)
                open_tails[g] = (i, j)
                break
        else:
            groups.append([n])
            open_tails[len(groups) - 1] = (i, j)
    return [np.asarray(g, dtype=np.int64) for g in groups]


def shingle_jaccard(frag: Fragment, d_shingles: np.ndarray, s_shingles: np.ndarray, shingle_size: int) -> float:
    """Resemblance of the two sides' shingles: near 1 for a verbatim copy (the exact stage's)."""
    a = np.unique(d_shingles[frag.d_word_start : max(frag.d_word_start, frag.d_word_end - shingle_size + 1)])
    b = np.unique(s_shingles[frag.s_word_start : max(frag.s_word_start, frag.s_word_end - shingle_size + 1)])
    union = np.union1d(a, b).size
    return np.intersect1d(a, b, assume_unique=True).size / union if union else 0.0


@dataclass(frozen=True)
class TermWeights:
    """How specific each content word is to where it appears in one document:
    log(sentences / sentences holding it). A document's subject ("tickets", "park")
    runs through its sentences and weighs little; the words of one passage weigh much."""

    terms: np.ndarray  # sorted distinct word ids
    weights: np.ndarray  # float64, one per term

    @classmethod
    def of(cls, text: str, tokens: Tokens) -> TermWeights:
        sentences = _sentence_terms(tokens.ids, sentence_bounds(text, tokens))
        terms, sf = np.unique(sentences.terms, return_counts=True)
        return cls(terms, np.log((sentences.count + 1) / sf))

    def total(self, ids: np.ndarray) -> float:
        """Summed weight of the distinct ``ids`` (0 for words not in the document)."""
        ids = np.unique(ids)
        if not self.terms.size or not ids.size:
            return 0.0
        at = np.searchsorted(self.terms, ids).clip(0, self.terms.shape[0] - 1)
        return float(np.where(self.terms[at] == ids, self.weights[at], 0.0).sum())


def in_order(d_content: np.ndarray, s_content: np.ndarray) -> int:
    """Longest run of the deliverable's content words found in the source in the same
    order (each word at its first place in the source): a reworded copy keeps its
    source's order, text on the same subject shares words in any order."""
    first: dict[int, int] = {}
    for i, w in enumerate(s_content.tolist()):
        first.setdefault(w, i)
    tails: list[int] = []
    for w in d_content.tolist():
        at = first.get(w)
        if at is None:
            continue
        i = bisect.bisect_left(tails, at)
        if i == len(tails):
            tails.append(at)
        else:
            tails[i] = at
    return len(tails)


def _bigrams(content: np.ndarray) -> np.ndarray:
    """Distinct adjacent pairs of content words, as one 64-bit value each."""
    if content.shape[0] < 2:
        return np.zeros(0, dtype=np.uint64)
    return np.unique(content[:-1] * np.uint64(0x9E3779B97F4A7C15) + content[1:])


def fragment_features(frag: Fragment, d_ids: np.ndarray, s_ids: np.ndarray, d_weights: TermWeights,
                      s_weights: TermWeights) -> np.ndarray:
    """The scorer's view of a fragment pair, in the order of :data:`FEATURES`.

    ``d_ids`` and ``s_ids`` are the (stemmed) word ids of the two documents and the
    weights their :class:`TermWeights`. Every feature is a count or a ratio over
    word ids, so the same code serves training and scanning.
    """
    d = d_ids[frag.d_word_start : frag.d_word_end]
    s = s_ids[frag.s_word_start : frag.s_word_end]
    d_content, s_content = d[content_mask(d)], s[content_mask(s)]
    shared = np.intersect1d(d_content, s_content)
    s_bigrams = _bigrams(s_content)
    bigrams = np.intersect1d(_bigrams(d_content), s_bigrams, assume_unique=True).size
    d_total, s_total = d_weights.total(d_content), s_weights.total(s_content)
    return np.array([
        np.log1p(int(np.isin(d, s).sum())),
        frag.cosine,
        float(np.isin(d_content, s_content).mean()) if d_content.size else 0.0,
        in_order(d_content, s_content) / max(1, d_content.size),
        bigrams / max(1, s_bigrams.size),
        d_weights.total(shared) / d_total if d_total else 0.0,
        s_weights.total(shared) / s_total if s_total else 0.0,
    ], dtype=np.float64)


def stemmed(text: str, tokens: Tokens) -> Tokens:
    """``tokens`` with every content word replaced by its Snowball stem (function words
    keep their ids): a reworded or machine-translated passage keeps a word's stem more
    often than its form ("explorers" / "explored")."""
    import Stemmer

    if len(tokens) == 0:
        return tokens
    uniq, first, inverse = np.unique(tokens.ids, return_index=True, return_inverse=True)
    content = content_mask(uniq)
    words = [normalize_word(text[a:b]) for a, b in zip(tokens.starts[first[content]].tolist(),
                                                         tokens.ends[first[content]].tolist(), strict=True)]
    stems = Stemmer.Stemmer("english").stemWords(words)
    new = uniq.copy()
    new[content] = np.fromiter((word_hash("\x1f" + w) for w in stems), dtype=np.uint64, count=len(stems))
    return Tokens(new[inverse], tokens.starts, tokens.ends)
