"""Shared fixtures: synthetic confidential documents and the location of ../shared."""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.redisserver import RedisServerError, start_redis

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CORPORA = SHARED / "corpora"

_SYLLABLES = ["ka", "lo", "mer", "ti", "san", "vo", "quel", "dra", "ni", "por", "es", "tu", "lim", "ba",
              "rek", "o", "fen", "gra", "shu", "wy"]


def make_vocabulary(seed: int, size: int = 3000) -> list[str]:
    rng = random.Random(seed)
    words = set()
    while len(words) < size:
        words.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 4))))
    return sorted(words)


def make_text(seed: int, n_words: int, vocabulary: list[str] | None = None) -> str:
    """Prose-like text of ``n_words`` words: sentences and paragraphs of random words."""
    rng = random.Random(seed)
    vocab = vocabulary or make_vocabulary(seed)
    out: list[str] = []
    sentence: list[str] = []
    for i in range(n_words):
        sentence.append(rng.choice(vocab))
        if len(sentence) >= rng.randint(8, 20) or i == n_words - 1:
            sentence[0] = sentence[0].capitalize()
            out.append(" ".join(sentence) + ".")
            sentence = []
            if rng.random() < 0.2:
                out.append("\n\n")
    return " ".join(out).replace(" \n\n ", "\n\n")


def words_of(text: str) -> list[str]:
    import re

    return [w.lower() for w in re.findall(r"\w+", text)]


@pytest.fixture(scope="session")
def vocabulary() -> list[str]:
    return make_vocabulary(7)


@pytest.fixture(scope="session")
def secret_text(vocabulary: list[str]) -> str:
    """A 1,500-word 'confidential' document."""
    return make_text(101, 1500, vocabulary)


def corpus(name: str) -> Path:
    path = CORPORA / name
    if not path.is_dir():
        pytest.skip(f"{path} is absent (../shared is only on developer and CI machines)")
    return path


# --- a real redis-server, for the Redis store's tests -----------------------------------------

@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A real redis-server on a free loopback port; its port."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not on PATH (Debian: apt-get install redis-server)")
    try:
        proc, port = start_redis(tmp_path_factory.mktemp("redis"))
    except RedisServerError as exc:
        pytest.fail(str(exc))
    yield port
    proc.kill()
    proc.wait(30)
