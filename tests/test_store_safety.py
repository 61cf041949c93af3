"""Crash safety of the store: full synchronous commits, failures that leave the store
as it was and say so (never a raw sqlite3 traceback), a run killed with SIGKILL,
and a disk that fills up in the middle of indexing."""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import leakwatch.store.sqlite.schema as sqlite_schema
from leakwatch.config import FingerprintParams
from leakwatch.fingerprint import fingerprint_tokens, is_empty_signature
from leakwatch.keys import load_or_create_key
from leakwatch.store import NewDocument, SQLiteStore, StoreError
from leakwatch.store import segments as seg
from leakwatch.store.sqlite import DB_NAME, KEY_NAME, segment_folder
from leakwatch.text import tokenize
from tests.conftest import make_text, make_vocabulary
from tests.test_store_sqlite import index_entries

TABLES = ("meta", "documents", "segments", "removed", "allowed")
# The console script's entry point, run by this interpreter.
CLI = [sys.executable, "-c", "from leakwatch.cli import main; main()"]


def new_doc(store: SQLiteStore, text: str, path: str) -> NewDocument:
    data = text.encode("utf-8")
    return NewDocument(
        path=path, content_mac=store.key.content_mac(data), size=len(data), label="confidential", owner=None,
        format="text", extractor_version="1", n_chars=len(text), page_starts=(),
        fingerprints=fingerprint_tokens(tokenize(text), store.params, store.key),
    )


