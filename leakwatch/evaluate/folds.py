"""Grouped k-fold plans for a PAN corpus: no document in two folds.

A source document is often listed with several suspicious documents, and a
suspicious document with several sources, so folds drawn by pair, or by
suspicious document alone, would put one source in a training fold and a test
fold. The pairs are grouped instead by the connected components of the pair
graph (documents are nodes, listed pairs are edges): on the PAN 2013 training
set that gives 330 components, the largest 74 documents, which is a topic of the
corpus with the documents drawn on it. Components are dealt to folds largest
first, each to the fold with the fewest pairs so far (ties: the lower fold), so
the plan is deterministic and the folds hold about as many pairs each.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from leakwatch.evaluate.pan import PanPair


@dataclass(frozen=True)
class Fold:
    """One fold: its pairs and the documents they name (on each side)."""

    number: int
    pairs: tuple[PanPair, ...]

    @property
    def susp(self) -> frozenset[str]:
        return frozenset(p.susp for p in self.pairs)

    @property
    def src(self) -> frozenset[str]:
        return frozenset(p.src for p in self.pairs)

    def to_dict(self) -> dict[str, Any]:
        classes: dict[str, int] = {}
        for p in self.pairs:
            classes[p.obfuscation_class] = classes.get(p.obfuscation_class, 0) + 1
        return {"fold": self.number, "pairs": len(self.pairs), "suspicious": len(self.susp),
                "sources": len(self.src), "classes": dict(sorted(classes.items()))}


def components(pairs: Iterable[PanPair]) -> list[list[PanPair]]:
    """The pairs grouped by connected component of the pair graph, each in corpus order."""
    parent: dict[str, str] = {}

    def root(node: str) -> str:
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    pairs = list(pairs)
    for p in pairs:
        a, b = root("susp:" + p.susp), root("src:" + p.src)
        if a != b:
            parent[max(a, b)] = min(a, b)
    groups: dict[str, list[PanPair]] = {}
    for p in pairs:
        groups.setdefault(root("susp:" + p.susp), []).append(p)
    return list(groups.values())


def plan_folds(pairs: Iterable[PanPair], k: int) -> list[Fold]:
    """``k`` folds of whole components, balanced by pair count."""
    if k < 2:
        raise ValueError("a fold plan needs at least 2 folds")
    groups = sorted(components(pairs), key=lambda g: (-len(g), min(p.susp for p in g)))
    dealt: list[list[PanPair]] = [[] for _ in range(k)]
    for group in groups:
        min(dealt, key=len).extend(group)  # min() takes the first of equals: the lower fold
    return [Fold(n, tuple(fold)) for n, fold in enumerate(dealt)]


def fold_of(folds: list[Fold]) -> dict[str, int]:
    """Each document's fold, by file name (suspicious and source names never collide in PAN)."""
    return {doc: f.number for f in folds for doc in (f.susp | f.src)}
