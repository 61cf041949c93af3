"""The Redis store against a real redis-server: the SQLite store's behaviour, the same
findings, atomic changes, store copy both ways, and two daemons sharing one index.

A session fixture starts Debian's ``redis-server`` on a free loopback port (no
persistence, in a temporary folder) and stops it at the end; every test works under a
prefix of its own. Skipped, with the reason, without redis-server or redis-py.
"""

from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from leakwatch.config import Config, FingerprintParams
from leakwatch.fingerprint import band_keys
from leakwatch.keys import load_or_create_key
from leakwatch.store import FORMAT_VERSION, SQLiteStore, StoreError, open_store
from leakwatch.text import tokenize
from tests.conftest import make_text, make_vocabulary
from tests.redisserver import free_port
from tests.test_store_sqlite import DISTINCTIVE, new_doc, secret_prose

pytestmark = pytest.mark.redis

redis = pytest.importorskip("redis", reason="the redis client is not installed (pip install 'leakwatch[redis]')")

from leakwatch.store.redis import RedisStore, parse_url  # noqa: E402

FILLER = make_vocabulary(99)


# --- the server -------------------------------------------------------------------------

@pytest.fixture()
def url(redis_server: int) -> str:
    """A store URL under a prefix of this test's own."""
    return f"redis://127.0.0.1:{redis_server}/0?prefix=t{uuid.uuid4().hex[:12]}"


@pytest.fixture()
def key_file(tmp_path: Path) -> Path:
    return tmp_path / "host" / "leakwatch.key"


def same(a: Any, b: Any) -> bool:
    """Two records (dataclasses holding arrays) are equal."""
    if a is None or b is None:
        return a is b
    return all(np.array_equal(x, y) if isinstance(x, np.ndarray) else x == y
               for x, y in zip(dataclasses.astuple(a), dataclasses.astuple(b), strict=True))


def raw_values(store: RedisStore) -> dict[bytes, bytes]:
    """Every key of a store and its value(s), as bytes."""
    out: dict[bytes, bytes] = {}
    r = store._r
    for key in store.memory_keys():
        kind = r.type(key)
        if kind == b"string":
            out[key] = r.get(key)
        elif kind == b"hash":
            out[key] = b"".join(k + b"=" + v for k, v in sorted(r.hgetall(key).items()))
        elif kind == b"set":
            out[key] = b"".join(sorted(r.smembers(key)))
        else:
            raise AssertionError(f"unexpected {kind!r} at {key!r}")
    return out


# --- opening, refusing, the key ---------------------------------------------------------

def test_url_prefix_and_location(redis_server: int) -> None:
    client, prefix, location = parse_url(f"redis://:s3cret@127.0.0.1:{redis_server}/2?prefix=acme")
    assert prefix == "acme:" and "s3cret" not in location and location.endswith("/2?prefix=acme")
    assert "prefix" not in client
    assert parse_url("rediss://h:1/0")[1] == "leakwatch:"
    for bad in ("redis://h:1/x", "redis://h:1/0?prefix="):
        with pytest.raises(StoreError):
            parse_url(bad)


