"""Source code as disguisers cannot change it: the structure stream and the verbatim evidence.

A copier who wants a file to look new changes what carries no meaning: layout,
comments, names, braces around single statements, semicolons, extra parentheses,
``this.``, access modifiers, the order of imports, where a variable is declared
and the literal values. :func:`structure` erases all of that from the lexed tokens
(:func:`leakwatch.codetokens.lex_code`) and keeps the shape of the code:

* imports and package lines are dropped, and with them their order;
* ``{ } ; ( )`` are dropped (a body with and without braces, a condition with extra
  parentheses, read the same);
* ``this.`` / ``self.`` and the modifiers (public, private, protected, static,
  final ...) are dropped;
* a declaration loses its type: ``double area = r * r;`` reads as ``area = r * r``,
  and one without a value (``double area;``, a field list) is dropped, so moving
  declarations (IR-Plag's L3) changes nothing;
* identifiers, strings and numbers are one operand placeholder (a literal moved
  into a named constant reads the same); keywords, operators and built-ins stay.

What makes a copy a copy, against an independent solution of the same small task,
is what the copier did not bother to change. :func:`verbatim_items` collects it:
the text of string literals and of comment lines, normalized (case, punctuation,
escapes and format directives dropped, so ``"Welcome to Java\\n"`` and
``"welcome to Java"`` are one item). Comment lines that editors and licences put
in every file (IDE templates, ``@author`` lines, licence headers) are left out:
they are shared by independent files too.

The rules are written for the C family (Java, C, C++, C#, JavaScript, Go, Kotlin,
Swift, PHP, Rust); other languages keep their tokens, with comments, names and
literals erased as before.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import numpy as np

from leakwatch.detect.code.tokens import (
    KIND_IDENTIFIER,
    KIND_LITERAL,
    KIND_MODIFIER,
    KIND_NAMESPACE,
    KIND_NUMBER,
    KIND_STRING,
    KIND_TYPE,
    CodeLexemes,
    token_hash,
)
from leakwatch.text import Tokens

OPERAND = "\0operand"
_OPERAND_KINDS = (KIND_IDENTIFIER, KIND_STRING, KIND_NUMBER, KIND_LITERAL)
# Punctuation that carries no meaning once statements are compared as token runs.
_DROPPED_PUNCTUATION = frozenset({"{", "}", ";", "(", ")"})
_STATEMENT_ENDS = frozenset({"{", "}", ";"})
# Modifiers change nothing a copy is judged by (Keyword.Declaration in Pygments also
# holds `class`, `def`, `var`: those stay, or introduce a declaration).
_MODIFIERS = frozenset({
    "public", "private", "protected", "internal", "static", "final", "abstract", "synchronized",
    "transient", "volatile", "readonly", "sealed", "override", "virtual", "strictfp", "native", "mut",
})
# Words that introduce a declaration the way a type does (`let x = 1;`, `var x = 1;`).
_DECLARERS = frozenset({"var", "let", "const", "auto", "val"})
_SELF = frozenset({"this", "self"})
_MEMBER = frozenset({".", "->"})
# Inside a generic type's angle brackets: names, types, and these.
_GENERIC_PUNCTUATION = frozenset({",", ".", "?", "[", "]", "<", ">", ">>", "&", "extends", "super"})


def _is_type_like(kind: int, spelling: str) -> bool:
    return kind in (KIND_TYPE, KIND_IDENTIFIER) or (kind == KIND_MODIFIER and spelling in _DECLARERS)


def _type_end(kinds: list[int], words: list[str], i: int) -> int | None:
    """Index just past a type written at ``i`` (``int``, ``a.b.Name``, ``List<String>[]``), or None."""
    n = len(words)
    if i >= n or not _is_type_like(kinds[i], words[i]):
        return None
    j = i + 1
    while j + 1 < n and words[j] == "." and kinds[j + 1] == KIND_IDENTIFIER:
        j += 2
    if j < n and words[j] == "<":
        depth = 0
        while j < n:
            w = words[j]
            if w == "<":
                depth += 1
            elif w in (">", ">>"):
                depth -= 1 if w == ">" else 2
            elif w not in _GENERIC_PUNCTUATION and kinds[j] not in (KIND_TYPE, KIND_IDENTIFIER):
                return None  # a comparison (`i < n;`), not a generic type
            j += 1
            if depth <= 0:
                break
        if depth > 0:
            return None
    while j + 1 < n and words[j] == "[" and words[j + 1] == "]":
        j += 2
    return j


def _declarators(words: list[str], i: int) -> tuple[list[tuple[int, int]], int]:
    """The declarators of a declaration whose first name is at ``i``: the (start, end)
    of each that assigns a value, and the index after the declaration's end."""
    n = len(words)
    kept: list[tuple[int, int]] = []
    while i < n:
        start, depth, assigns = i, 0, False
        while i < n:
            w = words[i]
            if w in ("(", "[", "{"):
                depth += 1
            elif w in (")", "]", "}"):
                depth -= 1
                if depth < 0:
                    break
            elif depth == 0 and w in (",", ";"):
                break
            elif depth == 0 and w == "=":
                assigns = True
            i += 1
        if assigns:
            kept.append((start, i))
        if i < n and words[i] == ",":
            i += 1
            continue
        break
    return kept, i + 1 if i < n and words[i] == ";" else i


