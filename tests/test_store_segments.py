"""Segment files of the embedded store: build, write, map, look up, merge (streamed in
pieces, tombstones applied), and refusals of files that are not whole segments."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from leakwatch.store import segments as seg


def doc_part(rng: np.random.Generator, doc_key: int, first_pid: int, n_passages: int,
             shared: np.ndarray) -> seg.Postings:
    """One document's entries: random fingerprints (some from ``shared``) and postings."""
    n_fp = int(rng.integers(5, 30))
    hashes = rng.integers(0, 2**63, n_fp, dtype=np.uint64) * np.uint64(2)
    hashes[: min(3, n_fp)] = shared[: min(3, n_fp)]  # keys many documents have
    n_post = n_passages * 4
    keys = rng.integers(0, 2**63, n_post, dtype=np.uint64)
    keys[:2] = shared[:2]
    return seg.Postings({
        "fp_hash": hashes.astype("<u8"), "fp_doc": np.full(n_fp, doc_key, "<u4"),
        "fp_pos": np.arange(n_fp, dtype="<u4"), "fp_start": np.arange(n_fp, dtype="<u4") * 7,
        "fp_end": np.arange(n_fp, dtype="<u4") * 7 + 30,
        "band_key": keys.astype("<u8"), "band_pid": (first_pid + np.arange(n_post) // 4).astype("<u4"),
        "doc_key": np.array([doc_key], "<u4"), "doc_first_pid": np.array([first_pid], "<u4"),
        "doc_passages": np.array([n_passages], "<u4"),
    })


def rows(p: seg.Postings) -> dict[str, list[tuple[int, ...]]]:
    """A segment's entries as sorted tuples, family by family (order within a key aside)."""
    fp = sorted(zip(*(p[n].tolist() for n in seg.FP_FIELDS), strict=True))
    owner = seg.owners(np.asarray(p["doc_first_pid"]), np.asarray(p["band_pid"]))
    band = sorted(zip(p["band_key"].tolist(), p["band_pid"].tolist(), p["doc_key"][owner].tolist(), strict=True))
    return {"fp": fp, "band": band, "docs": sorted(zip(*(p[n].tolist() for n in seg.DOC_FIELDS), strict=True))}


@pytest.fixture()
def parts() -> list[seg.Postings]:
    rng = np.random.default_rng(3)
    shared = rng.integers(0, 2**63, 4, dtype=np.uint64)
    out, pid = [], 0
    for doc_key in range(1, 41):
        n = int(rng.integers(1, 6))
        out.append(doc_part(rng, doc_key, pid, n, shared))
        pid += n
    return out


def test_written_segment_reads_back_sorted_and_looks_up(tmp_path: Path, parts: list[seg.Postings]) -> None:
    built = seg.build(parts)
    path = tmp_path / f"a{seg.SUFFIX}"
    size = seg.write(path, built)
    assert path.stat().st_size == size and (path.stat().st_mode & 0o777) == 0o600
    opened = seg.Segment.open(path)
    p = opened.postings
    for key in ("fp_hash", "band_key", "doc_first_pid"):
        assert np.all(p[key][1:] >= p[key][:-1])
    assert rows(p) == rows(built)
    queries = np.concatenate([p["band_key"][[0, 5, 5, 17]], np.array([1, 2], dtype=np.uint64)])
    qi, at = seg.ranges(p["band_key"], queries)
    expected = sorted((i, j) for i, q in enumerate(queries.tolist())
                      for j in np.nonzero(p["band_key"] == q)[0].tolist())
    assert sorted(zip(qi.tolist(), at.tolist(), strict=True)) == expected


@pytest.mark.parametrize("chunk", [7, 1000, 10**7])
def test_merge_in_pieces_equals_one_sort_and_drops_removed(tmp_path: Path, parts: list[seg.Postings],
                                                           chunk: int) -> None:
    inputs = []
    for i in range(0, len(parts), 10):
        path = tmp_path / f"in{i}{seg.SUFFIX}"
        seg.write(path, seg.build(parts[i:i + 10]))
        inputs.append(seg.Segment.open(path))
    removed = np.array([3, 11, 12, 40], dtype=np.int64)
    out = tmp_path / f"out{seg.SUFFIX}"
    counts = seg.merge(inputs, removed, out, chunk=chunk)
    merged = seg.Segment.open(out).postings
    kept = seg.build([p for p in parts if int(p["doc_key"][0]) not in set(removed.tolist())])
    assert rows(merged) == rows(kept)
    assert np.all(merged["fp_hash"][1:] >= merged["fp_hash"][:-1])
    assert np.all(merged["band_key"][1:] >= merged["band_key"][:-1])
    assert counts == {"fingerprints": kept.n_fingerprints, "postings": kept.n_postings,
                      "documents": kept.n_documents, "bytes": out.stat().st_size}


def test_fold_and_unfold_bands_are_inverse_and_keep_bands_apart() -> None:
    keys = np.random.default_rng(5).integers(-2**63, 2**63 - 1, (6, 37), dtype=np.int64)
    folded = seg.fold_bands(keys)
    assert np.array_equal(seg.unfold_bands(folded, 37), keys)
    same = np.repeat(keys[:, :1], 37, axis=1)  # one key in every band: 37 different look-up keys
    assert np.unique(seg.fold_bands(same)).size == same.size


@pytest.mark.parametrize("damage", ["magic", "truncated", "header", "layout"])
def test_a_file_that_is_not_a_whole_segment_is_refused(tmp_path: Path, parts: list[seg.Postings],
                                                        damage: str) -> None:
    path = tmp_path / f"a{seg.SUFFIX}"
    seg.write(path, seg.build(parts))
    data = bytearray(path.read_bytes())
    if damage == "magic":
        data[:5] = b"PK\x03\x04x"
    elif damage == "truncated":
        data = data[: len(data) - 100]
    elif damage == "header":
        data[20:30] = b"}}}}}}}}}}"
    else:
        data = bytearray(bytes(data).replace(b'"<u4"', b'"|O8"', 1))
    path.write_bytes(bytes(data))
    with pytest.raises(seg.SegmentError):
        seg.Segment.open(path)
