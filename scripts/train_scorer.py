"""Train the learned scoring stage for reworded passages and write it as JSON.

Usage (from the repository root, with ../shared present):

    python scripts/train_scorer.py \
        --pan ../shared/corpora/pan13-text-alignment-sample \
        --labels ../shared/corpora/clough-stevenson-short-answers-sample \
        --negatives ../shared/corpora/longform-public-domain/state_union

Candidates are the fragments the paraphrase stage proposes with its relaxed
gates. PAN fragments are labelled by the annotation (a fragment that overlaps an
annotated case on both sides is a copy; one on a listed pair that overlaps none, or
on a no-reuse pair, is not); Clough & Stevenson fragments by their document's label
(cut / light / heavy vs non); fragments between unrelated documents of one genre
(State of the Union addresses of other years) are negatives. Pairs outside the listed ones are not used: their
reuse is not annotated. Figures are cross-validated with folds grouped by
deliverable, so no document is scored by a model that saw it.
"""

from __future__ import annotations

import argparse
import itertools
import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_score, recall_score, roc_auc_score
from sklearn.model_selection import GroupKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from leakwatch.config import ExtractLimits
from leakwatch.detect.paraphrase import CANDIDATE_SETTINGS, FEATURES, align_sentences_all, fragment_features, stemmed
from leakwatch.detect.scorer import MODEL_RESOURCE, LogisticScorer
from leakwatch.evaluate.labels import POSITIVE, read_labelled_corpus
from leakwatch.evaluate.measures import Passage, detects
from leakwatch.evaluate.pan import read_pan_corpus
from leakwatch.extract import extract_file
from leakwatch.fingerprint import shingle_hashes
from leakwatch.text import tokenize

SHINGLE = 5
MIN_MATCHED = 10
# Fragments whose shingles mostly match are verbatim copies: the exact stage reports
# them and the detector drops a paraphrase fragment that exact alignments explain, so
# the scorer never decides them. Left in, verbatim quotations between unrelated
# documents (a salutation every address shares) are "negatives" that look like copies.
VERBATIM_JACCARD = 0.5
# Same-genre negative pairs: each document against those this many places later.
NEGATIVE_OFFSETS = (7, 13, 29)
# The decision threshold is chosen on the cross-validated probabilities: the lowest
# one that keeps the false-alarm rate on negatives at or under this rate.
MAX_FALSE_ALARMS = 0.03


def _read(path: Path) -> str:
    return extract_file(path, ExtractLimits())[1].text


def _fragments(d_text: str, s_text: str):  # type: ignore[no-untyped-def]
    d_tok, s_tok = tokenize(d_text), tokenize(s_text)
    d_sh, s_sh = shingle_hashes(d_tok.ids, SHINGLE), shingle_hashes(s_tok.ids, SHINGLE)
    d_stems, s_stems = stemmed(d_text, d_tok), stemmed(s_text, s_tok)
    for frag in align_sentences_all(d_text, d_stems, s_text, s_stems, CANDIDATE_SETTINGS):
        x = fragment_features(frag, d_stems.ids, s_stems.ids, d_sh, s_sh, SHINGLE)
        if np.expm1(x[0]) >= MIN_MATCHED and x[FEATURES.index("shingle_jaccard")] < VERBATIM_JACCARD:
            yield frag, x, d_tok, s_tok


def pan_samples(root: Path) -> tuple[list[np.ndarray], list[int], list[str]]:
    xs, ys, groups = [], [], []
    for pair in read_pan_corpus(root):
        d_text, s_text = _read(root / "susp" / pair.susp), _read(root / "src" / pair.src)
        for frag, x, d_tok, s_tok in _fragments(d_text, s_text):
            d0, d1 = d_tok.char_span(frag.d_word_start, frag.d_word_end)
            s0, s1 = s_tok.char_span(frag.s_word_start, frag.s_word_end)
            det = Passage(pair.susp, pair.src, d0, d1, s0, s1)
            xs.append(x)
            ys.append(int(any(detects(c, det) for c in pair.cases)))
            groups.append("pan:" + pair.susp)
    return xs, ys, groups


