"""Measure copied-code detection on the IR-Plag Java sample and print the tables.

Usage (from the repository root, with ../shared present):

    python scripts/eval_code.py /work/shared/corpora/ir-plag-java-sample [--quick]

The deployed decision is modelled: the original of each case is registered as a
reference, every other file of the corpus is a deliverable, and a deliverable is
flagged as copied from a reference when a score over the matched fingerprints
reaches a threshold. Positives are plagiarised files against their case's
original; negatives are non-plagiarised files against it, and every pair across
cases (which must never fire).

Printed: the normalization variants and scores compared at their best settings,
the true/false positives over (k, w), how much the outcome depends on the store
key (winnowing picks fingerprints by keyed hash), the chosen operating point with
its per-level recall, precision, false-positive rates and threshold sensitivity,
the effect of k on reordered statements (L5), and the tokenizer's speed.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from leakwatch.codetokens import (
    CODE_MATCH,
    IDENTIFIER,
    STRING,
    CodeMatchParams,
    code_fingerprints,
    code_tokens,
    copied_code_score,
    token_hash,
)
from leakwatch.extract.base import decode_text
from leakwatch.keys import StoreKey
from leakwatch.text import Tokens

LEVELS = ("L1", "L2", "L3", "L4", "L5", "L6")
MIN_PRECISION = 0.95
KS = range(3, 13)
WS = (1, 2, 3, 4, 6, 8)
# Java's primitive types (Pygments' Keyword.Type) and modifiers, for the normalization variants.
JAVA_TYPES = frozenset({"boolean", "byte", "char", "double", "float", "int", "long", "short", "void"})
JAVA_MODIFIERS = frozenset({"public", "private", "protected", "static", "final"})
# The JDK names the sample uses most: what "jdk-kept" keeps verbatim.
JDK_NAMES = frozenset({
    "String", "System", "out", "in", "println", "print", "printf", "Scanner", "nextInt", "nextDouble",
    "nextLine", "next", "Math", "sqrt", "pow", "Integer", "Double", "parseInt", "length", "main", "args",
})
VARIANTS = ("default", "types-merged", "types-as-ids", "modifiers-dropped", "jdk-kept", "strings-kept")


@dataclass(frozen=True)
class CodeFile:
    """One Java file of the corpus with its ground truth."""

    path: str  # relative to the corpus root
    case: str
    label: str  # original / non-plagiarized / plagiarized
    level: str  # L1..L6 for plagiarised files, else ""
    text: str

    @property
    def is_reference(self) -> bool:
        return self.label == "original"

    @property
    def submission(self) -> str:
        """The dataset's folder number of a non-original file (``13`` in ``non-plagiarized/13/X.java``)."""
        return self.path.split("/")[-2]


