"""A throwaway redis-server on a free loopback port (no snapshots, no append-only file), for
the Redis store tests and benchmarks/store_backends.py."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path


class RedisServerError(RuntimeError):
    """redis-server is absent or did not start."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_redis(folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    """Start redis-server in ``folder``; returns the process and its port once it answers PING.

    Raises:
        RedisServerError: redis-server is not on PATH, or did not answer within 30 s.
    """
    import redis

    binary = shutil.which("redis-server")
    if binary is None:
        raise RedisServerError("redis-server is not on PATH (Debian: apt-get install redis-server)")
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(folder), "--protected-mode", "yes"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(host="127.0.0.1", port=port)
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                client.ping()
                return proc, port
            except redis.exceptions.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    proc.kill()
                    raise RedisServerError(f"redis-server did not start on port {port}") from None
                time.sleep(0.05)
    finally:
        client.close()