def labels_samples(root: Path) -> tuple[list[np.ndarray], list[int], list[str]]:
    sources, files = read_labelled_corpus(root)
    xs, ys, groups = [], [], []
    source_texts = {p.name.split("_")[-1]: _read(p) for p in sources}  # "taska.txt" -> text
    for f in files:
        s_text = source_texts.get(f.path.name.split("_")[-1])
        if s_text is None:
            continue
        for _, x, _, _ in _fragments(_read(f.path), s_text):
            xs.append(x)
            ys.append(int(f.category in POSITIVE))
            groups.append("labels:" + f.path.name)
    return xs, ys, groups


def negative_samples(root: Path) -> tuple[list[np.ndarray], list[int], list[str]]:
    """Fragments between documents that share a genre but no copied text: each file
    against those NEGATIVE_OFFSETS places later (other years, usually other authors)."""
    files = sorted(p for p in root.rglob("*.txt"))
    texts = {p: _read(p) for p in files}
    xs, ys, groups = [], [], []
    for i, offset in itertools.product(range(len(files)), NEGATIVE_OFFSETS):
        d_path, s_path = files[i], files[(i + offset) % len(files)]
        for _, x, _, _ in _fragments(texts[d_path], texts[s_path]):
            xs.append(x)
            ys.append(0)
            groups.append("negatives:" + d_path.name)
    return xs, ys, groups


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pan", type=Path, required=True)
    parser.add_argument("--labels", type=Path, required=True)
    parser.add_argument("--negatives", type=Path, required=True,
                        help="folder of same-genre documents without reuse (e.g. longform-public-domain/state_union)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "leakwatch" / "detect"
                        / MODEL_RESOURCE)
    args = parser.parse_args()

    px, py, pg = pan_samples(args.pan)
    lx, ly, lg = labels_samples(args.labels)
    nx, ny, ng = negative_samples(args.negatives)
    x, y, groups = np.array(px + lx + nx), np.array(py + ly + ny), np.array(pg + lg + ng)
    source = np.array([g.split(":")[0] for g in groups])

    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
    cv_prob = cross_val_predict(model, x, y, groups=groups, cv=GroupKFold(n_splits=5), method="predict_proba")[:, 1]
    negatives = y == 0
    threshold = next(
        (t for t in np.round(np.arange(0.5, 0.99, 0.01), 2) if (cv_prob[negatives] >= t).mean() <= MAX_FALSE_ALARMS),
        0.99,
    )
    figures = {}
    for name, mask in (("all", np.ones_like(y, dtype=bool)), ("pan", source == "pan"),
                       ("labels", source == "labels"), ("negatives", source == "negatives")):
        pred = cv_prob[mask] >= threshold
        both_classes = 0 < y[mask].sum() < mask.sum()
        figures[name] = {
            "samples": int(mask.sum()), "positives": int(y[mask].sum()),
            "false_positive_rate": round(float(pred[y[mask] == 0].mean()), 4) if (y[mask] == 0).any() else None,
            "roc_auc": round(float(roc_auc_score(y[mask], cv_prob[mask])), 4) if both_classes else None,
            "precision": round(float(precision_score(y[mask], pred, zero_division=1.0)), 4),
            "recall": round(float(recall_score(y[mask], pred, zero_division=1.0)), 4),
        }
    model.fit(x, y)
    scaler, logistic = model[0], model[1]
    scorer = LogisticScorer(
        features=FEATURES, mean=scaler.mean_, scale=scaler.scale_, coef=logistic.coef_[0],
        intercept=float(logistic.intercept_[0]), threshold=float(threshold),
        metadata={
            "trained": datetime.now(UTC).date().isoformat(),
            "scikit_learn": sklearn.__version__,
            "corpora": [args.pan.name, args.labels.name, args.negatives.name],
            "candidates": f"paraphrase.CANDIDATE_SETTINGS fragments with at least {MIN_MATCHED} matched words"
                          f" and shingle Jaccard under {VERBATIM_JACCARD}",
            "cross_validation": {"folds": "GroupKFold(5) by deliverable", "threshold": float(threshold),
                                 "max_false_alarms": MAX_FALSE_ALARMS, **figures},
        },
    )
    args.out.write_text(json.dumps(scorer.to_dict(), indent=2) + "\n", encoding="utf-8")
    print(json.dumps(scorer.metadata["cross_validation"], indent=2))
    print("coefficients:", dict(zip(FEATURES, np.round(scorer.coef, 3).tolist(), strict=True)))
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
