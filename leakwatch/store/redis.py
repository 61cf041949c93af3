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
    P d:<doc_key>:pa     STRING its passages (shingle start, end, signature, bag signature)
    P f:<hash>           STRING every stored fingerprint with that keyed hash
                               (doc_key i64, pos, char start, char end u32; packed)
    P b:<band><key>      STRING every passage with that LSH band key (doc_key i64, idx u32)
    P g:<band><key>      the same for the bag-of-words bands
    P allow              SET   allow-listed keyed shingle hashes (8 bytes each)
    P notes              HASH  named records (references, allow-list sources)
    P tables, table_ids, table_paths, t:<key>:rows, t:<key>:anchors, c:<hash>
                               registered tables: records, row values, anchor values

Hashes go in keys as their 8 little-endian bytes; numbers in values are packed
little-endian arrays. Nothing is pickled and no text is stored: the values are the
same keyed hashes the embedded store keeps. The key itself never goes to Redis: each
host reads it from its own key file (``key_file`` in the configuration, required
for a Redis store), and the store records only its key id, checked on open.

A scan's look-ups are one MGET (SMISMEMBER for the allow-list) per batch of keys:
a round trip per 20,000 look-ups, not one per look-up. Every change (a document or
table added, replaced or removed, a note, the allow-list) is one MULTI/EXEC
transaction, with the removal of an old version's entries done by a Lua script
inside it: a client that dies in the middle leaves the store as it was, and
concurrent writers are serialised by WATCHing the meta hash (every change bumps the
generation there). Redis Cluster is not supported (a change spans many slots); a
single server, with replicas or Sentinel, is.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import json
import os
import secrets
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

import numpy as np

import leakwatch
from leakwatch.config import FingerprintParams
from leakwatch.fingerprint import band_keys, is_empty_signature
from leakwatch.keys import load_or_create_key
from leakwatch.store.base import (
    AddAction,
    CellHits,
    FingerprintHits,
    FingerprintStore,
    NewDocument,
    PassageHits,
    RecordTable,
    SourceDocument,
    StoredDocument,
    StoredTable,
    StoreError,
    check_meta,
    is_unchanged,
)
from leakwatch.store.sqlite import _params_from_meta, _params_meta

if TYPE_CHECKING:
    from leakwatch.tables import NewTable

SCHEMES = ("redis", "rediss")
DEFAULT_PREFIX = "leakwatch"
INSTALL_HINT = "pip install 'leakwatch[redis]'"
KEY_FILE_HINT = (
    "a Redis store keeps no key: set key_file = \"/path/to/leakwatch.key\" in the configuration "
    "(--config FILE). The first `leakwatch index add` creates that file (0600) with the store; copy it to "
    "every host that uses the store"
)

# Keys per MGET / SMISMEMBER: one round trip each, replies of a few hundred kB.
_BATCH = 20_000
_U32_MAX = 2**32 - 1

_FP = np.dtype([("doc", "<i8"), ("pos", "<u4"), ("start", "<u4"), ("end", "<u4")])  # P f:<hash>
_DOC_FP = np.dtype([("hash", "<u8"), ("pos", "<u4"), ("start", "<u4"), ("end", "<u4")])  # P d:<k>:fp
_BAND = np.dtype([("doc", "<i8"), ("idx", "<u4")])  # P b:/g:<band><key>
_CELL = np.dtype([("table", "<i8"), ("row", "<u4"), ("col", "<u4")])  # P c:<hash>
_ANCHOR = np.dtype([("hash", "<u8"), ("row", "<u4"), ("col", "<u4")])  # P t:<k>:anchors

# Drops the records of one owner (doc_key or table_key, their first 8 bytes) from
# packed multi-record values; a value left empty is deleted.
_DROP_OWNER = """
local owner, size = ARGV[1], tonumber(ARGV[2])
for _, k in ipairs(KEYS) do
  local v = redis.call('GET', k)
  if v then
    local keep = {}
    for j = 1, #v, size do
      if string.sub(v, j, j + 7) ~= owner then keep[#keep + 1] = string.sub(v, j, j + size - 1) end
    end
    if #keep == 0 then redis.call('DEL', k) else redis.call('SET', k, table.concat(keep)) end
  end
end
return #KEYS
"""

