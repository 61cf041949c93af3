"""The shared store: the same index on a Redis server, for several hosts at once.

``--store redis://host:port/db`` (``rediss://`` for TLS; ``?prefix=NAME`` to keep
several stores in one database, default ``leakwatch``). Every key of a store starts
with ``<prefix>:``. What is kept, per key (``P`` is the prefix with its colon):

    P meta               HASH  format version, MinHash scheme, fingerprint parameters,
                               LSH shapes, key id, store id, generation, key counters
    P docs               HASH  doc_key -> the document record (JSON, signature base64)
    P doc_ids/doc_paths  HASH  doc id / registered path -> doc_key
    P d:<doc_key>:fp     STRING the document's fingerprints in position order
                               (hash u64, pos, char start, char end u32; packed)
    P d:<doc_key>:bk     STRING the look-up keys of its LSH postings (u64; packed)
    P f:<bucket>         HASH  keyed hash (8 bytes) -> every stored fingerprint with that
                               hash (doc_key, pos, char start, char end u32; packed)
    P g:<bucket>         HASH  LSH look-up key (8 bytes: a content-word bag band key with
                               its band folded in) -> every passage with it (doc_key,
                               passage u32; packed)
    P allow              SET   allow-listed keyed shingle hashes (8 bytes each)
    P notes              HASH  named records (references, allow-list sources)
    P tables, table_ids, table_paths, t:<key>:rows, t:<key>:anchors, c:<hash>
                               registered tables: records, row values, anchor values

Look-up entries are packed postings per key, as in the embedded store's segments,
kept in hashes of many keys each (``<bucket>``: the key's top bits, 4 bytes): a
Redis key costs some 60-90 bytes of its own, a hash field a few, so the index takes
a fraction of the memory one key per band key took (format 1).

Hashes go in keys as their 8 little-endian bytes; numbers in values are packed
little-endian arrays. Nothing is pickled and no text is stored: the values are the
same keyed hashes the embedded store keeps. The key itself never goes to Redis: each
host reads it from its own key file (``key_file`` in the configuration, required
for a Redis store), and the store records only its key id, checked on open.

A scan's look-ups are one script call (SMISMEMBER for the allow-list) per batch of
keys, all batches in one round trip. Every change (a document or
table added, replaced or removed, a note, the allow-list) is one MULTI/EXEC
transaction, with the removal of an old version's entries done by a Lua script
inside it: a client that dies in the middle leaves the store as it was, and
concurrent writers are serialised by WATCHing the meta hash (every change bumps the
generation there). Redis Cluster is not supported (a change spans many slots); a
single server, with replicas or Sentinel, is.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import numpy as np

import leakwatch
from leakwatch.config import FingerprintParams
from leakwatch.fingerprint import bag_digests, band_keys, is_empty_signature
from leakwatch.keys import load_or_create_key
from leakwatch.store.base import (
    AddAction,
    FingerprintHits,
    FingerprintStore,
    NewDocument,
    PassageHits,
    SourceDocument,
    StoredDocument,
    StoreError,
    check_meta,
    decode_bags,
    encode_bags,
    is_unchanged,
    passage_spans_of,
)
from leakwatch.store.redis_notes import RedisNotes
from leakwatch.store.redis_postings import APPEND, BAND_BUCKET_BITS, DROP, FP_BUCKET_BITS, GET, BucketedPostings
from leakwatch.store.redis_tables import (
    DROP_OWNER,
    RedisTables,
    b64,
    path_key,
    printable,
    reading,
    records,
    unb64,
)
from leakwatch.store.redis_url import KEY_FILE_HINT, SCHEMES, import_redis, is_redis_url, parse_url
from leakwatch.store.segments import fold_bands
from leakwatch.store.sqlite import params_from_meta, params_meta

if TYPE_CHECKING:
    pass

# Keys per MGET / SMISMEMBER: one round trip each, replies of a few hundred kB.
_BATCH = 20_000
_U32_MAX = 2**32 - 1

_DOC_FP = np.dtype([("hash", "<u8"), ("pos", "<u4"), ("start", "<u4"), ("end", "<u4")])  # P d:<k>:fp
_FP = np.dtype([("doc", "<u4"), ("pos", "<u4"), ("start", "<u4"), ("end", "<u4")])  # P f:<bucket> values
_BAND = np.dtype([("doc", "<u4"), ("idx", "<u4")])  # P g:<bucket> values

_P = ParamSpec("_P")
_R = TypeVar("_R")


class RedisStore(BucketedPostings, RedisTables, RedisNotes, FingerprintStore):
    """Fingerprint store on a Redis server, shared by every host that has the key.

    Args:
        url: ``redis://[user:password@]host:port/db[?prefix=NAME]`` or ``rediss://...``.
        params: fingerprint parameters for a new store; an existing store keeps its own.
        key_file: the key on this host (required: the key is never stored in Redis).
        create: create the store (and the key file, when absent) if the prefix holds none.
    """

    def __init__(
        self,
        url: str,
        params: FingerprintParams | None = None,
        key_file: str | os.PathLike[str] | None = None,
        create: bool = False,
    ) -> None:
        redis = import_redis()
        client_url, prefix, self.location = parse_url(url)
        self.url = url
        self._p = prefix.encode("utf-8")
        self._errors: tuple[type[BaseException], ...] = (redis.exceptions.RedisError,)
        self._watch_error = redis.exceptions.WatchError
        if not key_file:
            raise StoreError(f"cannot open the store {self.location}: {KEY_FILE_HINT}")
        try:
            # Any: redis-py's annotations (bytes | str replies) do not know decode_responses=False.
            self._r: Any = redis.Redis.from_url(
                client_url, socket_connect_timeout=10, socket_timeout=120, health_check_interval=30)
            self._r.ping()
            meta = self._read_meta()
        except self._errors as exc:
            raise StoreError(f"cannot connect to the Redis store {self.location}: {exc}") from exc
        except ValueError as exc:  # the client's own URL checks
            raise StoreError(f"bad store URL {url}: {exc}") from exc
        is_new = not meta
        if is_new and not create:
            self._r.close()
            raise StoreError(
                f"no fingerprint store at {self.location}: register documents first "
                f"with `leakwatch index add PATH --store {self.location}`"
            )
        try:
            self.key = load_or_create_key(Path(key_file), create=is_new)
        except Exception as exc:  # KeyFileError and OS errors alike stop the run
            self._r.close()
            raise StoreError(f"{exc} ({KEY_FILE_HINT})") from exc
        self._drop_owner = self._r.register_script(DROP_OWNER)
        self._append = self._r.register_script(APPEND)
        self._drop = self._r.register_script(DROP)
        self._get = self._r.register_script(GET)
        try:
            if is_new:
                meta = self._initialise(params or FingerprintParams())
            self._check_meta(meta)
        except BaseException:
            self._r.close()
            raise
        self.params = params_from_meta(meta)
        self.lsh_bands = int(meta["lsh_bands"])
        self.lsh_rows = int(meta["lsh_rows"])
        self.bag_lsh_bands = int(meta["bag_lsh_bands"])
        self.bag_lsh_rows = int(meta["bag_lsh_rows"])
        self._store_id = meta.get("store_id", "")
        self._fp_bits = int(meta["fp_bucket_bits"])
        self._band_bits = int(meta["band_bucket_bits"])

    # --- keys and set-up ----------------------------------------------------------------

    def _k(self, name: str) -> bytes:
        return self._p + name.encode("ascii")

    def _read_meta(self) -> dict[str, str]:
        raw = self._r.hgetall(self._k("meta"))
        return {k.decode(): v.decode() for k, v in raw.items()}

    def _initialise(self, params: FingerprintParams) -> dict[str, str]:
        params.validate()
        meta = {
            **params_meta(params, self.key),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "created_by": f"leakwatch {leakwatch.__version__}",
            "store_id": secrets.token_hex(8),
            "generation": "1",
            "fp_bucket_bits": str(FP_BUCKET_BITS),
            "band_bucket_bits": str(BAND_BUCKET_BITS),
        }
        try:
            with self._r.pipeline(transaction=True) as pipe:
                while True:
                    try:
                        pipe.watch(self._k("meta"))
                        if pipe.exists(self._k("meta")):  # created by another process meanwhile
                            pipe.unwatch()
                            return self._read_meta()
                        pipe.multi()
                        pipe.hset(self._k("meta"), mapping=meta)
                        pipe.execute()
                        return meta
                    except self._watch_error:
                        continue
        except self._errors as exc:
            raise StoreError(f"cannot create the store {self.location}: {exc}") from exc

    def _check_meta(self, meta: dict[str, str]) -> None:
        check_meta(meta, self.location, self.key)

    # --- changes --------------------------------------------------------------------------

    @contextmanager
    def _change(self, outcome: str) -> Iterator[Any]:
        """A pipeline WATCHing the meta hash (every change bumps its generation): the body
        reads what it needs, calls ``pipe.multi()`` and queues the change; it is retried
        from the start when another writer changed the store meanwhile. The queued change
        is applied whole by EXEC, or not at all."""
        try:
            with self._r.pipeline(transaction=True) as pipe:
                yield pipe
        except self._errors as exc:
            raise StoreError(f"cannot write to the store {self.location}: {exc}; {outcome}") from exc

    def _run_change(self, outcome: str, body: Callable[[Any], _R]) -> _R:
        with self._change(outcome) as pipe:
            while True:
                try:
                    pipe.watch(self._k("meta"))
                    result = body(pipe)
                    if not pipe.explicit_transaction:  # nothing to change
                        pipe.unwatch()
                        return result
                    pipe.hincrby(self._k("meta"), "generation", 1)
                    pipe.execute()
                    return result
                except self._watch_error:
                    pipe.reset()
                    continue

    def _next_key(self, pipe: Any, counter: str) -> int:
        """The next document (table) key, read under WATCH: keys are never reused."""
        value = pipe.hget(self._k("meta"), counter)
        return int(value or 0) + 1

    # --- documents ----------------------------------------------------------------------

    def _doc_from_json(self, doc_key: int, raw: bytes) -> SourceDocument:
        d = json.loads(raw)
        return SourceDocument(
            doc_key=doc_key, doc_id=d["doc_id"], path=d["path"], content_mac=d["content_mac"], size=d["size"],
            label=d["label"], owner=d["owner"], added_at=d["added_at"], format=d["format"],
            extractor_version=d["extractor_version"], version=d["version"], n_words=d["n_words"],
            n_chars=d["n_chars"], page_starts=tuple(d["page_starts"]), signature=unb64(d["signature"]),
        )

    @staticmethod
    def _doc_json(doc: SourceDocument) -> bytes:
        return json.dumps({
            "doc_id": doc.doc_id, "path": doc.path, "content_mac": doc.content_mac, "size": doc.size,
            "label": doc.label, "owner": doc.owner, "added_at": doc.added_at, "format": doc.format,
            "extractor_version": doc.extractor_version, "version": doc.version, "n_words": doc.n_words,
            "n_chars": doc.n_chars, "page_starts": list(doc.page_starts), "signature": b64(doc.signature),
        }).encode("ascii")

    @reading
    def find_document(self, doc_id_or_path: str) -> SourceDocument | None:
        by_id, by_path = self._r.pipeline(transaction=False).hget(self._k("doc_ids"), doc_id_or_path).hget(
            self._k("doc_paths"), path_key(doc_id_or_path)).execute()
        keys = [int(k) for k in (by_id, by_path) if k is not None]
        if not keys:
            return None
        found = self.documents([min(keys)])
        return found.get(min(keys))

    @reading
    def list_documents(self) -> list[SourceDocument]:
        raw = self._r.hgetall(self._k("docs"))
        return [self._doc_from_json(k, raw[b]) for k, b in sorted((int(b), b) for b in raw)]

    @reading
    def documents(self, doc_keys: list[int]) -> dict[int, SourceDocument]:
        wanted = sorted(set(int(k) for k in doc_keys))
        if not wanted:
            return {}
        raw = self._r.hmget(self._k("docs"), wanted)
        return {k: self._doc_from_json(k, v) for k, v in zip(wanted, raw, strict=True) if v is not None}

    @reading
    def count_documents(self) -> int:
        return int(self._r.hlen(self._k("docs")))

    def _doc_key_names(self, doc_key: int) -> tuple[bytes, bytes]:
        return self._k(f"d:{doc_key}:fp"), self._k(f"d:{doc_key}:bk")

    def _bags_name(self, doc_key: int) -> bytes:
        """Its passages' content-word bag digests (num_perm u16 a passage)."""
        return self._k(f"d:{doc_key}:bg")

    def _queue_drop_document(self, pipe: Any, doc_key: int, fp_blob: bytes | None, bk_blob: bytes | None) -> None:
        """Queue the removal of a document and every look-up entry it owns."""
        owner = np.uint32(doc_key).astype("<u4").tobytes()
        fps = np.frombuffer(fp_blob or b"", dtype=_DOC_FP)
        for family, values, size in (("f", np.unique(fps["hash"]), _FP.itemsize),
                                     ("g", np.unique(np.frombuffer(bk_blob or b"", dtype="<u8")), _BAND.itemsize)):
            keys, fields = self._bucketed(family, values)
            for lo in range(0, len(keys), _BATCH):
                self._drop(keys=keys[lo:lo + _BATCH], args=[owner, size, *fields[lo:lo + _BATCH]], client=pipe)
        pipe.delete(*self._doc_key_names(doc_key), self._bags_name(doc_key))
        pipe.hdel(self._k("docs"), doc_key)

    def _queue_put_document(self, pipe: Any, doc: SourceDocument, fps: np.ndarray, folded: np.ndarray,
                            passages: np.ndarray, bags: np.ndarray) -> None:
        """Queue a document's record, its blobs and its look-up entries (``fps``: _DOC_FP
        records in position order; ``folded``/``passages``: its LSH postings)."""
        doc_key = doc.doc_key
        fp_name, bk_name = self._doc_key_names(doc_key)
        pipe.hset(self._k("docs"), doc_key, self._doc_json(doc))
        pipe.hset(self._k("doc_ids"), doc.doc_id, doc_key)
        pipe.hset(self._k("doc_paths"), path_key(doc.path), doc_key)
        pipe.set(fp_name, fps.tobytes())
        pipe.set(bk_name, np.ascontiguousarray(folded, dtype="<u8").tobytes())
        pipe.set(self._bags_name(doc_key), encode_bags(bags))
        recs = np.empty(len(fps), dtype=_FP)
        recs["doc"], recs["pos"], recs["start"], recs["end"] = doc_key, fps["pos"], fps["start"], fps["end"]
        self._queue_append(pipe, "f", fps["hash"], recs)
        brecs = np.empty(len(folded), dtype=_BAND)
        brecs["doc"], brecs["idx"] = doc_key, passages
        self._queue_append(pipe, "g", folded, brecs)

    def _queue_replace(self, pipe: Any, doc: SourceDocument, fps: np.ndarray, folded: np.ndarray,
                       passages: np.ndarray, bags: np.ndarray, old_key: bytes | None) -> SourceDocument:
        """Inside a WATCHed change: queue ``doc`` (given its doc_key here) in place of
        the document ``old_key`` (None: a new one)."""
        old = None
        if old_key is not None:
            old = (int(old_key), *pipe.mget(self._doc_key_names(int(old_key))))
        doc_key = self._next_key(pipe, "next_doc_key")
        if doc_key > _U32_MAX:
            raise StoreError(f"the store {self.location} has used 2^32 document keys")
        placed = dataclasses.replace(doc, doc_key=doc_key)
        pipe.multi()
        if old is not None:
            self._queue_drop_document(pipe, *old)
        pipe.hset(self._k("meta"), "next_doc_key", doc_key)
        self._queue_put_document(pipe, placed, fps, folded, passages, bags)
        return placed

    def add_document(self, doc: NewDocument) -> tuple[SourceDocument, AddAction]:
        doc_id = self.key.doc_id(doc.path)
        old = self.find_document(doc_id)
        if is_unchanged(old, doc):
            assert old is not None
            return old, "unchanged"
        fp = doc.fingerprints
        k = self.params.shingle_size
        pos = fp.winnowed
        fps = np.empty(len(pos), dtype=_DOC_FP)
        fps["hash"] = fp.keyed[pos]
        fps["pos"] = _u32(pos, doc.path)
        fps["start"] = _u32(fp.tokens.starts[pos], doc.path)
        fps["end"] = _u32(fp.tokens.ends[pos + k - 1], doc.path)
        sigs = fp.bag_signatures
        usable = np.nonzero(~is_empty_signature(sigs))[0] if len(sigs) else np.zeros(0, dtype=np.int64)
        bag = band_keys(sigs[usable], self.bag_lsh_bands, self.bag_lsh_rows) if usable.size else \
            np.zeros((0, self.bag_lsh_bands), dtype=np.int64)
        folded = fold_bands(bag)
        passages = np.repeat(usable, self.bag_lsh_bands)
        bags = bag_digests(np.asarray(sigs).reshape(len(fp.passages), self.params.num_perm))
        record = SourceDocument(
            doc_key=0, doc_id=doc_id, path=doc.path, content_mac=doc.content_mac, size=doc.size, label=doc.label,
            owner=doc.owner, added_at=datetime.now(UTC).isoformat(timespec="seconds"), format=doc.format,
            extractor_version=doc.extractor_version, version=1, n_words=fp.n_words,
            n_chars=doc.n_chars, page_starts=tuple(doc.page_starts),
            signature=np.asarray(fp.signature, dtype=np.uint32),
        )
        what = f"{printable(doc.path)} was not {'replaced' if old else 'added'}"
        outcome: list[AddAction] = []

        def body(pipe: Any) -> SourceDocument:
            # The document as it is now, read under WATCH: another host may have registered
            # the same path since the look-up above. The later add replaces it with the
            # next version (or finds it unchanged): never two "added v1".
            outcome.clear()
            old_key = pipe.hget(self._k("doc_ids"), doc_id)
            current = None
            if old_key is not None:
                raw = pipe.hget(self._k("docs"), int(old_key))
                current = self._doc_from_json(int(old_key), raw) if raw is not None else None
            if is_unchanged(current, doc):
                assert current is not None
                outcome.append("unchanged")
                return current  # nothing queued: no transaction, no generation bump
            outcome.append("replaced" if old_key is not None else "added")
            version = current.version + 1 if current is not None else 1
            return self._queue_replace(pipe, dataclasses.replace(record, version=version), fps, folded, passages, bags,
                                       old_key)

        placed = self._run_change(f"{what}; the store is as it was before it", body)
        return placed, outcome[0]

    def remove_document(self, doc_id: str) -> bool:
        def body(pipe: Any) -> bool:
            old_key = pipe.hget(self._k("doc_ids"), doc_id)
            if old_key is None:
                return False
            doc_key = int(old_key)
            raw = pipe.hget(self._k("docs"), doc_key)
            blobs = pipe.mget(self._doc_key_names(doc_key))
            pipe.multi()
            self._queue_drop_document(pipe, doc_key, *blobs)
            pipe.hdel(self._k("doc_ids"), doc_id)
            if raw is not None:
                pipe.hdel(self._k("doc_paths"), path_key(json.loads(raw)["path"]))
            return True

        return self._run_change(f"{doc_id} was not removed; the store is unchanged", body)

    @reading
    def export_document(self, doc_key: int) -> StoredDocument:
        record = self.documents([doc_key]).get(doc_key)
        if record is None:
            raise StoreError(f"no document with key {doc_key} in {self.location}")
        keys = np.unique(np.frombuffer(self._r.get(self._doc_key_names(doc_key)[1]) or b"", dtype="<u8"))
        # Each key's passages of this document, from the postings themselves.
        recs, counts = records(self._bucket_get("g", keys), _BAND)
        mine = recs["doc"] == doc_key
        starts, ends = passage_spans_of(record.n_words, self.params)
        _, bags = self.document_bags([doc_key])
        return StoredDocument(record, self.document_fingerprints(doc_key), starts, ends,
                              np.repeat(keys, counts)[mine].astype(np.uint64), recs["idx"][mine].astype(np.int64), bags)

    def import_document(self, stored: StoredDocument) -> SourceDocument:
        hits = stored.fingerprints
        fps = np.empty(len(hits), dtype=_DOC_FP)
        fps["hash"], fps["pos"], fps["start"], fps["end"] = (
            hits.hashes, _u32(hits.positions, stored.record.path), _u32(hits.char_starts, stored.record.path),
            _u32(hits.char_ends, stored.record.path))

        def body(pipe: Any) -> SourceDocument:
            return self._queue_replace(pipe, stored.record, fps, np.asarray(stored.band_keys, dtype=np.uint64),
                                       _u32(stored.band_passages, stored.record.path), stored.bags,
                                       pipe.hget(self._k("doc_ids"), stored.record.doc_id))

        return self._run_change(f"{printable(stored.record.path)} was not copied; the store is as it was before it",
                                body)

    # --- look-ups -----------------------------------------------------------------------

    def _mget(self, keys: list[bytes]) -> list[bytes | None]:
        if not keys:
            return []
        if len(keys) <= _BATCH:
            return list(self._r.mget(keys))
        pipe = self._r.pipeline(transaction=False)
        for lo in range(0, len(keys), _BATCH):
            pipe.mget(keys[lo:lo + _BATCH])
        return [v for part in pipe.execute() for v in part]

    @reading
    def lookup_fingerprints(self, hashes: np.ndarray) -> FingerprintHits:
        unique = np.unique(np.asarray(hashes, dtype=np.uint64))
        recs, counts = records(self._bucket_get("f", unique), _FP)
        return FingerprintHits(
            hashes=np.repeat(unique, counts), doc_keys=recs["doc"].astype(np.int64),
            positions=recs["pos"].astype(np.int64), char_starts=recs["start"].astype(np.int64),
            char_ends=recs["end"].astype(np.int64),
        )

    @reading
    def document_fingerprints(self, doc_key: int) -> FingerprintHits:
        fps = np.frombuffer(self._r.get(self._doc_key_names(doc_key)[0]) or b"", dtype=_DOC_FP)
        return FingerprintHits(
            hashes=fps["hash"].astype(np.uint64), doc_keys=np.full(len(fps), doc_key, dtype=np.int64),
            positions=fps["pos"].astype(np.int64), char_starts=fps["start"].astype(np.int64),
            char_ends=fps["end"].astype(np.int64),
        )

    @reading
    def lookup_passages(self, band_keys: np.ndarray, bag: bool = False) -> PassageHits:
        n_query, n_bands = band_keys.shape
        empty = np.zeros(0, dtype=np.int64)
        if n_query == 0 or n_bands == 0 or not bag:  # only the bag bands are indexed
            return PassageHits(empty, empty.copy(), empty.copy())
        # One look-up per distinct key: repeated passages are looked up once.
        unique, inverse = np.unique(fold_bands(np.asarray(band_keys, dtype=np.int64)), return_inverse=True)
        recs, counts = records(self._bucket_get("g", unique), _BAND)
        query = np.repeat(np.arange(n_query, dtype=np.int64), n_bands)
        per_query = counts[inverse.reshape(-1)]
        if not per_query.any():
            return PassageHits(empty, empty.copy(), empty.copy())
        offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
        starts = offsets[inverse.reshape(-1)]
        # Each (query passage, band) entry takes the records of its key.
        take = np.repeat(starts - np.concatenate([[0], np.cumsum(per_query)[:-1]]), per_query) + np.arange(
            int(per_query.sum()))
        rows = np.column_stack([np.repeat(query, per_query), recs["doc"][take].astype(np.int64),
                                recs["idx"][take].astype(np.int64)])
        rows = np.unique(rows, axis=0)
        return PassageHits(rows[:, 0].copy(), rows[:, 1].copy(), rows[:, 2].copy())

    @reading
    def passage_spans(self, doc_key: int) -> tuple[np.ndarray, np.ndarray]:
        record = self.documents([doc_key]).get(doc_key)
        return passage_spans_of(record.n_words if record else 0, self.params)

    @reading
    def document_bags(self, doc_keys: list[int]) -> tuple[np.ndarray, np.ndarray]:
        n = self.params.num_perm
        blobs = self._mget([self._bags_name(int(d)) for d in doc_keys])
        return decode_bags([int(d) for d in doc_keys], blobs, n)

    # --- the rest -------------------------------------------------------------------------

    @reading
    def generation(self) -> str:
        """The store's id and its change counter (bumped by every change, in its transaction)."""
        return f"{self._store_id}:{int(self._r.hget(self._k('meta'), 'generation') or 0)}"

    def memory_keys(self) -> Iterator[bytes]:
        """Every key of this store (for tools and tests; SCAN, never KEYS)."""
        pattern = b"".join(b"\\" + bytes([c]) if c in b"*?[]\\" else bytes([c]) for c in self._p)
        return self._r.scan_iter(match=pattern + b"*", count=10_000)

    def close(self) -> None:
        try:
            self._r.close()
        except self._errors as exc:
            raise StoreError(f"cannot close the store {self.location}: {exc}") from exc


def _u32(values: np.ndarray, path: str) -> np.ndarray:
    values = np.asarray(values, dtype=np.int64)
    if values.size and (int(values.max()) > _U32_MAX or int(values.min()) < 0):
        raise StoreError(f"{printable(path)} is too long for a Redis store (offsets beyond 2^32)")
    return values.astype(np.uint32)


__all__ = ["SCHEMES", "RedisStore", "is_redis_url", "parse_url"]
