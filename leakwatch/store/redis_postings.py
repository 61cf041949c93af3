"""Packed postings in hashes of buckets: the look-up index of the Redis store.

Each look-up key (a keyed fingerprint hash, or a bag band key with its band folded in)
is a field of the hash ``P <family>:<bucket>``, the bucket being the key's top bits;
its value is the packed records of every entry with that key, each record's first 4
bytes the document that owns it. Scripts append records, drop a document's records,
and read many fields in one call: a Redis key costs some 60-90 bytes of its own, a
field of a small hash a few.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

# Bucket sizes (bits of the key that name its hash), fixed when a store is created:
# 2^22 band buckets hold about 90 postings each at 10M passages, within Redis's compact
# hash encoding (128 entries), and fingerprints are about 8x fewer.
BAND_BUCKET_BITS = 22
FP_BUCKET_BITS = 19

# Appends a value to each (hash, field): KEYS the hashes, ARGV field, value pairs.
APPEND = """
for i, k in ipairs(KEYS) do
  local f, v = ARGV[2 * i - 1], ARGV[2 * i]
  local old = redis.call('HGET', k, f)
  if old then redis.call('HSET', k, f, old .. v) else redis.call('HSET', k, f, v) end
end
return #KEYS
"""

# Drops the records of one owner (doc_key, their first 4 bytes) from each (hash, field);
# a field left empty is deleted (and a hash left empty goes with it).
DROP = """
local owner, size = ARGV[1], tonumber(ARGV[2])
for i, k in ipairs(KEYS) do
  local f = ARGV[i + 2]
  local v = redis.call('HGET', k, f)
  if v then
    local keep = {}
    for j = 1, #v, size do
      if string.sub(v, j, j + 3) ~= owner then keep[#keep + 1] = string.sub(v, j, j + size - 1) end
    end
    if #keep == 0 then redis.call('HDEL', k, f) else redis.call('HSET', k, f, table.concat(keep)) end
  end
end
return #KEYS
"""

# The values found: position (1-based) and value of each (hash, field) that has one.
GET = """
local out = {}
for i, k in ipairs(KEYS) do
  local v = redis.call('HGET', k, ARGV[i])
  if v then out[#out + 1] = i; out[#out + 1] = v end
end
return out
"""


# Look-up keys per script call: a round trip carries all the calls of one look-up.
BATCH = 20_000


class BucketedPostings:
    """The bucketed-postings methods of :class:`~leakwatch.store.redis.RedisStore`."""

    _r: Any
    _fp_bits: int
    _band_bits: int
    _append: Any
    _get: Any

    _k: Callable[[str], bytes]  # the store's key names

    def _bucketed(self, family: str, values: np.ndarray) -> tuple[list[bytes], list[bytes]]:
        """(hash key, field) of each 64-bit look-up key of a family ("f" or "g")."""
        bits = self._fp_bits if family == "f" else self._band_bits
        v = np.ascontiguousarray(values, dtype=np.uint64)
        buckets = (v >> np.uint64(64 - bits)).astype("<u4").tobytes()
        raw = v.astype("<u8").tobytes()
        prefix = self._k(f"{family}:")
        return ([prefix + buckets[4 * i:4 * i + 4] for i in range(v.shape[0])],
                [raw[8 * i:8 * i + 8] for i in range(v.shape[0])])

    def _bucket_get(self, family: str, values: np.ndarray) -> list[bytes]:
        """The packed postings of each look-up key (b"" for none), in one round trip."""
        keys, fields = self._bucketed(family, values)
        if not keys:
            return []
        pipe = self._r.pipeline(transaction=False)
        for lo in range(0, len(keys), BATCH):
            self._get(keys=keys[lo:lo + BATCH], args=fields[lo:lo + BATCH], client=pipe)
        out = [b""] * len(keys)
        for part, lo in zip(pipe.execute(), range(0, len(keys), BATCH), strict=True):
            for i in range(0, len(part), 2):
                out[lo + int(part[i]) - 1] = part[i + 1]
        return out

    def _queue_append(self, pipe: Any, family: str, values: np.ndarray, recs: np.ndarray) -> None:
        keys, fields = self._bucketed(family, values)
        raw, size = recs.tobytes(), recs.dtype.itemsize
        for lo in range(0, len(keys), BATCH):
            args = [x for i in range(lo, min(len(keys), lo + BATCH))
                    for x in (fields[i], raw[i * size:(i + 1) * size])]
            self._append(keys=keys[lo:lo + BATCH], args=args, client=pipe)