def _kept_positions(kinds: list[int], words: list[str], breaks: list[bool]) -> list[int]:
    """Indexes of the lexed tokens the structure keeps, in order (imports, `this.`,
    modifiers and declaration types left out)."""
    n = len(words)
    out: list[int] = []
    i = 0
    at_start = True
    while i < n:
        kind, w = kinds[i], words[i]
        if kind == KIND_NAMESPACE:
            # An import or package line, to its `;` or the end of its line.
            i += 1
            while i < n and not breaks[i] and words[i] != ";":
                i += 1
            if i < n and words[i] == ";":
                i += 1
            at_start = True
            continue
        if w in _SELF and i + 1 < n and words[i + 1] in _MEMBER:
            i += 2
            continue
        if kind == KIND_MODIFIER and w in _MODIFIERS:
            i += 1
            continue
        if at_start:
            j = _type_end(kinds, words, i)
            if j is not None and j + 1 < n and kinds[j] == KIND_IDENTIFIER and words[j + 1] in ("=", ";", ","):
                kept, i = _declarators(words, j)
                for a, b in kept:
                    out.extend(range(a, b))
                at_start = True
                continue
        out.append(i)
        at_start = w in _STATEMENT_ENDS or (w == "(" and i > 0 and words[i - 1] == "for")
        i += 1
    return out


@dataclass(frozen=True)
class VerbatimItem:
    """A string literal's or a comment line's text, normalized, as an unkeyed 64-bit hash."""

    hash: int
    kind: str  # "literal" or "comment"
    words: int
    pos: int  # index of the first structure token at or after it


@dataclass(frozen=True)
class NormalizedCode:
    """What copied-code matching uses of one source file."""

    structure: Tokens
    items: tuple[VerbatimItem, ...]


def structure(lexemes: CodeLexemes, text: str) -> Tokens:
    """The structure stream (see the module docstring); spans index ``text``."""
    tokens = lexemes.tokens
    n = len(tokens)
    if n == 0:
        return tokens
    starts, ends = tokens.starts.tolist(), tokens.ends.tolist()
    words = [text[s:e] for s, e in zip(starts, ends, strict=True)]
    kinds = lexemes.kinds.tolist()
    breaks = [False] + ["\n" in text[ends[i - 1]:starts[i]] for i in range(1, n)]
    operand = token_hash(OPERAND)
    keep = [p for p in _kept_positions(kinds, words, breaks) if words[p] not in _DROPPED_PUNCTUATION]
    idx = np.asarray(keep, dtype=np.int64)
    ids = tokens.ids[idx].copy()
    is_operand = np.isin(lexemes.kinds[idx], _OPERAND_KINDS)
    ids[is_operand] = np.uint64(operand)
    return Tokens(ids=ids, starts=tokens.starts[idx], ends=tokens.ends[idx])


_QUOTE_PREFIX = re.compile(r"^[A-Za-z]{0,3}(\"\"\"|'''|\"|'|`)")
_ESCAPE = re.compile(r"\\(?:[0-7]{1,3}|x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|.)")
_FORMAT = re.compile(r"%[-+ #0-9.]*[a-zA-Z]|\{[^{}]*\}")
_WORD = re.compile(r"[^\W_]+")
_COMMENT_MARKS = re.compile(r"^\s*(?:/\*+|\*+/?|//+|#+|--|;+|<!--|\"\"\"|''')?")
# Comment lines that editors write into every new file, and licence headers: shared by
# independent files, so never evidence of copying.
_BOILERPLATE = re.compile(
    r"^(author|param args|created by|created on|generated|todo)\b|to change this (license|licence|template)"
    r"|license headers|tools templates|open the template|auto generated|licen[cs]e|copyright|warrant|spdx",
)


def literal_words(spelling: str) -> list[str]:
    """The words of a string literal, lower-cased, without quotes, escapes and format directives."""
    body = _QUOTE_PREFIX.sub("", spelling.strip(), count=1).rstrip("\"'`")
    return _WORD.findall(_FORMAT.sub(" ", _ESCAPE.sub(" ", body)).lower())


def comment_lines(comment: str) -> list[list[str]]:
    """The words of each line of a comment worth comparing (three words at least, no boilerplate)."""
    out = []
    for line in comment.splitlines():
        words = _WORD.findall(_COMMENT_MARKS.sub("", line, count=1).lower())
        if len(words) >= 3 and not _BOILERPLATE.search(" ".join(words)):
            out.append(words)
    return out


def _item_hash(kind: str, words: list[str]) -> int:
    digest = hashlib.blake2b(f"verbatim\0{kind}\0{' '.join(words)}".encode("utf-8", "surrogatepass"),
                             digest_size=8)
    return int.from_bytes(digest.digest(), "little")


def verbatim_items(lexemes: CodeLexemes, text: str, stream: Tokens) -> tuple[VerbatimItem, ...]:
    """Distinct literal texts and comment lines of a file, each placed on ``stream``."""
    found: dict[int, VerbatimItem] = {}
    tokens = lexemes.tokens

    def add(kind: str, words: list[str], char: int) -> None:
        h = _item_hash(kind, words)
        if h not in found:
            pos = int(np.searchsorted(stream.starts, char))
            found[h] = VerbatimItem(h, kind, len(words), pos)

    for i in np.flatnonzero(lexemes.kinds == KIND_STRING).tolist():
        words = literal_words(text[int(tokens.starts[i]):int(tokens.ends[i])])
        if words:
            add("literal", words, int(tokens.starts[i]))
    for start, end in lexemes.comments:
        for words in comment_lines(text[start:end]):
            add("comment", words, start)
    return tuple(sorted(found.values(), key=lambda v: (v.pos, v.hash)))


def normalize_code(lexemes: CodeLexemes, text: str) -> NormalizedCode:
    stream = structure(lexemes, text)
    return NormalizedCode(stream, verbatim_items(lexemes, text, stream))