_P = ParamSpec("_P")
_R = TypeVar("_R")


def is_redis_url(store: str) -> bool:
    return store.split("://", 1)[0].lower() in SCHEMES if "://" in store else False


def _import_redis() -> Any:
    try:
        import redis
    except ImportError as exc:
        raise StoreError(f"a Redis store needs the redis client library: {INSTALL_HINT}") from exc
    return redis


def parse_url(url: str) -> tuple[str, str, str]:
    """(URL for the client without our own options, key prefix with its colon, display location).

    Raises:
        StoreError: a malformed URL, or an option leakwatch does not know.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() not in SCHEMES:
        raise StoreError(f"not a Redis URL: {url}")
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    prefix = DEFAULT_PREFIX
    rest = []
    for name, value in query:
        if name == "prefix":
            prefix = value
        else:
            rest.append((name, value))
    if not prefix or any(c in prefix for c in " \t\r\n"):
        raise StoreError(f"bad prefix {prefix!r} in the store URL {url}")
    db = parts.path.lstrip("/") or "0"
    if not db.isdigit():
        raise StoreError(f"bad database number {db!r} in the store URL {url} (redis://host:port/DB)")
    try:
        host, port = parts.hostname or "localhost", parts.port or 6379
    except ValueError as exc:
        raise StoreError(f"bad store URL {url}: {exc}") from exc
    client_url = urllib.parse.urlunsplit((parts.scheme, parts.netloc, f"/{db}", urllib.parse.urlencode(rest), ""))
    # Shown in messages and reports: never the password.
    shown_host = f"[{host}]" if ":" in host else host
    location = f"{parts.scheme}://{shown_host}:{port}/{db}?prefix={prefix}"
    return client_url, prefix + ":", location


def _packed_keys(prefix: bytes, values: np.ndarray) -> list[bytes]:
    """Keys ``prefix + the 8 little-endian bytes of each value``."""
    raw = np.ascontiguousarray(values, dtype="<u8").tobytes()
    return [prefix + raw[i:i + 8] for i in range(0, len(raw), 8)]


def _band_prefixes(prefix: bytes, n_bands: int) -> list[bytes]:
    return [prefix + band.to_bytes(2, "little") for band in range(n_bands)]


def _records(values: Sequence[bytes | None], dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """(records of every non-empty value, concatenated; how many each value held)."""
    counts = np.fromiter((len(v) // dtype.itemsize if v else 0 for v in values), dtype=np.int64, count=len(values))
    data = b"".join(v for v in values if v)
    return np.frombuffer(data, dtype=dtype), counts


def _b64(arr: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(arr, dtype="<u4").tobytes()).decode("ascii")


def _unb64(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<u4").astype(np.uint32)


def _path_key(path: str) -> bytes:
    return path.encode("utf-8", "surrogateescape")


def _reading(method: Callable[Concatenate[RedisStore, _P], _R]) -> Callable[Concatenate[RedisStore, _P], _R]:
    """A look-up whose Redis failure becomes a StoreError ("cannot read the store ...")."""

    @functools.wraps(method)
    def wrapper(self: RedisStore, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(self, *args, **kwargs)
        except self._errors as exc:
            raise StoreError(f"cannot read the store {self.location}: {exc}") from exc

    return wrapper


class RedisStore(FingerprintStore):
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
        redis = _import_redis()
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
        self._drop_owner = self._r.register_script(_DROP_OWNER)
        try:
            if is_new:
                meta = self._initialise(params or FingerprintParams())
            self._check_meta(meta)
        except BaseException:
            self._r.close()
            raise
        self.params = _params_from_meta(meta)
        self.lsh_bands = int(meta["lsh_bands"])
        self.lsh_rows = int(meta["lsh_rows"])
        self.bag_lsh_bands = int(meta["bag_lsh_bands"])
        self.bag_lsh_rows = int(meta["bag_lsh_rows"])
        self._store_id = meta.get("store_id", "")
        self._band_prefix = {False: _band_prefixes(self._k("b:"), self.lsh_bands),
                             True: _band_prefixes(self._k("g:"), self.bag_lsh_bands)}

    # --- keys and set-up ----------------------------------------------------------------

    def _k(self, name: str) -> bytes:
        return self._p + name.encode("ascii")

    def _read_meta(self) -> dict[str, str]:
        raw = self._r.hgetall(self._k("meta"))
        return {k.decode(): v.decode() for k, v in raw.items()}

    def _initialise(self, params: FingerprintParams) -> dict[str, str]:
        params.validate()
        meta = {
            **_params_meta(params, self.key),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "created_by": f"leakwatch {leakwatch.__version__}",
            "store_id": secrets.token_hex(8),
            "generation": "1",
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
            n_chars=d["n_chars"], page_starts=tuple(d["page_starts"]), signature=_unb64(d["signature"]),
        )

    @staticmethod
    def _doc_json(doc: SourceDocument) -> bytes:
        return json.dumps({
            "doc_id": doc.doc_id, "path": doc.path, "content_mac": doc.content_mac, "size": doc.size,
            "label": doc.label, "owner": doc.owner, "added_at": doc.added_at, "format": doc.format,
            "extractor_version": doc.extractor_version, "version": doc.version, "n_words": doc.n_words,
            "n_chars": doc.n_chars, "page_starts": list(doc.page_starts), "signature": _b64(doc.signature),
        }).encode("ascii")

    @_reading
    def find_document(self, doc_id_or_path: str) -> SourceDocument | None:
        by_id, by_path = self._r.pipeline(transaction=False).hget(self._k("doc_ids"), doc_id_or_path).hget(
            self._k("doc_paths"), _path_key(doc_id_or_path)).execute()
        keys = [int(k) for k in (by_id, by_path) if k is not None]
        if not keys:
            return None
        found = self.documents([min(keys)])
        return found.get(min(keys))

    @_reading
    def list_documents(self) -> list[SourceDocument]:
        raw = self._r.hgetall(self._k("docs"))
        return [self._doc_from_json(k, raw[b]) for k, b in sorted((int(b), b) for b in raw)]

    @_reading
    def documents(self, doc_keys: list[int]) -> dict[int, SourceDocument]:
        wanted = sorted(set(int(k) for k in doc_keys))
        if not wanted:
            return {}
        raw = self._r.hmget(self._k("docs"), wanted)
        return {k: self._doc_from_json(k, v) for k, v in zip(wanted, raw, strict=True) if v is not None}

    @_reading
    def count_documents(self) -> int:
        return int(self._r.hlen(self._k("docs")))

    def _doc_key_names(self, doc_key: int) -> tuple[bytes, bytes]:
        return self._k(f"d:{doc_key}:fp"), self._k(f"d:{doc_key}:pa")

    def _passage_dtype(self) -> np.dtype:
        n = self.params.num_perm
        return np.dtype([("start", "<u4"), ("end", "<u4"), ("sig", "<u4", (n,)), ("bag", "<u4", (n,))])

    def _index_keys(self, fp_hashes: np.ndarray, signatures: np.ndarray,
                    bag_signatures: np.ndarray) -> tuple[list[bytes], list[tuple[list[bytes], np.ndarray]]]:
        """(keys of the fingerprint index, [(band keys, passage of each)] for both LSH families)
        of one document."""
        fp_keys = _packed_keys(self._k("f:"), fp_hashes)
        bands = []
        for bag, sigs, n_bands, n_rows in ((False, signatures, self.lsh_bands, self.lsh_rows),
                                           (True, bag_signatures, self.bag_lsh_bands, self.bag_lsh_rows)):
            usable = np.nonzero(~is_empty_signature(sigs))[0] if len(sigs) else np.zeros(0, dtype=np.int64)
            keys = band_keys(sigs[usable], n_bands, n_rows) if usable.size else np.zeros((0, n_bands), np.int64)
            prefixes = self._band_prefix[bag]
            raw = np.ascontiguousarray(keys, dtype="<i8").tobytes()
            names = [prefixes[b] + raw[(i * n_bands + b) * 8:(i * n_bands + b + 1) * 8]
                     for i in range(len(usable)) for b in range(n_bands)]
            bands.append((names, np.repeat(usable, n_bands)))
        return fp_keys, bands

    def _queue_drop_document(self, pipe: Any, doc_key: int, fp_blob: bytes | None, pa_blob: bytes | None) -> None:
        """Queue the removal of a document and every index entry it owns."""
        owner = np.int64(doc_key).astype("<i8").tobytes()
        fps = np.frombuffer(fp_blob or b"", dtype=_DOC_FP)
        pas = np.frombuffer(pa_blob or b"", dtype=self._passage_dtype())
        fp_keys, bands = self._index_keys(np.unique(fps["hash"]), pas["sig"], pas["bag"])
        for keys, size in ((fp_keys, _FP.itemsize), (sorted(set(bands[0][0])), _BAND.itemsize),
                           (sorted(set(bands[1][0])), _BAND.itemsize)):
            for lo in range(0, len(keys), _BATCH):
                self._drop_owner(keys=keys[lo:lo + _BATCH], args=[owner, size], client=pipe)
        pipe.delete(*self._doc_key_names(doc_key))
        pipe.hdel(self._k("docs"), doc_key)

    def _queue_put_document(self, pipe: Any, doc: SourceDocument, fps: np.ndarray, pas: np.ndarray) -> None:
        """Queue a document's record, its blobs and its index entries (``fps``: _DOC_FP records
        in position order; ``pas``: passage records)."""
        doc_key = doc.doc_key
        fp_name, pa_name = self._doc_key_names(doc_key)
        pipe.hset(self._k("docs"), doc_key, self._doc_json(doc))
        pipe.hset(self._k("doc_ids"), doc.doc_id, doc_key)
        pipe.hset(self._k("doc_paths"), _path_key(doc.path), doc_key)
        pipe.set(fp_name, fps.tobytes())
        pipe.set(pa_name, pas.tobytes())
        recs = np.empty(len(fps), dtype=_FP)
        recs["doc"], recs["pos"], recs["start"], recs["end"] = doc_key, fps["pos"], fps["start"], fps["end"]
        fp_keys, bands = self._index_keys(fps["hash"], pas["sig"], pas["bag"])
        raw = recs.tobytes()
        size = _FP.itemsize
        for i, name in enumerate(fp_keys):
            pipe.append(name, raw[i * size:(i + 1) * size])
        for names, idx in bands:
            brecs = np.empty(len(idx), dtype=_BAND)
            brecs["doc"], brecs["idx"] = doc_key, idx
            braw = brecs.tobytes()
            bsize = _BAND.itemsize
            for i, name in enumerate(names):
                pipe.append(name, braw[i * bsize:(i + 1) * bsize])

    def _replace_document(self, doc: SourceDocument, fps: np.ndarray, pas: np.ndarray,
                          what: str) -> SourceDocument:
        """Store ``doc`` (its doc_key assigned here) in place of any document with its id."""

        def body(pipe: Any) -> SourceDocument:
            old_key = pipe.hget(self._k("doc_ids"), doc.doc_id)
            old = None
            if old_key is not None:
                old = (int(old_key), *pipe.mget(self._doc_key_names(int(old_key))))
            doc_key = self._next_key(pipe, "next_doc_key")
            placed = dataclasses.replace(doc, doc_key=doc_key)
            pipe.multi()
            if old is not None:
                self._queue_drop_document(pipe, *old)
            pipe.hset(self._k("meta"), "next_doc_key", doc_key)
            self._queue_put_document(pipe, placed, fps, pas)
            return placed

        return self._run_change(f"{what}; the store is as it was before it", body)

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
        passages = fp.passages
        pas = np.empty(len(passages), dtype=self._passage_dtype())
        pas["start"] = _u32(passages.shingle_starts, doc.path)
        pas["end"] = _u32(passages.shingle_ends, doc.path)
        n = self.params.num_perm
        pas["sig"] = np.asarray(passages.signatures).reshape(len(passages), n)
        pas["bag"] = np.asarray(fp.bag_signatures).reshape(len(passages), n)
        record = SourceDocument(
            doc_key=0, doc_id=doc_id, path=doc.path, content_mac=doc.content_mac, size=doc.size, label=doc.label,
            owner=doc.owner, added_at=datetime.now(UTC).isoformat(timespec="seconds"), format=doc.format,
            extractor_version=doc.extractor_version, version=old.version + 1 if old else 1, n_words=fp.n_words,
            n_chars=doc.n_chars, page_starts=tuple(doc.page_starts),
            signature=np.asarray(fp.signature, dtype=np.uint32),
        )
        what = f"{_printable(doc.path)} was not {'replaced' if old else 'added'}"
        return self._replace_document(record, fps, pas, what), ("replaced" if old else "added")

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
                pipe.hdel(self._k("doc_paths"), _path_key(json.loads(raw)["path"]))
            return True

        return self._run_change(f"{doc_id} was not removed; the store is unchanged", body)

    def export_document(self, doc_key: int) -> StoredDocument:
        record = self.documents([doc_key]).get(doc_key)
        if record is None:
            raise StoreError(f"no document with key {doc_key} in {self.location}")
        pas = self._passages(doc_key)
        return StoredDocument(record, self.document_fingerprints(doc_key), pas["start"].astype(np.int64),
                              pas["end"].astype(np.int64), pas["sig"].astype(np.uint32),
                              pas["bag"].astype(np.uint32))

    def import_document(self, stored: StoredDocument) -> SourceDocument:
        hits = stored.fingerprints
        fps = np.empty(len(hits), dtype=_DOC_FP)
        fps["hash"], fps["pos"], fps["start"], fps["end"] = (hits.hashes, hits.positions, hits.char_starts,
                                                              hits.char_ends)
        pas = np.empty(len(stored.passage_starts), dtype=self._passage_dtype())
        pas["start"], pas["end"] = stored.passage_starts, stored.passage_ends
        pas["sig"] = stored.signatures.reshape(len(pas), self.params.num_perm)
        pas["bag"] = stored.bag_signatures.reshape(len(pas), self.params.num_perm)
        return self._replace_document(stored.record, fps, pas,
                                      f"{_printable(stored.record.path)} was not copied")

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

    @_reading
    def lookup_fingerprints(self, hashes: np.ndarray) -> FingerprintHits:
        unique = np.unique(np.asarray(hashes, dtype=np.uint64))
        recs, counts = _records(self._mget(_packed_keys(self._k("f:"), unique)), _FP)
        return FingerprintHits(
            hashes=np.repeat(unique, counts), doc_keys=recs["doc"].astype(np.int64),
            positions=recs["pos"].astype(np.int64), char_starts=recs["start"].astype(np.int64),
            char_ends=recs["end"].astype(np.int64),
        )

    @_reading
    def document_fingerprints(self, doc_key: int) -> FingerprintHits:
        fps = np.frombuffer(self._r.get(self._doc_key_names(doc_key)[0]) or b"", dtype=_DOC_FP)
        return FingerprintHits(
            hashes=fps["hash"].astype(np.uint64), doc_keys=np.full(len(fps), doc_key, dtype=np.int64),
            positions=fps["pos"].astype(np.int64), char_starts=fps["start"].astype(np.int64),
            char_ends=fps["end"].astype(np.int64),
        )

    @_reading
    def lookup_passages(self, band_keys: np.ndarray, bag: bool = False) -> PassageHits:
        n_query, n_bands = band_keys.shape
        empty = np.zeros(0, dtype=np.int64)
        if n_query == 0:
            return PassageHits(empty, empty.copy(), empty.copy())
        # One key per distinct (band, band key): repeated passages are looked up once.
        pairs = np.empty((n_query, n_bands), dtype=[("band", "<u2"), ("key", "<i8")])
        pairs["band"] = np.arange(n_bands, dtype=np.uint16)
        pairs["key"] = band_keys
        unique, inverse = np.unique(pairs.reshape(-1), return_inverse=True)
        prefixes = self._band_prefix[bag]
        raw = unique["key"].astype("<i8").tobytes()
        names = [prefixes[int(b)] + raw[i * 8:(i + 1) * 8] for i, b in enumerate(unique["band"].tolist())]
        recs, counts = _records(self._mget(names), _BAND)
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

    def _passages(self, doc_key: int) -> np.ndarray:
        return np.frombuffer(self._r.get(self._doc_key_names(doc_key)[1]) or b"", dtype=self._passage_dtype())

    @_reading
    def passage_signatures(self, doc_key: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pas = self._passages(doc_key)
        return (pas["start"].astype(np.int64), pas["end"].astype(np.int64),
                pas["sig"].astype(np.uint32).reshape(len(pas), self.params.num_perm))

    @_reading
    def document_bags(self, doc_keys: list[int]) -> tuple[np.ndarray, np.ndarray]:
        blobs = self._mget([self._doc_key_names(int(d))[1] for d in doc_keys])
        passages = [np.frombuffer(blob or b"", dtype=self._passage_dtype()) for blob in blobs]
        keys = np.repeat(np.asarray(doc_keys, dtype=np.int64), [len(p) for p in passages])
        sigs = [p["bag"].astype(np.uint32) for p in passages]
        n = self.params.num_perm
        return keys, (np.concatenate(sigs) if sigs else np.zeros((0, n), dtype=np.uint32)).reshape(-1, n)

    # --- notes and the allow-list ---------------------------------------------------------

    @_reading
    def read_notes(self, prefix: str) -> dict[str, str]:
        raw = self._r.hgetall(self._k("notes"))
        notes = {k.decode("utf-8", "surrogateescape"): v.decode("utf-8", "surrogateescape") for k, v in raw.items()}
        return {k: notes[k] for k in sorted(notes) if k.startswith(prefix)}

    def write_note(self, key: str, value: str | None) -> None:
        def body(pipe: Any) -> None:
            pipe.multi()
            name = key.encode("utf-8", "surrogateescape")
            if value is None:
                pipe.hdel(self._k("notes"), name)
            else:
                pipe.hset(self._k("notes"), name, value.encode("utf-8", "surrogateescape"))

        self._run_change(f"the record {_printable(key)!r} was not {'removed' if value is None else 'written'}; "
                         "the store is unchanged", body)

    def add_allowed(self, hashes: np.ndarray) -> int:
        unique = np.unique(np.asarray(hashes, dtype=np.uint64))
        members = _packed_keys(b"", unique)

        def body(pipe: Any) -> int:
            before = int(pipe.scard(self._k("allow")))
            pipe.multi()
            for lo in range(0, len(members), _BATCH):
                pipe.sadd(self._k("allow"), *members[lo:lo + _BATCH])
            return before

        before = self._run_change("the allow-list is unchanged", body) if members else self.count_allowed()
        return self.count_allowed() - before

    @_reading
    def allowed_mask(self, hashes: np.ndarray) -> np.ndarray:
        hashes = np.asarray(hashes, dtype=np.uint64)
        if hashes.size == 0 or self.count_allowed() == 0:
            return np.zeros(hashes.shape[0], dtype=bool)
        unique = np.unique(hashes)
        members = _packed_keys(b"", unique)
        pipe = self._r.pipeline(transaction=False)
        for lo in range(0, len(members), _BATCH):
            pipe.smismember(self._k("allow"), members[lo:lo + _BATCH])
        found = np.fromiter((bool(x) for part in pipe.execute() for x in part), dtype=bool, count=len(members))
        return np.isin(hashes, unique[found])

    @_reading
    def count_allowed(self) -> int:
        return int(self._r.scard(self._k("allow")))

    @_reading
    def allowed_hashes(self) -> np.ndarray:
        members = list(self._r.sscan_iter(self._k("allow"), count=10_000))
        return np.sort(np.frombuffer(b"".join(members), dtype="<u8").astype(np.uint64))

    def clear_allowed(self) -> int:
        def body(pipe: Any) -> int:
            n = int(pipe.scard(self._k("allow")))
            pipe.multi()
            pipe.delete(self._k("allow"))
            return n

        return self._run_change("the allow-list is unchanged", body)

    # --- registered tables ---------------------------------------------------------------

    def _table_from_json(self, table_key: int, raw: bytes) -> RecordTable:
        d = json.loads(raw)
        return RecordTable(
            table_key=table_key, table_id=d["table_id"], path=d["path"], sheet=d["sheet"],
            content_mac=d["content_mac"], size=d["size"], label=d["label"], owner=d["owner"],
            added_at=d["added_at"], version=d["version"], n_rows=d["n_rows"], columns=tuple(d["columns"]),
            key_columns=tuple(d["key_columns"]), n_cells=d["n_cells"], n_anchors=d["n_anchors"],
            text_lengths=tuple(d["text_lengths"]), signature=_unb64(d["signature"]),
        )

    @staticmethod
    def _table_json(t: RecordTable) -> bytes:
        return json.dumps({
            "table_id": t.table_id, "path": t.path, "sheet": t.sheet, "content_mac": t.content_mac,
            "size": t.size, "label": t.label, "owner": t.owner, "added_at": t.added_at, "version": t.version,
            "n_rows": t.n_rows, "columns": list(t.columns), "key_columns": list(t.key_columns),
            "n_cells": t.n_cells, "n_anchors": t.n_anchors, "text_lengths": list(t.text_lengths),
            "signature": _b64(t.signature),
        }).encode("ascii")

    def _tables(self, keys: list[int]) -> dict[int, RecordTable]:
        if not keys:
            return {}
        raw = self._r.hmget(self._k("tables"), keys)
        return {k: self._table_from_json(k, v) for k, v in zip(keys, raw, strict=True) if v is not None}

    @_reading
    def find_table(self, table_id_or_path: str) -> RecordTable | None:
        by_id, by_path = self._r.pipeline(transaction=False).hget(self._k("table_ids"), table_id_or_path).hget(
            self._k("table_paths"), _path_key(table_id_or_path)).execute()
        keys = [int(k) for k in (by_id, by_path) if k is not None]
        return self._tables([min(keys)]).get(min(keys)) if keys else None

    @_reading
    def list_tables(self) -> list[RecordTable]:
        raw = self._r.hgetall(self._k("tables"))
        return [self._table_from_json(k, raw[b]) for k, b in sorted((int(b), b) for b in raw)]

    def _table_names(self, table_key: int) -> tuple[bytes, bytes]:
        return self._k(f"t:{table_key}:rows"), self._k(f"t:{table_key}:anchors")

    def _queue_drop_table(self, pipe: Any, table_key: int, anchors_blob: bytes | None) -> None:
        anchors = np.frombuffer(anchors_blob or b"", dtype=_ANCHOR)
        keys = _packed_keys(self._k("c:"), np.unique(anchors["hash"]))
        owner = np.int64(table_key).astype("<i8").tobytes()
        for lo in range(0, len(keys), _BATCH):
            self._drop_owner(keys=keys[lo:lo + _BATCH], args=[owner, _CELL.itemsize], client=pipe)
        pipe.delete(*self._table_names(table_key))
        pipe.hdel(self._k("tables"), table_key)

    def _replace_table(self, record: RecordTable, cells: np.ndarray, distinctive: np.ndarray,
                       anchor_rows: np.ndarray, anchor_cols: np.ndarray, what: str) -> RecordTable:
        hashes = cells[anchor_rows, anchor_cols]
        anchors = np.empty(len(hashes), dtype=_ANCHOR)
        anchors["hash"], anchors["row"], anchors["col"] = hashes, anchor_rows, anchor_cols
        blobs = np.ascontiguousarray(cells, dtype="<u8")
        masks = np.packbits(np.asarray(distinctive, dtype=bool), axis=1)
        row_values = {i: blobs[i].tobytes() + masks[i].tobytes() for i in range(cells.shape[0])}

        def body(pipe: Any) -> RecordTable:
            old_key = pipe.hget(self._k("table_ids"), record.table_id)
            old = None
            if old_key is not None:
                old = (int(old_key), pipe.get(self._table_names(int(old_key))[1]))
            table_key = self._next_key(pipe, "next_table_key")
            placed = dataclasses.replace(record, table_key=table_key)
            rows_name, anchors_name = self._table_names(table_key)
            pipe.multi()
            if old is not None:
                self._queue_drop_table(pipe, *old)
            pipe.hset(self._k("meta"), "next_table_key", table_key)
            pipe.hset(self._k("tables"), table_key, self._table_json(placed))
            pipe.hset(self._k("table_ids"), placed.table_id, table_key)
            pipe.hset(self._k("table_paths"), _path_key(placed.path), table_key)
            pipe.set(anchors_name, anchors.tobytes())
            items = list(row_values.items())
            for lo in range(0, len(items), _BATCH):
                pipe.hset(rows_name, mapping=dict(items[lo:lo + _BATCH]))
            recs = np.empty(len(hashes), dtype=_CELL)
            recs["table"], recs["row"], recs["col"] = table_key, anchor_rows, anchor_cols
            raw = recs.tobytes()
            size = _CELL.itemsize
            for i, name in enumerate(_packed_keys(self._k("c:"), hashes)):
                pipe.append(name, raw[i * size:(i + 1) * size])
            return placed

        return self._run_change(f"{what}; the store is as it was before it", body)

    def add_table(self, table: NewTable) -> tuple[RecordTable, AddAction]:
        table_id = self.key.table_id(table.path)
        old = self.find_table(table_id)
        if old is not None and old.registers(table):
            return old, "unchanged"
        rows, cols = np.nonzero(table.anchors)
        record = RecordTable(
            table_key=0, table_id=table_id, path=table.path, sheet=table.sheet, content_mac=table.content_mac,
            size=table.size, label=table.label, owner=table.owner,
            added_at=datetime.now(UTC).isoformat(timespec="seconds"), version=old.version + 1 if old else 1,
            n_rows=table.n_rows, columns=tuple(table.columns), key_columns=tuple(table.key_columns),
            n_cells=int(np.count_nonzero(table.cells)), n_anchors=int(rows.size),
            text_lengths=tuple(table.text_lengths), signature=np.asarray(table.signature, dtype=np.uint32),
        )
        what = f"table {_printable(table.path)} was not {'replaced' if old else 'added'}"
        placed = self._replace_table(record, np.asarray(table.cells, dtype=np.uint64), table.distinctive,
                                     rows.astype(np.int64), cols.astype(np.int64), what)
        return placed, ("replaced" if old else "added")

    def remove_table(self, table_id: str) -> bool:
        def body(pipe: Any) -> bool:
            old_key = pipe.hget(self._k("table_ids"), table_id)
            if old_key is None:
                return False
            table_key = int(old_key)
            raw = pipe.hget(self._k("tables"), table_key)
            anchors = pipe.get(self._table_names(table_key)[1])
            pipe.multi()
            self._queue_drop_table(pipe, table_key, anchors)
            pipe.hdel(self._k("table_ids"), table_id)
            if raw is not None:
                pipe.hdel(self._k("table_paths"), _path_key(json.loads(raw)["path"]))
            return True

        return self._run_change(f"{table_id} was not removed; the store is unchanged", body)

    @_reading
    def lookup_cells(self, hashes: np.ndarray) -> CellHits:
        unique = np.unique(np.asarray(hashes, dtype=np.uint64))
        recs, counts = _records(self._mget(_packed_keys(self._k("c:"), unique)), _CELL)
        return CellHits(np.repeat(unique, counts), recs["table"].astype(np.int64), recs["row"].astype(np.int64),
                        recs["col"].astype(np.int64))

    @_reading
    def table_rows(self, table_key: int, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        table = self._tables([table_key]).get(table_key)
        wanted = np.asarray(rows, dtype=np.int64)
        n_cols = len(table.columns) if table else 0
        values = np.zeros((wanted.size, n_cols), dtype=np.uint64)
        distinctive = np.zeros((wanted.size, n_cols), dtype=bool)
        if wanted.size == 0 or table is None:
            return values, distinctive
        raw = self._r.hmget(self._table_names(table_key)[0], wanted.tolist())
        for i, blob in enumerate(raw):
            if blob is not None:
                values[i] = np.frombuffer(blob[:8 * n_cols], dtype="<u8")
                distinctive[i] = np.unpackbits(np.frombuffer(blob[8 * n_cols:], dtype=np.uint8),
                                               count=n_cols).astype(bool)
        return values, distinctive

    def export_table(self, table_key: int) -> StoredTable:
        record = self._tables([table_key]).get(table_key)
        if record is None:
            raise StoreError(f"no table with key {table_key} in {self.location}")
        values, distinctive = self.table_rows(table_key, np.arange(record.n_rows))
        anchors = np.frombuffer(self._r.get(self._table_names(table_key)[1]) or b"", dtype=_ANCHOR)
        return StoredTable(record, values, distinctive, anchors["row"].astype(np.int64),
                           anchors["col"].astype(np.int64))

    def import_table(self, stored: StoredTable) -> RecordTable:
        return self._replace_table(stored.record, np.asarray(stored.cells, dtype=np.uint64), stored.distinctive,
                                   stored.anchor_rows, stored.anchor_columns,
                                   f"table {_printable(stored.record.path)} was not copied")

    # --- the rest -------------------------------------------------------------------------

    @_reading
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
        raise StoreError(f"{_printable(path)} is too long for a Redis store (offsets beyond 2^32)")
    return values.astype(np.uint32)


def _printable(path: str) -> str:
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