def load_corpus(root: Path) -> list[CodeFile]:
    """The files listed in ``labels.csv``, decoded as the text extractor decodes them."""
    files = []
    with (root / "labels.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            text, _ = decode_text((root / row["path"]).read_bytes())
            files.append(CodeFile(row["path"], row["case"], row["label"], row["level"], text))
    return files


# --- normalization variants, derived from the default stream by each token's original spelling ---

_ID = token_hash(IDENTIFIER)
_STR = token_hash(STRING)
_TYPE = token_hash("\0type")


def _java_tokens(text: str) -> Tokens:
    tokens = code_tokens(text, "java")
    assert tokens is not None
    return tokens


def variant_tokens(text: str, variant: str) -> Tokens:
    """Code tokens of a file under one normalization variant.

    ``default``: :func:`code_tokens` (int, double ... kept; String is an identifier);
    ``types-merged``: all primitive types one placeholder; ``types-as-ids``: primitive types are
    identifiers too; ``modifiers-dropped``: no public/private/protected/static/final;
    ``jdk-kept``: common JDK names (String, println ...) kept verbatim;
    ``strings-kept``: string literals by their text.
    """
    tokens = _java_tokens(text)
    if variant == "default":
        return tokens
    spellings = [text[s:e] for s, e in zip(tokens.starts.tolist(), tokens.ends.tolist(), strict=True)]
    ids = tokens.ids.tolist()
    keep = [True] * len(ids)
    for n, (spelling, old) in enumerate(zip(spellings, ids, strict=True)):
        if variant == "types-merged" and spelling in JAVA_TYPES:
            ids[n] = _TYPE
        elif variant == "types-as-ids" and spelling in JAVA_TYPES:
            ids[n] = _ID
        elif variant == "modifiers-dropped" and spelling in JAVA_MODIFIERS:
            keep[n] = False
        elif variant == "jdk-kept" and old == _ID and spelling in JDK_NAMES:
            ids[n] = token_hash(spelling)
        elif variant == "strings-kept" and old == _STR:
            ids[n] = token_hash("\0str:" + spelling)
    mask = np.array(keep, dtype=bool)
    return Tokens(np.array(ids, dtype=np.uint64)[mask], tokens.starts[mask], tokens.ends[mask])


# --- scores ---

@dataclass(frozen=True)
class Prints:
    """What the scores need of one file at one (k, w, key)."""

    hashes: np.ndarray  # every k-gram hash
    positions: np.ndarray  # kept by winnowing
    all_set: frozenset[int]
    win_set: frozenset[int]


def prints_of(tokens: Tokens, k: int, w: int, key: StoreKey | None = None) -> Prints:
    hashes, positions = code_fingerprints(tokens, k, w, key)
    return Prints(hashes, positions, frozenset(hashes.tolist()), frozenset(hashes[positions].tolist()))


def _share(part: frozenset[int], whole: frozenset[int]) -> float:
    return len(part & whole) / len(part) if part else 0.0


def _matched_tokens(ref: Prints, dlv: Prints, k: int) -> float:
    """Deliverable tokens covered by its k-grams that hit a stored (winnowed) reference fingerprint."""
    hits = np.flatnonzero(np.isin(dlv.hashes, np.fromiter(ref.win_set, dtype=np.uint64)))
    if hits.shape[0] == 0:
        return 0.0
    covered = np.zeros(dlv.hashes.shape[0] + k - 1, dtype=bool)
    for j in range(k):
        covered[hits + j] = True
    return float(np.count_nonzero(covered))


# Each score: (reference prints, deliverable prints, k) -> value. All but "del-in-ref-full"
# can be computed from what a store keeps of a reference (its winnowed fingerprints).
SCORES: dict[str, Callable[[Prints, Prints, int], float]] = {
    "ref-coverage": lambda r, d, k: _share(r.win_set, d.all_set),
    "del-in-ref": lambda r, d, k: _share(d.win_set, r.win_set),
    "del-in-ref-full": lambda r, d, k: _share(d.win_set, r.all_set),
    "max-containment": lambda r, d, k: max(_share(r.win_set, d.all_set), _share(d.win_set, r.win_set)),
    "matched-tokens": _matched_tokens,
}


@dataclass(frozen=True)
class PairScores:
    """Scores of the deployed comparisons at one setting."""

    own: list[tuple[CodeFile, float]]  # every deliverable vs its case's original
    cross: list[float]  # every deliverable vs every other case's original


def pair_scores(files: list[CodeFile], tokens: dict[str, Tokens], k: int, w: int, score: str,
                key: StoreKey | None = None) -> PairScores:
    prints = {f.path: prints_of(tokens[f.path], k, w, key) for f in files}
    fn = SCORES[score]
    refs = {f.case: f for f in files if f.is_reference}
    own, cross = [], []
    for f in files:
        if f.is_reference:
            continue
        for case, ref in refs.items():
            value = fn(prints[ref.path], prints[f.path], k)
            if case == f.case:
                own.append((f, value))
            else:
                cross.append(value)
    return PairScores(own, cross)


@dataclass(frozen=True)
class Outcome:
    threshold: float
    tp: int
    fp: int
    positives: int
    negatives: int
    level_recall: dict[str, float]
    flagged_cross: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / self.positives

    @property
    def fp_rate(self) -> float:
        return self.fp / self.negatives

    @property
    def macro_recall(self) -> float:
        return sum(self.level_recall.values()) / len(self.level_recall)


def outcome(scores: PairScores, threshold: float) -> Outcome:
    tp = fp = pos = neg = 0
    hits = dict.fromkeys(LEVELS, 0)
    totals = dict.fromkeys(LEVELS, 0)
    for f, value in scores.own:
        flagged = value >= threshold
        if f.label == "plagiarized":
            pos += 1
            tp += flagged
            totals[f.level] += 1
            hits[f.level] += flagged
        else:
            neg += 1
            fp += flagged
    return Outcome(
        threshold=threshold, tp=tp, fp=fp, positives=pos, negatives=neg,
        level_recall={lv: hits[lv] / totals[lv] for lv in LEVELS if totals[lv]},
        flagged_cross=sum(v >= threshold for v in scores.cross),
    )


def best_outcome(scores: PairScores) -> Outcome | None:
    """The lowest threshold (best recall) with precision >= 0.95 and no cross-case pair flagged."""
    floor = max(scores.cross, default=0.0)
    for t in sorted({v for _, v in scores.own if v > floor}):
        o = outcome(scores, t)
        if o.precision >= MIN_PRECISION:
            return o
    return None


def evaluation_keys(n: int) -> list[StoreKey]:
    """Fixed, public store keys: winnowing keeps the minima of keyed hashes, so which
    fingerprints a store holds (and so every coverage) depends on its key."""
    return [StoreKey(hashlib.sha256(b"leakwatch code evaluation key %d" % i).digest()) for i in range(n)]


# --- printing ---

def _row(cells: Iterable[object], widths: Iterable[int]) -> str:
    return "  ".join(str(c).rjust(n) for c, n in zip(cells, widths, strict=True))


HEAD = ["thresh", "TP", "FP", "prec", "recall", *LEVELS, "FPrate", "cross"]
WIDTHS = [6, 3, 3, 5, 6, 4, 4, 4, 4, 4, 4, 6, 5]


def _fmt(o: Outcome) -> list[str]:
    t = f"{o.threshold:.3f}" if o.threshold < 10 else f"{o.threshold:.0f}"
    return [t, str(o.tp), str(o.fp), f"{o.precision:.3f}", f"{o.recall:.3f}",
            *(f"{o.level_recall[lv]:.2f}" for lv in LEVELS), f"{o.fp_rate:.3f}", str(o.flagged_cross)]


def print_search(files: list[CodeFile]) -> None:
    print("\n== Best setting of each normalization variant and score: the lowest threshold with precision >= 0.95")
    print("   and no cross-case pair flagged, best mean per-level recall over k in 3..12, w in", WS)
    print("   (exact optimum on this sample: an upper bound, not a recommendation)")
    widths = [17, 15, 2, 2, *WIDTHS]
    print(_row(["variant", "score", "k", "w", *HEAD], widths))
    found = []
    for variant in VARIANTS:
        tokens = {f.path: variant_tokens(f.text, variant) for f in files}
        for score in SCORES:
            best: tuple[int, int, Outcome] | None = None
            for k in KS:
                for w in WS:
                    o = best_outcome(pair_scores(files, tokens, k, w, score))
                    if o is not None and (best is None or (o.macro_recall, o.recall) > (best[2].macro_recall,
                                                                                       best[2].recall)):
                        best = (k, w, o)
            if best is not None:
                found.append((variant, score, *best))
    for variant, score, k, w, o in sorted(found, key=lambda e: -e[4].macro_recall):
        print(_row([variant, score, k, w, *_fmt(o)], widths))


def print_grid(files: list[CodeFile], params: CodeMatchParams) -> None:
    t = params.threshold
    print(f"\n== TP/FP (of 94 plagiarized / 30 non-plagiarized) and highest cross-case score, ref-coverage >= {t},")
    print("   default normalization, unkeyed hashes")
    ws = list(range(1, 9))
    print(_row(["k\\w", *ws], [4, *[12] * len(ws)]))
    tokens = {f.path: variant_tokens(f.text, "default") for f in files}
    for k in range(4, 13):
        cells = []
        for w in ws:
            ps = pair_scores(files, tokens, k, w, "ref-coverage")
            o = outcome(ps, t)
            cells.append(f"{o.tp}/{o.fp} {max(ps.cross):.2f}")
        print(_row([k, *cells], [4, *[12] * len(ws)]))


def print_key_robustness(files: list[CodeFile], params: CodeMatchParams, n_keys: int = 10) -> None:
    t = params.threshold
    print(f"\n== Dependence on the store key: ref-coverage >= {t} over {n_keys} keys (w=1 keeps every k-gram, so")
    print("   it does not depend on the key); cells: mean precision / lowest precision / mean TP / fewest L1 found")
    ws = list(WS)
    print(_row(["k\\w", *ws], [4, *[20] * len(ws)]))
    tokens = {f.path: variant_tokens(f.text, "default") for f in files}
    keys = evaluation_keys(n_keys)
    for k in range(6, 13):
        cells = []
        for w in ws:
            runs = [outcome(pair_scores(files, tokens, k, w, "ref-coverage", key), t)
                    for key in (keys if w > 1 else keys[:1])]
            precisions = [o.precision for o in runs]
            l1 = min(round(o.level_recall["L1"] * 18) for o in runs)
            cells.append(f"{np.mean(precisions):.3f}/{min(precisions):.3f}/{np.mean([o.tp for o in runs]):.1f}/{l1}")
        print(_row([k, *cells], [4, *[20] * len(ws)]))


def print_operating_point(files: list[CodeFile], params: CodeMatchParams, thresholds: Iterable[float]) -> None:
    tokens = {f.path: variant_tokens(f.text, "default") for f in files}
    k, w = params.shingle_size, params.winnow_window
    scores = pair_scores(files, tokens, k, w, "ref-coverage")
    refs = {f.case: f for f in files if f.is_reference}
    # The tables must use the deployed function: check it on every scored pair.
    for f, value in scores.own:
        ref = code_fingerprints(tokens[refs[f.case].path], k, w)
        assert copied_code_score(ref, code_fingerprints(tokens[f.path], k, w)) == value
    print(f"\n== Chosen rule: k={k}, w={w}, ref-coverage >= {params.threshold} (unkeyed hashes)")
    print("   threshold sensitivity (each deliverable vs its case's original; cross = pairs across cases flagged)")
    print(_row(HEAD, WIDTHS))
    for t in thresholds:
        print(_row(_fmt(outcome(scores, t)), WIDTHS))
    o = outcome(scores, params.threshold)
    print("\n   per-level recall at the chosen threshold")
    print(_row(["level", "files", "found", "recall"], [6, 5, 5, 6]))
    for lv in LEVELS:
        total = sum(1 for f, _ in scores.own if f.level == lv)
        print(_row([lv, total, round(o.level_recall[lv] * total), f"{o.level_recall[lv]:.2f}"], [6, 5, 5, 6]))
    print(f"   all  {o.positives:5d}  {o.tp:5d}  {o.recall:.2f}")
    flagged = [(f, v) for f, v in scores.own if f.label == "non-plagiarized" and v >= params.threshold]
    neg = [v for f, v in scores.own if f.label == "non-plagiarized"]
    print(f"   precision {o.precision:.3f} ({o.tp} TP, {o.fp} FP); FP rate on non-plagiarized {o.fp_rate:.3f} "
          f"({o.fp}/{o.negatives}): " + ", ".join(f"{f.path} ({v:.2f})" for f, v in flagged))
    below = [v for v in neg if v < params.threshold]
    print(f"   highest non-plagiarized score below the threshold {max(below):.3f}; "
          f"highest cross-case score {max(scores.cross):.3f}")
    print_all_pairs(files, tokens, params)


def print_all_pairs(files: list[CodeFile], tokens: dict[str, Tokens], params: CodeMatchParams) -> None:
    """Stricter than deployed: any file as the reference of any other (across cases, and
    within a case among non-plagiarised files, leaving out the 13/15 pair the README flags)."""
    k, w = params.shingle_size, params.winnow_window
    prints = {f.path: prints_of(tokens[f.path], k, w) for f in files}
    score = SCORES["ref-coverage"]
    cross = [score(prints[a.path], prints[b.path], k) for a in files for b in files if a.case != b.case]
    negatives = [f for f in files if f.label == "non-plagiarized"]
    within = [
        score(prints[a.path], prints[b.path], k)
        for a in negatives for b in negatives
        if a.case == b.case and a is not b and {a.submission, b.submission} != {"13", "15"}
    ]
    t = params.threshold
    print(f"   stricter checks: any file as reference vs any file of another case: {sum(v >= t for v in cross)}"
          f"/{len(cross)} flagged (highest {max(cross):.3f}); non-plagiarized vs non-plagiarized of the same case "
          f"(13/15 left out): {sum(v >= t for v in within)}/{len(within)} flagged (highest {max(within):.3f})")


def print_k_for_reordering(files: list[CodeFile], params: CodeMatchParams) -> None:
    w, t = params.winnow_window, params.threshold
    print(f"\n== Reordered statements (L5) and k: ref-coverage, w={w}; at the chosen threshold {t}, and at each k's")
    print("   best safe threshold (precision >= 0.95, no cross-case pair)")
    widths = [2, 5, 5, 6, 6, 5, 9, 6, 5]
    print(_row(["k", "L5", "L4", "prec", "FPrate", "cross", "best-thr", "L5", "macro"], widths))
    tokens = {f.path: variant_tokens(f.text, "default") for f in files}
    for k in KS:
        scores = pair_scores(files, tokens, k, w, "ref-coverage")
        at = outcome(scores, t)
        b = best_outcome(scores)
        print(_row([k, f"{at.level_recall['L5']:.2f}", f"{at.level_recall['L4']:.2f}", f"{at.precision:.3f}",
                    f"{at.fp_rate:.3f}", at.flagged_cross, "-" if b is None else f"{b.threshold:.3f}",
                    "-" if b is None else f"{b.level_recall['L5']:.2f}", "-" if b is None else f"{b.macro_recall:.2f}"],
                   widths))


def print_speed(files: list[CodeFile], target_bytes: int = 8 << 20) -> None:
    """End-to-end tokenizer speed against Pygments' lexer alone, CPU time, best of 3
    (interleaved, so that load from other processes hits both alike)."""
    from pygments.lexers import get_lexer_by_name

    unit = "\n".join(f.text for f in files)
    big = unit * max(1, target_bytes // len(unit.encode("utf-8")))
    size = len(big.encode("utf-8")) / 1e6
    lexer = get_lexer_by_name("java")
    code_tokens(big[:10000], "java")  # lexer loaded, caches warm
    ours, bare = [], []
    kept = 0
    for _ in range(3):
        start = time.process_time()
        kept = len(_java_tokens(big))
        ours.append(time.process_time() - start)
        start = time.process_time()
        for _token in lexer.get_tokens_unprocessed(big):
            pass
        bare.append(time.process_time() - start)
    print(f"\n== Tokenizer speed on {size:.1f} MB of Java (the sample concatenated; {kept:,} kept tokens): "
          f"{size / min(ours):.2f} MB/s, {kept / min(ours) / 1e6:.2f} M kept tokens/s; Pygments' lexer alone "
          f"{size / min(bare):.2f} MB/s (CPU time, best of 3)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, help="the ir-plag-java-sample folder")
    parser.add_argument("--quick", action="store_true", help="only the chosen operating point and the speed")
    args = parser.parse_args()
    files = load_corpus(args.corpus)
    counts = {lv: sum(f.level == lv for f in files) for lv in LEVELS}
    print(f"{len(files)} files: {sum(f.is_reference for f in files)} originals, "
          f"{sum(f.label == 'non-plagiarized' for f in files)} non-plagiarized, plagiarized {counts}")
    if not args.quick:
        print_search(files)
        print_grid(files, CODE_MATCH)
        print_key_robustness(files, CODE_MATCH)
    print_operating_point(files, CODE_MATCH, [0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0])
    if not args.quick:
        print_k_for_reordering(files, CODE_MATCH)
    print_speed(files)


if __name__ == "__main__":
    main()