def snapshot(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, read through a separate connection (committed data only),
    and every segment file (its name and bytes)."""
    con = sqlite3.connect(db)
    try:
        rows = {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in TABLES}
    finally:
        con.close()
    rows["segment files"] = sorted((p.name, p.read_bytes()) for p in segment_folder(db).iterdir())
    return rows


def integrity(db: Path) -> list[str]:
    con = sqlite3.connect(db)
    try:
        problems = [r[0] for r in con.execute("PRAGMA integrity_check")]
        problems += [f"orphan row in {r[0]}" for r in con.execute("PRAGMA foreign_key_check")]
        return problems
    finally:
        con.close()


def cli(*args: str, cwd: Path, preexec_fn: Callable[[], None] | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("LEAKWATCH_DEBUG", "LEAKWATCH_STORE")}
    return subprocess.run([*CLI, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                          preexec_fn=preexec_fn)


class FailingConnection:
    """A connection that raises ``error`` at statements starting with one of ``fail_on``
    (upper case) and otherwise passes everything to the real connection."""

    def __init__(self, real: sqlite3.Connection, fail_on: tuple[str, ...], error: sqlite3.Error) -> None:
        self.real, self.fail_on, self.error, self.failures = real, fail_on, error, 0

    def _check(self, sql: str) -> None:
        if sql.lstrip().upper().startswith(self.fail_on):
            self.failures += 1
            raise self.error

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        self._check(sql)
        return self.real.execute(sql, *args)

    def executemany(self, sql: str, rows: Any) -> sqlite3.Cursor:
        self._check(sql)
        return self.real.executemany(sql, rows)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture()
def store(folder: Path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(folder, create=True)
    s._db.execute("PRAGMA busy_timeout = 200")  # a locked store fails fast in these tests
    yield s
    s.close()


# --- durability ---------------------------------------------------------------------------


@pytest.mark.parametrize("db_name", [DB_NAME, "references.sqlite"])
def test_commits_are_fully_synchronous_in_wal_mode(folder: Path, db_name: str) -> None:
    for create in (True, False):  # a new store and a reopened one
        with SQLiteStore(folder, create=create, db_name=db_name) as s:
            assert s._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert s._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


# --- a failed change leaves the store as it was -----------------------------------------------


@pytest.mark.parametrize("replace", [False, True])
def test_full_database_fails_the_add_cleanly(store: SQLiteStore, folder: Path, replace: bool) -> None:
    store.add_document(new_doc(store, make_text(1, 300), "/docs/a.txt"))
    before = snapshot(folder / DB_NAME)
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {pages + 1}")  # a real SQLITE_FULL from SQLite
    path = "/docs/a.txt" if replace else "/docs/big.txt"
    with pytest.raises(StoreError) as err:
        store.add_document(new_doc(store, make_text(2, 5000), path))
    message = str(err.value)
    assert message.startswith(f"cannot write to the store {folder}: database or disk is full")
    assert f"{path} was not {'replaced' if replace else 'added'}" in message
    assert "the store is as it was before it" in message
    assert not store._db.in_transaction
    assert snapshot(folder / DB_NAME) == before
    assert [d.path for d in store.list_documents()] == ["/docs/a.txt"]
    # The same store goes on working once there is room again.
    store._db.execute("PRAGMA max_page_count = 1073741823")
    _, action = store.add_document(new_doc(store, make_text(2, 5000), path))
    assert action == ("replaced" if replace else "added")
    assert integrity(folder / DB_NAME) == ["ok"]


@pytest.mark.parametrize("fail_on", ["INSERT INTO DOCUMENTS", "INSERT INTO SEGMENTS", "COMMIT"])
def test_failure_anywhere_in_an_add_rolls_it_back(store: SQLiteStore, folder: Path, fail_on: str) -> None:
    store.add_document(new_doc(store, make_text(1, 300), "/docs/a.txt"))
    before = snapshot(folder / DB_NAME)
    real = store._db
    store._db = FailingConnection(real, (fail_on,), sqlite3.OperationalError("disk I/O error"))  # type: ignore[assignment]
    with pytest.raises(StoreError, match=r"cannot write to the store .*: disk I/O error.*/docs/b\.txt was not added"):
        store.add_document(new_doc(store, make_text(2, 300), "/docs/b.txt"))
    store._db = real
    assert not real.in_transaction  # before, a failed COMMIT left the transaction open
    assert snapshot(folder / DB_NAME) == before  # the segment file written for it is gone too
    _, action = store.add_document(new_doc(store, make_text(2, 300), "/docs/b.txt"))
    assert action == "added"


def test_a_segment_file_that_cannot_be_written_fails_the_add_cleanly(
        store: SQLiteStore, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store.add_document(new_doc(store, make_text(1, 300), "/docs/a.txt"))
    before = snapshot(folder / DB_NAME)
    real_write = seg.write

    def full_disk(path: Path, postings: seg.Postings) -> int:
        with open(path, "wb") as fh:  # half a file, as a full disk leaves it
            fh.write(b"LWSEG")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(seg, "write", full_disk)
    with pytest.raises(StoreError) as err:
        store.add_document(new_doc(store, make_text(2, 300), "/docs/b.txt"))
    message = str(err.value)
    assert message.startswith(f"cannot write to the store {folder}: cannot write the segment file")
    assert "No space left on device" in message and "/docs/b.txt was not added" in message
    assert not store._db.in_transaction
    assert snapshot(folder / DB_NAME) == before
    monkeypatch.setattr(seg, "write", real_write)
    assert store.add_document(new_doc(store, make_text(2, 300), "/docs/b.txt"))[1] == "added"


def test_interrupted_add_is_rolled_back(store: SQLiteStore, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store.add_document(new_doc(store, make_text(1, 300), "/docs/a.txt"))
    before = snapshot(folder / DB_NAME)
    put = SQLiteStore._put_document

    def interrupted(self: SQLiteStore, *args: Any) -> None:
        put(self, *args)  # every row written, then Ctrl-C before COMMIT
        raise KeyboardInterrupt

    monkeypatch.setattr(SQLiteStore, "_put_document", interrupted)
    with pytest.raises(KeyboardInterrupt):
        store.add_document(new_doc(store, make_text(2, 300), "/docs/b.txt"))
    assert snapshot(folder / DB_NAME) == before
    monkeypatch.undo()
    assert store.add_document(new_doc(store, make_text(2, 300), "/docs/b.txt"))[1] == "added"


def test_rollback_that_fails_closes_the_connection(store: SQLiteStore, folder: Path) -> None:
    store.add_document(new_doc(store, make_text(1, 300), "/docs/a.txt"))
    before = snapshot(folder / DB_NAME)
    real = store._db
    failing = FailingConnection(real, ("INSERT INTO SEGMENTS", "ROLLBACK"), sqlite3.OperationalError("disk I/O error"))
    store._db = failing  # type: ignore[assignment]
    with pytest.raises(StoreError, match=r"/docs/b\.txt was not added") as err:
        store.add_document(new_doc(store, make_text(2, 300), "/docs/b.txt"))
    assert failing.failures == 2  # the insert, then the ROLLBACK
    assert isinstance(err.value.__cause__, sqlite3.OperationalError)
    # The half-done transaction (a document row without its segment) was discarded by
    # closing the connection: nothing of it is on disk, and the write lock is free.
    with pytest.raises(sqlite3.ProgrammingError):
        real.execute("SELECT 1")
    assert snapshot(folder / DB_NAME) == before
    with pytest.raises(StoreError, match="was closed after a change that could not be rolled back"):
        store.count_documents()
    with pytest.raises(StoreError, match="was closed after a change that could not be rolled back"):
        store.write_note("x", "y")
    store.close()
    with SQLiteStore(folder) as again:
        again._db.execute("PRAGMA busy_timeout = 200")
        assert [d.path for d in again.list_documents()] == ["/docs/a.txt"]
        assert again.add_document(new_doc(again, make_text(2, 300), "/docs/b.txt"))[1] == "added"


@pytest.mark.parametrize("operation", ["add", "remove", "note", "allow", "clear"])
def test_locked_store_fails_every_write_clearly(store: SQLiteStore, folder: Path, operation: str) -> None:
    doc, _ = store.add_document(new_doc(store, make_text(1, 300), "/docs/a.txt"))
    store.add_allowed(np.arange(1, 10, dtype=np.uint64))
    before = snapshot(folder / DB_NAME)
    other = sqlite3.connect(folder / DB_NAME, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the store
    try:
        calls: dict[str, Callable[[], object]] = {
            "add": lambda: store.add_document(new_doc(store, make_text(2, 300), "/docs/b.txt")),
            "remove": lambda: store.remove_document(doc.doc_id),
            "note": lambda: store.write_note("allow:/x", "{}"),
            "allow": lambda: store.add_allowed(np.arange(100, 110, dtype=np.uint64)),
            "clear": lambda: store.clear_allowed(),
        }
        with pytest.raises(StoreError) as err:
            calls[operation]()
    finally:
        other.execute("ROLLBACK")
        other.close()
    message = str(err.value)
    assert message.startswith(f"cannot write to the store {folder}: database is locked (another process")
    assert "unchanged" in message or "as it was" in message
    assert snapshot(folder / DB_NAME) == before
    assert store.count_documents() == 1  # reads still work, and so do writes once the lock is gone
    assert store.remove_document(doc.doc_id) is True


def test_read_failures_are_store_errors(store: SQLiteStore, folder: Path) -> None:
    nd = new_doc(store, make_text(1, 300), "/docs/a.txt")
    doc, _ = store.add_document(nd)
    other = sqlite3.connect(folder / DB_NAME, isolation_level=None)
    for table in ("segments", "documents", "allowed"):
        other.execute(f"DROP TABLE {table}")
    other.close()
    keys = np.zeros((1, store.bag_lsh_bands), dtype=np.int64)
    for read in (lambda: store.lookup_fingerprints(nd.fingerprints.keyed),
                 lambda: store.document_fingerprints(doc.doc_key),
                 lambda: store.lookup_passages(keys, bag=True),
                 lambda: store.passage_spans(doc.doc_key),
                 lambda: store.allowed_mask(nd.fingerprints.keyed),
                 lambda: store.count_allowed()):
        with pytest.raises(StoreError, match=f"^cannot read the store {re.escape(str(folder))}: no such table"):
            read()


def test_damaged_database_is_a_store_error(folder: Path) -> None:
    with SQLiteStore(folder, create=True) as s:
        nd = new_doc(s, make_text(1, 3000), "/docs/a.txt")
        doc, _ = s.add_document(nd)
        for i in range(8):
            s.add_document(new_doc(s, make_text(2 + i, 3000), f"/docs/{i}.txt"))
    db = folder / DB_NAME
    data = bytearray(db.read_bytes())
    page = 4096
    assert len(data) > 8 * page
    for i in range(2 * page, len(data), page):  # every page but the first two: garbage
        data[i : i + 64] = b"\xff" * 64
    db.write_bytes(bytes(data))
    # On open, or at the first read that meets the damage.
    with pytest.raises(StoreError) as err, SQLiteStore(folder) as s:
        s.list_documents()
        s.lookup_fingerprints(nd.fingerprints.keyed)
        s.document_fingerprints(doc.doc_key)
    assert "malformed" in str(err.value) or "not a leakwatch store" in str(err.value)


def test_store_that_cannot_be_created_leaves_no_database(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_schema, "SCHEMA", sqlite_schema.SCHEMA + "CREATE TABLE broken (;\n")
    expected = f"^cannot create the store {re.escape(str(folder))}: .*syntax error.*the store was not created"
    with pytest.raises(StoreError, match=expected):
        SQLiteStore(folder, create=True)
    assert sorted(p.name for p in folder.iterdir()) == [KEY_NAME]  # the key is kept and reused
    monkeypatch.undo()
    key_id = load_or_create_key(folder / KEY_NAME, create=False).key_id
    with SQLiteStore(folder, create=True) as s:
        assert s.key.key_id == key_id
        assert s.count_documents() == 0


def test_store_folder_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="cannot create the store"):
        SQLiteStore(blocker / "store", create=True)


# --- kill -9 in the middle of indexing ------------------------------------------------------


def committed_documents(db: Path) -> int:
    """Documents a read-only reader sees now (0 while the store is not yet created)."""
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1.0)
    except sqlite3.Error:
        return 0
    try:
        return int(con.execute("SELECT COUNT(*) FROM documents").fetchone()[0])
    except sqlite3.Error:
        return 0
    finally:
        con.close()


def store_rows(db: Path) -> dict[str, tuple[int, int, int, int]]:
    """Per committed document path: (fingerprints in its row, passages, fingerprint
    entries and LSH postings in the committed segments)."""
    con = sqlite3.connect(db)
    try:
        rows = con.execute("SELECT path, doc_key, length(fingerprints) / 20, n_passages FROM documents").fetchall()
    finally:
        con.close()
    entries = index_entries(db.parent)
    return {path: (n_fp, n_pa, entries["fingerprints"].get(key, 0), entries["postings"].get(key, 0))
            for path, key, n_fp, n_pa in rows}


# Enough small documents that indexing outlasts its first grouped commit (2 s) by far.
N_KILLED = 3000


def test_sigkill_during_indexing_leaves_whole_documents(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    vocabulary = make_vocabulary(11)
    texts = {}
    for i in range(N_KILLED):
        path = docs / f"doc{i:04}.txt"
        texts[str(path.resolve())] = make_text(10_000 + i, 120, vocabulary)
        path.write_text(texts[str(path.resolve())], encoding="utf-8")
    assert len(set(texts.values())) == N_KILLED
    store = tmp_path / "store"
    db = store / DB_NAME
    env = {k: v for k, v in os.environ.items() if k not in ("LEAKWATCH_DEBUG", "LEAKWATCH_STORE")}
    # Its own process group, so that nothing it started can outlive the test.
    proc = subprocess.Popen([*CLI, "index", "add", str(docs), "--store", str(store)], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while committed_documents(db) < 50:
            assert proc.poll() is None, "indexing ended before it could be killed"
            assert time.monotonic() < deadline, "indexing made no progress"
            time.sleep(0.002)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # extraction workers, if any were left
    assert proc.returncode == -signal.SIGKILL

    assert integrity(db) == ["ok"]
    key = load_or_create_key(store / KEY_NAME, create=False)
    params = FingerprintParams()
    rows = store_rows(db)
    killed_at = len(rows)
    assert 50 <= killed_at < N_KILLED
    with SQLiteStore(store) as s:
        bag_bands = s.bag_lsh_bands
    for path, counts in rows.items():
        # Every document that is there is whole: exactly the entries its text gives, in
        # its row and in the committed segments (no entry of an uncommitted one).
        fp = fingerprint_tokens(tokenize(texts[path]), params, key)
        usable = int(np.count_nonzero(~is_empty_signature(fp.bag_signatures)))
        assert counts == (len(fp.winnowed), len(fp.passages), len(fp.winnowed), usable * bag_bands), path
        assert counts[0] > 0
    entries = index_entries(store)
    assert sum(entries["fingerprints"].values()) == sum(c[2] for c in rows.values())
    assert sum(entries["postings"].values()) == sum(c[3] for c in rows.values())
    stored = set(rows)

    again = cli("index", "add", str(docs), "--store", str(store), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert f"{N_KILLED - killed_at} added, 0 replaced, {killed_at} unchanged, 0 not indexed" in again.stdout
    unchanged = {line.split("  ")[1] for line in again.stdout.splitlines() if line.startswith("unchanged")}
    assert unchanged == stored
    assert integrity(db) == ["ok"]
    con = sqlite3.connect(db)
    try:
        counts = con.execute("SELECT COUNT(*), COUNT(DISTINCT doc_id), COUNT(DISTINCT path) FROM documents").fetchone()
    finally:
        con.close()
    assert counts == (N_KILLED, N_KILLED, N_KILLED)
    assert all(min(c) > 0 for c in store_rows(db).values())


# --- the disk fills up in the middle of indexing -----------------------------------------------


def file_size_limit(limit: int) -> Callable[[], None]:
    """For preexec_fn: no file may grow past ``limit`` bytes, and a write past it fails
    with EFBIG instead of killing the process (SIGXFSZ ignored), as on a full disk."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))

    return apply




def test_full_disk_during_indexing(tmp_path: Path) -> None:
    store = tmp_path / "store"
    db = store / DB_NAME
    first = tmp_path / "first" / "strategy.txt"
    first.parent.mkdir()
    first.write_text(make_text(1, 1500), encoding="utf-8")
    done = cli("index", "add", str(first), "--store", str(store), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    before = store_rows(db)
    assert list(before) == [str(first.resolve())]
    assert min(before[str(first.resolve())]) > 0

    big = tmp_path / "big"
    big.mkdir()
    vocabulary = make_vocabulary(5)
    for i in range(40):
        (big / f"report{i:02}.txt").write_text(make_text(500 + i, 2000, vocabulary), encoding="utf-8")
    used = max(p.stat().st_size for p in store.rglob("*") if p.is_file())
    # Room for about one more document: the WAL fills up during the second, and closing
    # the store cannot checkpoint the first into the database (the WAL keeps it).
    limit = used + 256 * 1024
    full = cli("index", "add", str(big), "--store", str(store), cwd=tmp_path, preexec_fn=file_size_limit(limit))

    output = full.stdout + full.stderr
    assert full.returncode in (2, 3), output
    assert "Traceback" not in output
    errors = full.stderr.strip().splitlines()
    assert len(errors) == 1, full.stderr
    assert errors[0].startswith("leakwatch: error: ")
    assert "store" in errors[0]
    assert str(store) in errors[0]

    # The store opens, is intact, and still holds the first document whole.
    assert integrity(db) == ["ok"]
    after = store_rows(db)
    assert after[str(first.resolve())] == before[str(first.resolve())]
    assert len(after) < 41  # the disk did fill up before the end
    assert all(min(counts) > 0 for counts in after.values())  # only whole documents
    with SQLiteStore(store) as s:
        assert s.count_documents() == len(after)

    copy = tmp_path / "delivery" / "copy.txt"
    copy.parent.mkdir()
    shutil.copy(first, copy)
    scan = cli("scan", str(copy), "--store", str(store), "--format", "json", cwd=tmp_path)
    assert scan.returncode == 1, scan.stdout[:3000] + scan.stderr
    findings = json.loads(scan.stdout)["findings"]
    assert any(f["kind"].startswith("confidential") and f["source"]["path"] == str(first.resolve()) for f in findings)

    # With room again, the same command completes.
    rest = cli("index", "add", str(big), "--store", str(store), cwd=tmp_path)
    assert rest.returncode == 0, rest.stderr
    assert len(store_rows(db)) == 41
    assert integrity(db) == ["ok"]


# --- readers while a writer adds, merges and removes ----------------------------------------


def test_concurrent_readers_see_whole_documents_while_segments_merge(tmp_path: Path) -> None:
    """A reader (its own connection, as another process has) looks documents up while a
    writer adds them one commit at a time, its segments merge and their files go: every
    look-up answers, and every document it finds is whole (all its fingerprints)."""
    import threading

    folder = tmp_path / "store"
    with SQLiteStore(folder, create=True) as writer:
        docs = [new_doc(writer, make_text(3000 + i, 250), f"/docs/{i:03}.txt") for i in range(3 * seg.FANOUT + 5)]
    expected = {nd.path: np.unique(nd.fingerprints.keyed[nd.fingerprints.winnowed]) for nd in docs}
    query = np.concatenate(list(expected.values()))
    stop = threading.Event()
    problems: list[str] = []
    seen: list[int] = []

    def read() -> None:
        with SQLiteStore(folder) as reader:
            while not stop.is_set():
                try:
                    hits = reader.lookup_fingerprints(query)
                    paths = {d.doc_key: d.path for d in reader.list_documents()}
                except StoreError as exc:  # pragma: no cover - the failure this test looks for
                    problems.append(str(exc))
                    return
                for doc_key in np.unique(hits.doc_keys).tolist():
                    path = paths.get(doc_key)
                    got = np.unique(hits.hashes[hits.doc_keys == doc_key])
                    if path is not None and not np.array_equal(got, expected[path]):
                        problems.append(f"{path}: {got.size} of {expected[path].size} fingerprints")
                seen.append(len(paths))

    thread = threading.Thread(target=read)
    thread.start()
    try:
        with SQLiteStore(folder) as writer:
            for nd in docs:
                writer.add_document(nd)  # one commit, one segment; merges as they pile up
            writer.remove_document(writer.key.doc_id(docs[0].path))
            writer.compact()
    finally:
        stop.set()
        thread.join(60)
    assert not problems, problems[:3]
    assert len(seen) > 3 and max(seen) >= len(docs) - 1  # it saw the store grow (the last change removed one)
