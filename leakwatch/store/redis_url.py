"""Store URLs of the Redis backend: ``redis://[user:password@]host:port/db[?prefix=NAME]``
(``rediss://`` for TLS), and the client library, imported only when a URL names Redis."""

from __future__ import annotations

import urllib.parse
from typing import Any

from leakwatch.store.base import StoreError

SCHEMES = ("redis", "rediss")
DEFAULT_PREFIX = "leakwatch"
INSTALL_HINT = "pip install 'leakwatch[redis]'"
KEY_FILE_HINT = (
    "a Redis store keeps no key: set key_file = \"/path/to/leakwatch.key\" in the configuration "
    "(--config FILE). The first `leakwatch index add` creates that file (0600) with the store; copy it to "
    "every host that uses the store"
)


def is_redis_url(store: str) -> bool:
    return store.split("://", 1)[0].lower() in SCHEMES if "://" in store else False


def import_redis() -> Any:
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
