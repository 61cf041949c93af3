"""The paraphrase stage and its learned scorer."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from leakwatch.cli import cli
from leakwatch.detect.paraphrase import FEATURES, Fragment, align_sentences, sentence_bounds
from leakwatch.detect.paraphrase_scorer import LogisticScorer, ModelError, load_default_scorer
from leakwatch.text import tokenize
from tests.conftest import make_text

ENGLISH = (
    "The committee reviewed the quarterly forecast and found that revenue from the northern region had "
    "fallen for the third time in a row. Managers blamed the delay of the new distribution centre, which "
    "was meant to open in spring but is still waiting for its permits. The finance team proposed moving "
    "two large customers to the southern warehouse until the permits arrive. Sales leaders objected that "
    "the longer delivery times would breach the service agreements signed last year. After a long "
    "debate the committee asked for a cost comparison of both options before the next meeting. It also "
    "decided to freeze hiring in the northern region until the centre opens. The chief executive asked "
    "that customers be told about the delay in person rather than by letter."
)
# The same content reworded: synonyms, reordered clauses, dropped and added words.
REWORDED = (
    "Reviewing the quarterly forecast, the committee found northern region revenue had dropped for a "
    "third consecutive time. The delay of the new distribution centre was blamed by managers; it should "
    "have opened in spring but still waits for permits. Moving two big customers to the southern "
    "warehouse until permits arrive was proposed by the finance team. Sales leaders objected because "
    "longer delivery times would breach service agreements signed last year. Following a long debate, "
    "the committee requested a cost comparison of the two options ahead of the next meeting. It further "
    "decided on a hiring freeze in the northern region until the centre opens."
)
UNRELATED = (
    "The orchestra opened its season with a programme of late romantic symphonies. Critics praised the "
    "new conductor for the clarity of the strings and the restraint of the brass. The hall, renovated "
    "over the summer, now has seats that are wider and an acoustic canopy above the stage. Tickets for "
    "the winter concerts sold out within a day, and the board is considering a second series of matinee "
    "performances for families with young children. Several soloists will visit in the spring."
)


def test_sentence_bounds_skip_short_sentences() -> None:
    text = "Intro. " + ENGLISH
    tokens = tokenize(text)
    bounds = sentence_bounds(text, tokens)
    assert bounds[0] == 0 and bounds[-1] == len(tokens)
    assert np.all(np.diff(bounds) >= 4)  # "Intro." joined to the next sentence


def test_reworded_passage_aligns_and_unrelated_does_not() -> None:
    filler = make_text(3, 200)
    d_text = filler + "\n\n" + REWORDED + "\n\n" + make_text(4, 150)
    s_text = make_text(5, 300) + "\n\n" + ENGLISH + "\n\n" + make_text(6, 100)
    frags = align_sentences(d_text, tokenize(d_text), s_text, tokenize(s_text))
    assert len(frags) == 1
    d_tok, s_tok = tokenize(d_text), tokenize(s_text)
    d0, d1 = d_tok.char_span(frags[0].d_word_start, frags[0].d_word_end)
    s0, s1 = s_tok.char_span(frags[0].s_word_start, frags[0].s_word_end)
    r0, e0 = d_text.index(REWORDED), s_text.index(ENGLISH)
    assert d0 >= r0 - 1 and d1 <= r0 + len(REWORDED)
    assert min(d1, r0 + len(REWORDED)) - max(d0, r0) > 0.8 * len(REWORDED)
    assert min(s1, e0 + len(ENGLISH)) - max(s0, e0) > 0.7 * len(ENGLISH)
    u_text = UNRELATED + " " + make_text(7, 100)
    assert align_sentences(u_text, tokenize(u_text), s_text, tokenize(s_text)) == []


def test_reworded_excerpt_is_reported_through_the_cli(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text(make_text(21, 400) + "\n\n" + ENGLISH + "\n\n" + make_text(22, 300), encoding="utf-8")
    store = tmp_path / "store"
    runner = CliRunner()
    assert runner.invoke(cli, ["index", "add", str(secret), "--store", str(store)]).exit_code == 0
    deliverable = tmp_path / "memo.txt"
    deliverable.write_text(UNRELATED + "\n\n" + REWORDED + "\n", encoding="utf-8")
    result = runner.invoke(cli, ["scan", str(deliverable), "--store", str(store), "--format", "json"])
    assert result.exit_code == 1, result.output
    [finding] = json.loads(result.stdout)["findings"]
    assert finding["verified"] is True
    assert 0.0 < finding["scores"]["confidence"] <= 1.0
    text = deliverable.read_text(encoding="utf-8")
    r0 = text.index(REWORDED)
    d = finding["deliverable"]
    assert min(d["end"], r0 + len(REWORDED)) - max(d["start"], r0) > 0.8 * len(REWORDED)
    clean = tmp_path / "clean.txt"
    clean.write_text(UNRELATED, encoding="utf-8")
    result = runner.invoke(cli, ["scan", str(clean), "--store", str(store)])
    assert result.exit_code == 0


def test_paraphrase_stage_finds_what_exact_runs_miss(tmp_path: Path) -> None:
    """Word order changed everywhere: no 5-word run survives, only the paraphrase stage sees it."""
    sentences = re.split(r"(?<=\.) ", ENGLISH)
    shuffled = " ".join(" ".join(reversed(s.rstrip(".").split())) + "." for s in sentences)
    secret = tmp_path / "secret.txt"
    secret.write_text(make_text(23, 300) + "\n\n" + ENGLISH, encoding="utf-8")
    store = tmp_path / "store"
    runner = CliRunner()
    assert runner.invoke(cli, ["index", "add", str(secret), "--store", str(store)]).exit_code == 0
    deliverable = tmp_path / "d.txt"
    deliverable.write_text(UNRELATED + "\n\n" + shuffled, encoding="utf-8")
    result = runner.invoke(cli, ["scan", str(deliverable), "--store", str(store), "--format", "json"])
    [finding] = json.loads(result.stdout)["findings"]
    assert finding["method"] == "paraphrase"
    assert finding["scores"]["resemblance"] < 0.05
    assert finding["scores"]["confidence"] >= load_default_scorer().threshold


def test_shipped_model_loads_from_json_and_scores() -> None:
    scorer = load_default_scorer()
    assert scorer.features == FEATURES
    assert scorer.threshold == 0.5  # a calibrated probability: more likely a copy than not
    cv = scorer.metadata["cross_validation"]
    assert cv["roc_auc"] > 0.9 and cv["brier"] < 0.1
    # log_matched_words, cosine, overlap_deliverable, order, bigrams_source, specific_*
    strong = np.array([np.log1p(80), 0.8, 0.9, 0.6, 0.5, 0.85, 0.7])
    weak = np.array([np.log1p(20), 0.26, 0.3, 0.1, 0.0, 0.2, 0.1])
    p_strong, p_weak = scorer.probability(np.vstack([strong, weak]))
    assert p_strong > scorer.threshold > p_weak


def test_model_file_is_plain_json_without_pickle() -> None:
    path = Path(__file__).resolve().parents[1] / "leakwatch" / "detect" / "paraphrase_scorer.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert set(data) >= {"features", "mean", "scale", "coef", "intercept", "threshold"}
    package = Path(__file__).resolve().parents[1] / "leakwatch"
    for source in package.rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(import pickle|from pickle|import joblib|import dill)", text, re.M), source


def test_model_with_other_features_is_refused() -> None:
    data = load_default_scorer().to_dict()
    data["features"] = [*data["features"][:-1], "something_else"]
    with pytest.raises(ModelError):
        LogisticScorer.from_dict(data)


def test_fragment_dataclass_is_word_ranges() -> None:
    rng = random.Random(1)
    f = Fragment(1, 5, 2, 9, rng.random(), 2)
    assert f.d_word_end > f.d_word_start and f.s_word_end > f.s_word_start


def _shuffled_sentences(text: str, seed: int) -> str:
    """Every sentence with its words in another order: no 5-word run of ``text`` survives."""
    rng = random.Random(seed)
    out = []
    for sentence in re.split(r"(?<=\.) ", text):
        words = sentence.rstrip(".").split()
        rng.shuffle(words)
        out.append(" ".join(words) + ".")
    return " ".join(out)


def test_stems_join_word_forms_and_keep_function_words() -> None:
    from leakwatch.detect.paraphrase import stemmed
    from leakwatch.text import content_mask

    text = "The explorers explored it and the explorer was exploring"
    tokens = tokenize(text)
    stems = stemmed(text, tokens)
    assert np.array_equal(stems.starts, tokens.starts) and np.array_equal(stems.ends, tokens.ends)
    ids = stems.ids.tolist()
    assert ids[1] == ids[2] == ids[6] == ids[8]  # explorers, explored, explorer, exploring
    function = ~content_mask(tokens.ids)
    assert np.array_equal(stems.ids[function], tokens.ids[function])  # "the", "it", "and", "was"
    assert np.all(content_mask(stems.ids) == content_mask(tokens.ids))
    assert len(stemmed("", tokenize(""))) == 0


def test_template_windows_are_those_matching_more_documents_than_the_limit() -> None:
    from leakwatch.detect.confidential import template_words

    # window starting at word 0 matched 7 documents, the one at 20 matched 2 (twice one of them)
    starts = np.array([0, 0, 0, 0, 0, 0, 0, 20, 20, 20])
    docs = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 9])
    mask = template_words(starts, docs, 80, 200, limit=5)
    assert mask[:80].all() and not mask[80:].any()
    assert not template_words(starts, docs, 80, 200, limit=7).any()
    assert not template_words(np.zeros(0, np.int64), np.zeros(0, np.int64), 80, 10, 5).any()


def test_reworded_text_many_registered_documents_share_is_not_an_alarm(tmp_path: Path) -> None:
    """A reworded salutation or letterhead that a tenth of the index shares is boilerplate,
    as verbatim text in that many documents is; the same rewording of one document is a copy."""
    runner = CliRunner()
    common, rare = tmp_path / "common", tmp_path / "rare"
    for n in range(8):
        # Eight documents open with the same content, each reworded its own way.
        (common.mkdir(exist_ok=True), (common / f"doc{n}.txt").write_text(
            _shuffled_sentences(ENGLISH, n) + "\n\n" + make_text(60 + n, 300), encoding="utf-8"))
        (rare.mkdir(exist_ok=True), (rare / f"doc{n}.txt").write_text(
            (_shuffled_sentences(ENGLISH, n) + "\n\n" if n == 0 else "") + make_text(60 + n, 300),
            encoding="utf-8"))
    deliverable = tmp_path / "memo.txt"
    deliverable.write_text(_shuffled_sentences(ENGLISH, 99) + "\n\n" + UNRELATED, encoding="utf-8")
    found = {}
    for name, folder in (("common", common), ("rare", rare)):
        store = tmp_path / f"store-{name}"
        assert runner.invoke(cli, ["index", "add", str(folder), "--store", str(store)]).exit_code == 0
        result = runner.invoke(cli, ["scan", str(deliverable), "--store", str(store), "--format", "json"])
        found[name] = json.loads(result.stdout)["findings"]
    assert [f["method"] for f in found["rare"]] == ["paraphrase"]
    assert found["common"] == []


def test_sentence_terms_are_each_sentences_distinct_content_words() -> None:
    from leakwatch.detect.paraphrase import _sentence_terms
    from leakwatch.text import content_mask

    text = "Intro. " + ENGLISH + " " + UNRELATED + " The the the."
    tokens = tokenize(text)
    bounds = sentence_bounds(text, tokens)
    flat = _sentence_terms(tokens.ids, bounds)
    assert flat.count == len(bounds) - 1
    content = content_mask(tokens.ids)
    for n in range(flat.count):  # the reference: one np.unique per sentence
        a, b = bounds[n], bounds[n + 1]
        assert np.array_equal(flat.terms[flat.rows == n], np.unique(tokens.ids[a:b][content[a:b]]))
    assert flat.sizes().sum() == flat.terms.shape[0]


@pytest.mark.parametrize("filler_words", [60, 0])
def test_a_passage_condensing_a_whole_source_is_reported_as_its_summary(tmp_path: Path, filler_words: int) -> None:
    """One reworded sentence from each part of a report, in a row: a summary of all of it.
    The same sentences from a source that holds only them are a reworded copy."""
    sentences = re.split(r"(?<=\.) ", ENGLISH)
    source = "\n\n".join(s + (" " + make_text(100 + i, filler_words) if filler_words else "")
                         for i, s in enumerate(sentences))
    if not filler_words:
        source += "\n\n" + make_text(99, 600)  # the copied part is a small share of the source
    summary = " ".join(_shuffled_sentences(s, i) for i, s in enumerate(sentences))
    (tmp_path / "report.txt").write_text(source, encoding="utf-8")
    deliverable = tmp_path / "memo.txt"
    deliverable.write_text(UNRELATED + "\n\n" + summary + "\n\n" + make_text(7, 100), encoding="utf-8")
    runner = CliRunner()
    store = str(tmp_path / "store")
    assert runner.invoke(cli, ["index", "add", str(tmp_path / "report.txt"), "--store", store]).exit_code == 0
    result = runner.invoke(cli, ["scan", str(deliverable), "--store", store, "--format", "json"])
    [finding] = json.loads(result.stdout)["findings"]
    text = deliverable.read_text(encoding="utf-8")
    start = text.index(summary)
    d = finding["deliverable"]
    assert min(d["end"], start + len(summary)) - max(d["start"], start) > 0.8 * len(summary)
    if filler_words:
        assert finding["method"] == "summary"
        # the whole document: from its first word to its last (the final full stop is no word)
        assert (finding["source"]["start"], finding["source"]["end"]) == (0, len(source) - 1)
        assert finding["kind"] == "confidential-excerpt"  # a summary is no near-duplicate
        # the evidence: each fragment it joined, inside its deliverable span, on its own part of the source
        parts = finding["parts"]
        assert len(parts) >= 2 and all(d["start"] <= p["start"] < p["end"] <= d["end"] for p in parts)
        assert all(0 <= p["source_start"] < p["source_end"] <= len(source) for p in parts)
        assert parts[-1]["source_start"] - parts[0]["source_start"] > len(source) // 2
        text_report = runner.invoke(cli, ["scan", str(deliverable), "--store", store]).stdout
        assert f"summary of {len(parts)} part(s)" in text_report
        html = runner.invoke(cli, ["scan", str(deliverable), "--store", store, "--format", "html"]).stdout
        assert html.count(" from source ") == len(parts)
    else:
        assert "parts" not in finding
        assert finding["method"] == "paraphrase"
        assert finding["source"]["end"] <= source.index(sentences[-1]) + len(sentences[-1])


def test_source_span_runs_over_best_matches_and_the_matches_continuing_them() -> None:
    from leakwatch.detect.paraphrase import _source_span

    bounds = np.arange(0, 1001, 10)  # source sentences of 10 words each
    # deliverable sentences 0-2 (60 words) are best matched by source sentences 10-12;
    # 9 and 13 are weaker matches next to them, 30 a weaker match on the same topic far away
    ci = np.array([0, 0, 1, 1, 2, 2, 2])
    cj = np.array([10, 30, 11, 9, 12, 13, 40])
    cos = np.array([0.8, 0.4, 0.7, 0.3, 0.9, 0.5, 0.3])
    assert _source_span(ci, cj, cos, bounds, 60) == (9, 14)
    # a weaker match after a gap of one unmatched sentence stays out
    assert _source_span(np.array([0, 0]), np.array([5, 7]), np.array([0.9, 0.5]), bounds, 20) == (5, 6)
    # the core itself keeps its gaps: two best matches apart span what lies between
    assert _source_span(np.array([0, 1]), np.array([5, 8]), np.array([0.9, 0.5]), bounds, 20) == (5, 9)


def test_source_span_grows_only_while_shorter_than_the_deliverable_side() -> None:
    from leakwatch.detect.paraphrase import SOURCE_GROWTH, _source_span

    bounds = np.arange(0, 1001, 10)
    # one deliverable sentence of 20 words, best matched by source sentence 10, and a run
    # of weaker matches 6-9 and 11-14 around it: the span stops growing once it holds
    # SOURCE_GROWTH times the deliverable's words (25 words: three 10-word sentences)
    ci = np.zeros(9, dtype=np.int64)
    cj = np.arange(6, 15)
    cos = np.where(cj == 10, 0.9, 0.3)
    s0, s1 = _source_span(ci, cj, cos, bounds, 20)
    assert (s0, s1) == (8, 11) and bounds[s1] - bounds[s0] >= SOURCE_GROWTH * 20
    # a longer deliverable side lets the same matches in
    assert _source_span(ci, cj, cos, bounds, 200) == (6, 15)


def test_the_source_span_of_a_reworded_paragraph_stays_on_the_paragraph_it_came_from() -> None:
    """Past one unrelated sentence after the copied paragraph, the source says its last
    point again in other words: the deliverable's last sentence resembles that too, more
    weakly, but the source span stops where the paragraph ends."""
    sentences = re.split(r"(?<=\.) ", ENGLISH)
    paragraph = " ".join(sentences[:4])
    echo = "Sales leaders warned again that longer delivery times breach the agreements with customers."
    source = paragraph + "\n\n" + make_text(41, 8) + "\n\n" + echo + "\n\n" + make_text(42, 150)
    d_text = make_text(43, 120) + "\n\n" + " ".join(_shuffled_sentences(s, i) for i, s in enumerate(sentences[:4]))
    [fragment] = align_sentences(d_text, tokenize(d_text), source, tokenize(source))
    assert fragment.s_word_end == len(tokenize(paragraph))


def test_range_cosine_equals_the_dense_sum_of_the_sentence_vectors() -> None:
    from scipy import sparse

    from leakwatch.detect.paraphrase import _range_cosine

    rng = np.random.default_rng(7)
    for _ in range(30):
        dm = sparse.random(12, 40, density=0.15, format="csr", random_state=rng)
        sm = sparse.random(9, 40, density=0.15, format="csr", random_state=rng)
        d0, s0 = int(rng.integers(0, 11)), int(rng.integers(0, 8))
        d1, s1 = int(rng.integers(d0 + 1, 13)), int(rng.integers(s0 + 1, 10))
        d_vec = np.asarray(dm[d0:d1].sum(axis=0)).ravel()
        s_vec = np.asarray(sm[s0:s1].sum(axis=0)).ravel()
        denom = float(np.linalg.norm(d_vec) * np.linalg.norm(s_vec)) or 1.0
        assert _range_cosine(dm, d0, d1, sm, s0, s1) == pytest.approx(float(d_vec @ s_vec) / denom, abs=1e-12)


def test_fragment_edges_keep_a_few_unshared_words_of_their_sentences() -> None:
    from leakwatch.detect.paraphrase import EDGE_WORDS, _trim

    ids = tokenize(" ".join(f"term{chr(97 + i % 26)}{chr(97 + i // 26)}" for i in range(40))).ids  # 40 distinct words
    # A sentence range of 40 words whose first and last shared content words sit 3 words in
    # from either end: the copy is the whole range (its opening and closing words included).
    assert _trim(ids, 0, 40, ids[3:37]) == (0, 40)
    # Shared words only from the middle, further in than EDGE_WORDS: trimmed to them.
    inner = ids[EDGE_WORDS + 5 : 40 - EDGE_WORDS - 5]
    lo, hi = _trim(ids, 0, 40, inner)
    assert (lo, hi) == (EDGE_WORDS + 5, 40 - EDGE_WORDS - 5)


def test_a_redacted_report_keeps_a_summarys_parts() -> None:
    from leakwatch.model import Finding, Scores, Severity, SourceRef, Span
    from leakwatch.report.redact import redact_finding

    parts = [{"start": 10, "end": 90, "source_start": 0, "source_end": 120, "method": "paraphrase", "matched_words": 9}]
    f = Finding("f1", "confidential-excerpt", Severity.MEDIUM, "memo.txt", "0" * 64, Span(10, 90),
                SourceRef("d1", "report.txt", "client", Span(0, 2000)), Scores(0.1, 0.1, 0.1, 30, 0.8),
                extra={"method": "summary", "parts": parts})
    assert redact_finding(f).extra["parts"] == parts  # offsets only: no text of either document
