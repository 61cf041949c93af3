"""The notes and the allow-list of :class:`~leakwatch.store.redis.RedisStore`: small named
records and a set of keyed shingle hashes, each change one MULTI/EXEC transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from leakwatch.store.base import printable
from leakwatch.store.redis_tables import packed_keys, reading

# Members sent to Redis per command.
_BATCH = 20_000


class RedisNotes:
    """Notes and the allow-list (mixed into the store class, which provides these)."""

    _r: Any
    location: str
    _errors: tuple[type[BaseException], ...]
    _k: Callable[[str], bytes]
    _run_change: Callable[[str, Callable[[Any], Any]], Any]

    @reading
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

        self._run_change(f"the record {printable(key)!r} was not {'removed' if value is None else 'written'}; "
                         "the store is unchanged", body)

    def add_allowed(self, hashes: np.ndarray) -> int:
        unique = np.unique(np.asarray(hashes, dtype=np.uint64))
        members = packed_keys(b"", unique)

        def body(pipe: Any) -> int:
            before = int(pipe.scard(self._k("allow")))
            pipe.multi()
            for lo in range(0, len(members), _BATCH):
                pipe.sadd(self._k("allow"), *members[lo:lo + _BATCH])
            return before

        before = self._run_change("the allow-list is unchanged", body) if members else self.count_allowed()
        return self.count_allowed() - before

    @reading
    def allowed_mask(self, hashes: np.ndarray) -> np.ndarray:
        hashes = np.asarray(hashes, dtype=np.uint64)
        if hashes.size == 0 or self.count_allowed() == 0:
            return np.zeros(hashes.shape[0], dtype=bool)
        unique = np.unique(hashes)
        members = packed_keys(b"", unique)
        pipe = self._r.pipeline(transaction=False)
        for lo in range(0, len(members), _BATCH):
            pipe.smismember(self._k("allow"), members[lo:lo + _BATCH])
        found = np.fromiter((bool(x) for part in pipe.execute() for x in part), dtype=bool, count=len(members))
        return np.isin(hashes, unique[found])

    @reading
    def count_allowed(self) -> int:
        return int(self._r.scard(self._k("allow")))

    @reading
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