def test_missing_store_key_file_and_server(url: str, key_file: Path, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no fingerprint store") as err:
        RedisStore(url, key_file=key_file)
    assert "leakwatch index add" in str(err.value)
    assert not key_file.exists()
    with pytest.raises(StoreError, match="key_file"):
        open_store(Config(store=url), create=True)
    with pytest.raises(StoreError, match="cannot connect"):
        RedisStore(f"redis://127.0.0.1:{free_port()}/0", key_file=key_file, create=True)
    with pytest.raises(StoreError, match="unknown store backend"):
        open_store(Config(store="mongodb://h/0", key_file=str(key_file)))


def test_reopen_other_key_version_and_params(url: str, key_file: Path, tmp_path: Path) -> None:
    params = FingerprintParams(shingle_size=4, winnow_window=10, passage_stride=20)
    with RedisStore(url, params=params, key_file=key_file, create=True) as s:
        doc, _ = s.add_document(new_doc(s, secret_prose()))  # type: ignore[arg-type]
        key_id = s.key.key_id
        assert key_file.exists() and (key_file.stat().st_mode & 0o777) == 0o600
    with RedisStore(url, key_file=key_file) as s:
        assert s.params == params and s.key.key_id == key_id
        assert s.list_documents()[0].doc_id == doc.doc_id
    with RedisStore(url, params=FingerprintParams(), key_file=key_file, create=True) as s:
        assert s.params == params  # an existing store keeps its own parameters
    with pytest.raises(StoreError, match="Fingerprint parameters are fixed"):
        open_store(Config(store=url, key_file=str(key_file), fingerprint=FingerprintParams()))
    other = tmp_path / "other.key"
    load_or_create_key(other, create=True)
    with pytest.raises(StoreError, match="does not belong"):
        RedisStore(url, key_file=other)
    with pytest.raises(StoreError, match="not found"):
        RedisStore(url, key_file=tmp_path / "absent.key")
    assert not (tmp_path / "absent.key").exists()  # never silently created for an existing store
    client = redis.Redis.from_url(parse_url(url)[0])
    meta_key = parse_url(url)[1].encode() + b"meta"
    client.hset(meta_key, "format_version", "999")
    with pytest.raises(StoreError) as err:
        RedisStore(url, key_file=key_file)
    assert "999" in str(err.value) and str(FORMAT_VERSION) in str(err.value)
    client.hdel(meta_key, "format_version")
    with pytest.raises(StoreError, match="no format version"):
        RedisStore(url, key_file=key_file)


def test_prefixes_keep_stores_apart(redis_server: int, key_file: Path) -> None:
    base = f"redis://127.0.0.1:{redis_server}/0?prefix="
    with RedisStore(base + "one" + uuid.uuid4().hex[:6], key_file=key_file, create=True) as a, \
            RedisStore(base + "two" + uuid.uuid4().hex[:6], key_file=key_file, create=True) as b:
        a.add_document(new_doc(a, secret_prose()))  # type: ignore[arg-type]
        assert (a.count_documents(), b.count_documents()) == (1, 0)
        assert all(k.startswith(a._p) for k in a.memory_keys())


def test_redis_holds_no_key_and_no_text(url: str, key_file: Path) -> None:
    text = secret_prose(3, 900)
    with RedisStore(url, key_file=key_file, create=True) as s:
        s.add_document(new_doc(s, text))  # type: ignore[arg-type]
        s.write_note("allow:x", "{}")
        raw = b"\n".join(k + b" " + v for k, v in raw_values(s).items())
        assert s.key.secret not in raw and s.key.secret.hex().encode() not in raw
        for word in DISTINCTIVE:
            assert word.encode() not in raw
        words = text.split()
        for i in range(0, len(words) - 3, 50):
            assert " ".join(words[i:i + 3]).encode() not in raw
        # Unkeyed token ids (the tokenizer's own hashes) are not stored either.
        ids = tokenize(text).ids.astype("<u8")
        assert not any(ids[i:i + 1].tobytes() in raw for i in range(0, len(ids), 25))


# --- behaviour shared with the embedded store -------------------------------------------

def test_lookups_of_both_backends_are_identical(tmp_path: Path, url: str) -> None:
    """The same documents in both stores: every look-up a scan makes gives the same rows."""
    key = tmp_path / "leakwatch.key"
    params = FingerprintParams(winnow_window=1)  # every shingle stored: many high-bit hashes
    with SQLiteStore(tmp_path / "sq", params=params, key_file=key, create=True) as sq, \
            RedisStore(url, params=params, key_file=key, create=True) as rd:
        texts = [secret_prose(i, 700) for i in range(1, 5)]
        # Shared passages: the second document repeats part of the first.
        texts[1] = texts[0][:2000] + " " + texts[1]
        for store in (sq, rd):
            for i, text in enumerate(texts):
                store.add_document(new_doc(store, text, path=f"/docs/{i}.txt"))  # type: ignore[arg-type]
            store.add_allowed(new_doc(store, texts[3]).fingerprints.keyed[:40])  # type: ignore[arg-type]
        query = new_doc(sq, texts[0][500:3000] + " " + make_text(5, 300, FILLER)).fingerprints
        a, b = sq.lookup_fingerprints(query.keyed), rd.lookup_fingerprints(query.keyed)
        rows = [sorted(zip(h.hashes.tolist(), h.doc_keys.tolist(), h.positions.tolist(), h.char_starts.tolist(),
                           h.char_ends.tolist(), strict=True)) for h in (a, b)]
        assert rows[0] == rows[1] and len(rows[0]) > 100
        assert any(h >= 2**63 for h, *_ in rows[0])
        for bag, sigs in ((False, query.passages.signatures), (True, query.bag_signatures)):
            n_bands, n_rows = (sq.bag_lsh_bands, sq.bag_lsh_rows) if bag else (sq.lsh_bands, sq.lsh_rows)
            keys = band_keys(sigs, n_bands, n_rows)
            pa, pb = sq.lookup_passages(keys, bag=bag), rd.lookup_passages(keys, bag=bag)
            sa = sorted(zip(pa.query_passages.tolist(), pa.doc_keys.tolist(), pa.passage_indexes.tolist(), strict=True))
            sb = sorted(zip(pb.query_passages.tolist(), pb.doc_keys.tolist(), pb.passage_indexes.tolist(), strict=True))
            assert sa == sb and (len(sa) > 0) == bag  # the shingle bands are not indexed
        allow_query = new_doc(sq, texts[3]).fingerprints.keyed[:80]  # type: ignore[arg-type]
        assert np.array_equal(sq.allowed_mask(allow_query), rd.allowed_mask(allow_query))
        assert sq.allowed_mask(allow_query).sum() == 40 and sq.count_allowed() == rd.count_allowed() == 40
        for doc_key in (1, 2):
            fa, fb = sq.document_fingerprints(doc_key), rd.document_fingerprints(doc_key)
            assert np.array_equal(fa.hashes, fb.hashes) and np.array_equal(fa.char_ends, fb.char_ends)
            for x, y in zip(sq.passage_spans(doc_key), rd.passage_spans(doc_key), strict=True):
                assert np.array_equal(x, y)
            ea, eb = sq.export_document(doc_key), rd.export_document(doc_key)
            assert sorted(zip(ea.band_keys.tolist(), ea.band_passages.tolist(), strict=True)) == sorted(
                zip(eb.band_keys.tolist(), eb.band_passages.tolist(), strict=True)) and ea.band_keys.size
        # every passage's content-word bag, grouped by document in the order asked (absent: none)
        ka, ba = sq.document_bags([2, 1, 999])
        kb, bb = rd.document_bags([2, 1, 999])
        assert np.array_equal(ka, kb) and np.array_equal(ba, bb) and ka.shape[0] == ba.shape[0] > 2
        assert ka[0] == 2 and ka[-1] == 1 and 999 not in ka.tolist()
        assert sq.clear_allowed() == rd.clear_allowed() == 40
        assert not rd.allowed_mask(allow_query).any()


def test_removing_everything_leaves_no_index_entries(url: str, key_file: Path) -> None:
    with RedisStore(url, key_file=key_file, create=True) as s:
        docs = [s.add_document(new_doc(s, secret_prose(i, 600), path=f"/d/{i}"))[0]  # type: ignore[arg-type]
                for i in range(3)]
        s.add_document(new_doc(s, secret_prose(9, 600), path="/d/0"))  # type: ignore[arg-type]
        for doc in s.list_documents():
            s.remove_document(doc.doc_id)
        assert docs and sorted(k[len(s._p):] for k in s.memory_keys()) == [b"meta"]


# --- atomic changes ---------------------------------------------------------------------

def test_a_change_that_fails_before_exec_leaves_the_store_as_it_was(url: str, key_file: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    with RedisStore(url, key_file=key_file, create=True) as s:
        s.add_document(new_doc(s, secret_prose(1), path="/d/a"))  # type: ignore[arg-type]
        before = raw_values(s)
        real = redis.client.Pipeline.execute

        def dying(self: Any, *args: Any, **kwargs: Any) -> Any:
            if self.explicit_transaction:
                raise KeyboardInterrupt  # the process is stopped with the change queued
            return real(self, *args, **kwargs)

        monkeypatch.setattr(redis.client.Pipeline, "execute", dying)
        with pytest.raises(KeyboardInterrupt):
            s.add_document(new_doc(s, secret_prose(2), path="/d/a"))  # type: ignore[arg-type]
        with pytest.raises(KeyboardInterrupt):
            s.remove_document(s.key.doc_id("/d/a"))
        monkeypatch.undo()
        assert raw_values(s) == before


def consistent(s: RedisStore) -> int:
    """Every document whole and every index entry owned by a document: how many documents."""
    docs = {d.doc_key: d for d in s.list_documents()}
    owners: set[int] = set()
    for key in s.memory_keys():
        name = key[len(s._p):]
        if name[:2] in (b"f:", b"g:"):  # hashes of packed postings, each record's first 4 bytes its document
            size = 16 if name[:2] == b"f:" else 8
            for value in s._r.hvals(key):
                owners |= {int.from_bytes(value[i:i + 4], "little") for i in range(0, len(value), size)}
    assert owners <= set(docs), "index entries of a document that is not there"
    for doc_key in docs:
        fp = s.document_fingerprints(doc_key)
        hits = s.lookup_fingerprints(fp.hashes)
        assert int(np.count_nonzero(hits.doc_keys == doc_key)) == len(fp)
        stored = s.export_document(doc_key)
        assert len(stored.passage_starts) > 0
        assert set(stored.band_passages.tolist()) == set(range(len(stored.passage_starts)))
    return len(docs)


def test_sigkill_during_indexing_leaves_whole_documents(tmp_path: Path, url: str) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(60):
        (folder / f"doc{i:03}.txt").write_text(make_text(i, 3000), encoding="utf-8")
    config = tmp_path / "lw.toml"
    config.write_text(f'store = "{url}"\nkey_file = "{tmp_path / "leakwatch.key"}"\n', encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "leakwatch", "index", "add", str(folder), "--config", str(config)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    store: RedisStore | None = None
    while time.monotonic() < deadline:
        try:
            store = store or RedisStore(url, key_file=tmp_path / "leakwatch.key")
            if store.count_documents() >= 5:
                break
        except StoreError:
            pass
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert store is not None
    n = consistent(store)
    assert 5 <= n < 60
    store.close()


# --- the CLI, end to end ----------------------------------------------------------------

def leakwatch(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "leakwatch", *args], capture_output=True, text=True, timeout=300,
                          cwd=cwd)


def write_config(path: Path, store: str, key: Path, extra: str = "") -> Path:
    path.write_text(f'store = "{store}"\nkey_file = "{key}"\n{extra}', encoding="utf-8")
    return path


def findings(result: subprocess.CompletedProcess[str]) -> list[tuple[Any, ...]]:
    """What a scan found, without what names the store (the same in every backend)."""
    data = json.loads(result.stdout)
    return sorted((f["id"], f["kind"], f["deliverable"]["path"], f["deliverable"]["start"], f["deliverable"]["end"],
                   f["source"]["doc_id"] if f.get("source") else None,
                   f["source"]["start"] if f.get("source") else None,
                   json.dumps(f["scores"], sort_keys=True)) for f in data["findings"])


@pytest.fixture()
def corpus(tmp_path: Path, vocabulary: list[str]) -> dict[str, Path]:
    """Two confidential documents, a table, and deliverables that copy from them."""
    secret = tmp_path / "secret"
    secret.mkdir()
    texts = [make_text(300 + i, 1500, vocabulary) for i in range(2)]
    for i, text in enumerate(texts):
        (secret / f"plan{i}.txt").write_text(text, encoding="utf-8")
    from tests.test_records import CLIENT_HEADER, client_rows, write_csv

    clients = client_rows(200)
    table = write_csv(tmp_path / "clients.csv", CLIENT_HEADER, clients)
    drop = tmp_path / "drop"
    drop.mkdir()
    words = texts[0].split()
    (drop / "leak.txt").write_text(make_text(1, 200, FILLER) + "\n\n" + " ".join(words[300:450]) + "\n\n"
                                   + make_text(2, 100, FILLER), encoding="utf-8")
    (drop / "copy.txt").write_text(texts[1], encoding="utf-8")
    (drop / "rows.txt").write_text("Our contacts: " + "; ".join(", ".join(r[:4]) for r in clients[10:16]) + ".\n"
                                   + make_text(3, 100, FILLER), encoding="utf-8")
    (drop / "clean.txt").write_text(make_text(4, 400, FILLER), encoding="utf-8")
    return {"secret": secret, "table": table, "drop": drop, "root": tmp_path}


def test_cli_index_scan_list_remove_allow_and_audit(corpus: dict[str, Path], url: str) -> None:
    root = corpus["root"]
    key = root / "host" / "leakwatch.key"
    config = write_config(root / "lw.toml", url, key)
    assert leakwatch("index", "add", str(corpus["secret"]), "--config", str(config)).returncode == 0
    added = leakwatch("index", "add-table", str(corpus["table"]), "--config", str(config), "--label", "clients",
                      "--key-columns", "Name,Company,Email,Account")
    assert added.returncode == 0, added.stderr
    listing = leakwatch("index", "list", "--format", "json", "--config", str(config))
    data = json.loads(listing.stdout)
    assert len(data["documents"]) == 2 and len(data["tables"]) == 1
    scan = leakwatch("scan", str(corpus["drop"]), "--format", "json", "--config", str(config))
    assert scan.returncode == 1, scan.stderr
    kinds = {f["kind"] for f in json.loads(scan.stdout)["findings"]}
    assert {"confidential-excerpt", "confidential-near-duplicate"} <= kinds and any("record" in k for k in kinds)
    assert json.loads(scan.stdout)["summary"] and "redis://" in json.dumps(json.loads(scan.stdout))
    # The scan cache went to this host's folder (the key file's), not to a folder named after the URL.
    assert (key.parent / "scan-cache.sqlite").exists()
    assert not any(p.name.startswith("redis") for p in Path.cwd().iterdir())
    # --store on the command line works as well as store = in the config.
    again = leakwatch("scan", str(corpus["drop"] / "leak.txt"), "--format", "json", "--store", url, "--config",
                      str(write_config(root / "key-only.toml", "./unused", key)))
    assert again.returncode == 1 and len(json.loads(again.stdout)["findings"]) >= 1
    allow = leakwatch("allow", "add", str(corpus["drop"] / "leak.txt"), "--config", str(config))
    assert allow.returncode == 0, allow.stderr
    allowed = leakwatch("scan", str(corpus["drop"] / "leak.txt"), "--format", "json", "--config", str(config))
    assert not [f for f in json.loads(allowed.stdout)["findings"] if f["kind"] == "confidential-excerpt"]
    assert leakwatch("allow", "clear", "--config", str(config)).returncode == 0
    ref = leakwatch("reference", "add", str(corpus["drop"] / "clean.txt"), "--name", "x", "--config", str(config))
    assert ref.returncode == 2 and "embedded store" in ref.stderr
    removed = leakwatch("index", "remove", str(corpus["secret"] / "plan1.txt"), "--config", str(config))
    assert removed.returncode == 0, removed.stderr
    after = leakwatch("scan", str(corpus["drop"] / "copy.txt"), "--format", "json", "--config", str(config))
    assert after.returncode == 0 and json.loads(after.stdout)["findings"] == []
    out = root / "audit"
    audit = leakwatch("audit", "--output-dir", str(out), "--no-html", "--config",
                      str(write_config(root / "audit.toml", url, key,
                                       f'[[watch.folders]]\npath = "{corpus["drop"]}"\nvendor = "acme"\n')))
    assert audit.returncode in (0, 1), audit.stderr
    assert list(out.glob("acme-audit-*.json"))


def test_store_copy_both_ways_gives_identical_findings(corpus: dict[str, Path], url: str) -> None:
    root = corpus["root"]
    first = root / "first"
    assert leakwatch("index", "add", str(corpus["secret"]), "--store", str(first)).returncode == 0
    assert leakwatch("index", "add-table", str(corpus["table"]), "--store", str(first), "--label", "clients",
                     "--key-columns", "Name,Company,Email,Account").returncode == 0
    assert leakwatch("allow", "add", str(corpus["drop"] / "clean.txt"), "--store", str(first)).returncode == 0
    # SQLite -> Redis: the key is the source folder's.
    copied = leakwatch("store", "copy", str(first), url)
    assert copied.returncode == 0, copied.stderr
    assert "2 document(s) and 1 table(s) copied" in copied.stdout and "verified" in copied.stdout
    # Run again: nothing to copy, still verified.
    assert "0 document(s) and 0 table(s) copied, 3 already there" in leakwatch("store", "copy", str(first), url).stdout
    key = first / "leakwatch.key"
    config = write_config(root / "lw.toml", url, key)
    # Redis -> SQLite, into a new folder, with the key named in the configuration.
    second = root / "second"
    back = leakwatch("store", "copy", url, str(second), "--config", str(config))
    assert back.returncode == 0, back.stderr
    scans = [leakwatch("scan", str(corpus["drop"]), "--format", "json", "--no-cache", *where)
             for where in (("--store", str(first)), ("--config", str(config)),
                           ("--store", str(second), "--config", str(write_config(root / "k.toml", "x", key))))]
    assert all(s.returncode == 1 for s in scans), [s.stderr for s in scans]
    assert findings(scans[0]) == findings(scans[1]) == findings(scans[2])
    assert len(findings(scans[0])) >= 3
    with SQLiteStore(first) as a, SQLiteStore(second, key_file=key) as b:
        assert [(d.doc_id, d.version, d.added_at) for d in a.list_documents()] == [
            (d.doc_id, d.version, d.added_at) for d in b.list_documents()]
        assert a.count_allowed() == b.count_allowed() > 0
        assert a.read_notes("") == b.read_notes("")
    # A destination with another key is refused, and left as it was.
    other = root / "other"
    assert leakwatch("index", "add", str(corpus["drop"] / "clean.txt"), "--store", str(other)).returncode == 0
    refused = leakwatch("store", "copy", str(first), str(other))
    assert refused.returncode == 2 and "key" in refused.stderr
    assert leakwatch("index", "list", "--store", str(other)).stdout.count("clean.txt") == 1
    params = leakwatch("store", "copy", str(first), url.replace("prefix=", "prefix=p"), "--config",
                       str(write_config(root / "p.toml", "x", key, "[fingerprint]\nshingle_size = 4\n")))
    assert params.returncode == 0, params.stderr  # a new store takes the source's parameters


# --- the done-when: two daemons, one Redis index, a document indexed by a third ---

class Daemon:
    def __init__(self, root: Path, name: str, url: str, key: Path) -> None:
        self.folder = root / name
        self.folder.mkdir()
        self.state = root / f"{name}-state"
        self.log = root / f"{name}.log"
        self.config = write_config(root / f"{name}.toml", url, key, "[watch]\nsettle_s = 1.0\ndebounce_s = 0.2\n"
                                   f'reconcile_every_s = 0\nstate_dir = "{self.state}"\n')
        self.stderr = open(self.log, "ab")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen([sys.executable, "-m", "leakwatch", "watch", str(self.folder), "--vendor", name,
                                      "--config", str(self.config)], stdout=subprocess.DEVNULL, stderr=self.stderr)

    def events(self) -> list[dict[str, Any]]:
        lines = self.log.read_bytes().splitlines() if self.log.exists() else []
        assert not any(raw.startswith(b"Traceback") for raw in lines), self.log.read_text()
        return [json.loads(raw) for raw in lines]

    def wait(self, check: Any, what: str, timeout: float = 90.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = check()
            if found:
                return found
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            time.sleep(0.05)
        raise AssertionError(f"{what} within {timeout}s: {self.log.read_text()[-3000:]}")

    def alerts(self) -> list[dict[str, Any]]:
        path = self.state / "alerts.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(60)
        self.stderr.close()
        return code


def test_two_daemons_detect_a_document_indexed_by_a_third_process(tmp_path: Path, url: str,
                                                                   vocabulary: list[str]) -> None:
    key = tmp_path / "host" / "leakwatch.key"
    indexer = write_config(tmp_path / "indexer.toml", url, key)
    first = tmp_path / "first.txt"
    first.write_text(make_text(900, 800, vocabulary), encoding="utf-8")
    assert leakwatch("index", "add", str(first), "--config", str(indexer)).returncode == 0
    daemons = [Daemon(tmp_path, name, url, key) for name in ("north", "south")]
    try:
        for d in daemons:
            d.wait(lambda d=d: any(e["event"] == "watching" for e in d.events()), "watching")
        # Indexed through a third process, after both daemons started.
        secret = make_text(901, 1200, vocabulary)
        doc = tmp_path / "confidential" / "merger.txt"
        doc.parent.mkdir()
        doc.write_text(secret, encoding="utf-8")
        added = leakwatch("index", "add", str(doc), "--config", str(indexer), "--label", "trade-secret")
        assert added.returncode == 0, added.stderr
        words = secret.split()
        for i, d in enumerate(daemons):
            (d.folder / "delivery.txt").write_text(make_text(10 + i, 80, FILLER) + "\n\n"
                                                   + " ".join(words[200 + i * 300:350 + i * 300]) + "\n\n"
                                                   + make_text(20 + i, 80, FILLER), encoding="utf-8")
        for d in daemons:
            alerts = d.wait(d.alerts, "an alert")
            sources = {f["source"]["path"] for a in alerts for f in a["findings"] if f.get("source")}
            assert str(doc) in sources, alerts
            assert {f["source"]["label"] for a in alerts for f in a["findings"] if f.get("source")} == {"trade-secret"}
            assert (d.state / "watch-state.sqlite").exists()
    finally:
        codes = [d.stop() for d in daemons]
    assert codes == [143, 143]  # SIGTERM: drained, then 128 + 15


