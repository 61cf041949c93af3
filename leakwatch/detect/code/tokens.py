"""Source code as normalized token streams, for finding copied code (as MOSS does).

A copy of code is usually disguised by renaming identifiers, rewriting comments,
reformatting and moving statements around. The code is lexed per language with
Pygments (some 500 languages), comments (docstrings included) and whitespace are
dropped, every identifier becomes one placeholder, every string literal another
(the pieces Pygments splits a literal into are merged first) and every number a
third, while keywords, operators and punctuation stay themselves. Built-ins
(``len``, ``print``, ``self``, ``ValueError``), which a copier does not rename, are
kept as themselves too; class names such as ``String`` are identifiers, as the
lexers see them.

:func:`lex_code` also says what each kept token is (a type, a modifier, an import,
a name, a literal ...) and where the comments are: the disguise-proof structure
stream and the verbatim evidence of :mod:`leakwatch.detect.code.normalize` are built from
that, and copied code is matched on them (:mod:`leakwatch.detect.code.compare`).

Every token keeps the character span of its original text, so findings point
at the code as written.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePath
from typing import TYPE_CHECKING

import numpy as np

from leakwatch.text import Tokens

if TYPE_CHECKING:
    from pygments.lexer import Lexer
    from pygments.token import _TokenType

# Placeholders start with a NUL so that no keyword, operator or punctuation of any
# language can be spelled like one.
IDENTIFIER = "\0id"
STRING = "\0str"
NUMBER = "\0num"
LITERAL = "\0lit"  # other literals (dates, ...), rare

# leakwatch.extract.code.LANGUAGES names that are not Pygments aliases themselves.
_PYGMENTS_ALIASES: dict[str, str] = {"vb": "vbnet", "shell": "bash"}

# What a token type turns into: dropped, kept as its own text (_KEEP), or replaced
# by a fixed placeholder. Strings get their own marker because the pieces of one
# literal (quote, body, escapes, interpolation markers) are merged into one token.
_DROP = 0
_KEEP = 1
_STRING = 2
_PLACEHOLDER = 3
_TEXT = 4  # plain Text: whitespace in most lexers, but words in some (Bash, Stata)
_COMMENT = 5  # dropped from the stream, but its span is kept for the verbatim evidence

# What each kept token is, for the disguise-proof normalization of
# :mod:`leakwatch.detect.code.normalize` (which needs to tell a type from a name, a modifier
# from a keyword, an import from code).
KIND_KEYWORD = 0  # keywords, operators, punctuation, built-ins: kept as spelled
KIND_IDENTIFIER = 1
KIND_STRING = 2
KIND_NUMBER = 3
KIND_LITERAL = 4
KIND_TYPE = 5  # int, double, void ... (Pygments' Keyword.Type)
KIND_MODIFIER = 6  # public, static, final, class ... (Keyword.Declaration)
KIND_NAMESPACE = 7  # import, package, using and the names they take


def token_hash(normalized: str) -> int:
    """Stable 64-bit id of a normalized code token.

    Case is kept (``String`` and ``string`` differ in most languages) and a domain
    prefix keeps code token ids apart from the word ids of prose.
    """
    digest = hashlib.blake2b(b"code\0" + normalized.encode("utf-8", "surrogatepass"), digest_size=8)
    return int.from_bytes(digest.digest(), "little")


def _action(ttype: _TokenType) -> int | str:
    """How tokens of one Pygments type are normalized (see the module docstring)."""
    from pygments import token as t

    if ttype is t.Text:
        return _TEXT
    if (ttype in t.Comment and ttype not in t.Comment.Preproc and ttype not in t.Comment.PreprocFile
            and ttype not in t.Comment.Hashbang) or ttype in t.String.Doc:
        return _COMMENT  # docstrings are comments in effect
    if ttype in t.Comment or ttype in t.Text or ttype in t.Other:
        # Text.Whitespace, preprocessor lines; Other is what a lexer leaves to another
        # language (the inline HTML of a PHP file).
        return _DROP
    if ttype in t.String:
        return _STRING
    if ttype in t.Number:
        return NUMBER
    if ttype in t.Literal:
        return LITERAL
    if ttype in t.Name.Builtin or ttype in t.Name.Exception:
        # Built-ins (len, print, self, ValueError) are not renamed by a copier and
        # carry what the code does.
        return _KEEP
    if ttype in t.Name:
        return IDENTIFIER
    # Keywords (types such as int/double included), operators, punctuation, and
    # the Error tokens of characters a lexer did not expect.
    return _KEEP


@lru_cache(maxsize=64)
def _lexer_by_name(alias: str, **options: bool) -> Lexer | None:
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        # Only get_tokens_unprocessed is used, which ignores these options; they are
        # set anyway so that the lexer can never rewrite the text it is given.
        return get_lexer_by_name(alias, stripnl=False, stripall=False, ensurenl=False, **options)
    except ClassNotFound:
        return None


def lexer_for(language: str | None, filename: str | None = None) -> Lexer | None:
    """The Pygments lexer for a language name (as in :data:`leakwatch.extract.code.LANGUAGES`)
    or, without one, for a file name; None when there is none or it is the plain-text lexer."""
    if language:
        alias = language.lower()
        return _lexer_by_name(_PYGMENTS_ALIASES.get(alias, alias))
    if not filename:
        return None
    from leakwatch.extract.code import LANGUAGES

    name = PurePath(filename).name
    known = LANGUAGES.get(PurePath(name).suffix.lower())
    return lexer_for(known) if known is not None else _lexer_for_filename(name)


@lru_cache(maxsize=256)
def _lexer_for_filename(name: str) -> Lexer | None:
    from pygments.lexers import get_lexer_for_filename
    from pygments.util import ClassNotFound

    try:
        lexer = get_lexer_for_filename(name, stripnl=False, stripall=False, ensurenl=False)
    except ClassNotFound:
        return None
    return None if "text" in lexer.aliases else lexer


# One object, so that the loop tells dropped types by identity.
_DROP_ACTION = (_DROP, 0, 0)


def _kind(ttype: _TokenType, action: int | str) -> int:
    from pygments import token as t

    if ttype in t.Keyword.Namespace or ttype in t.Name.Namespace:
        return KIND_NAMESPACE
    if ttype in t.Keyword.Type:
        return KIND_TYPE
    if ttype in t.Keyword.Declaration:
        return KIND_MODIFIER
    return {IDENTIFIER: KIND_IDENTIFIER, NUMBER: KIND_NUMBER, LITERAL: KIND_LITERAL, _STRING: KIND_STRING,
            _TEXT: KIND_IDENTIFIER}.get(action, KIND_KEYWORD)


def _compiled_action(ttype: _TokenType) -> tuple[int, int, int]:
    """(what, id of the placeholder or 0, kind) for a token type."""
    action = _action(ttype)
    if action == _DROP:
        return _DROP_ACTION
    kind = _kind(ttype, action)
    return (_PLACEHOLDER, _id_of(action), kind) if isinstance(action, str) else (action, 0, kind)


# Per process: token type -> action, and normalized text -> id. Both only grow with
# the number of distinct types and keyword/operator spellings, which is small.
_ACTIONS: dict[_TokenType, tuple[int, int, int]] = {}
_IDS: dict[str, int] = {}
# Spelling of a kept token -> (id, leading and trailing whitespace to leave out of its span).
_KEPT: dict[str, tuple[int, int, int]] = {}


def _id_of(normalized: str) -> int:
    found = _IDS.get(normalized)
    if found is None:
        found = _IDS[normalized] = token_hash(normalized)
    return found


def _kept(value: str) -> tuple[int, int, int]:
    """Id and whitespace margins of a kept token's spelling; a lead of -1 for blank ones."""
    word = value.strip()
    if not word:
        return 0, -1, 0
    lead = len(value) - len(value.lstrip())
    return _id_of(word), lead, len(value) - lead - len(word)


def _is_operator(word: str) -> bool:
    return not any(c.isalnum() or c == "_" for c in word)


@dataclass(frozen=True)
class CodeLexemes:
    """A source file as its lexer read it: the kept tokens (normalized ids and spans),
    what each of them is, and where the comments are."""

    tokens: Tokens
    kinds: np.ndarray  # int8 KIND_* per token
    comments: tuple[tuple[int, int], ...]  # character spans of comments and docstrings

    def spelling(self, text: str, i: int) -> str:
        return text[int(self.tokens.starts[i]):int(self.tokens.ends[i])]


def code_tokens(text: str, language: str | None, filename: str | None = None) -> Tokens | None:
    """Normalized code tokens of ``text`` with their spans in ``text``.

    Args:
        text: the source code, exactly as extracted (offsets index it).
        language: a language name such as ``"java"`` or ``"python"``; wins over ``filename``.
        filename: used to find a lexer when ``language`` is None.

    Returns:
        One element per kept token (see the module docstring), or None when no
        lexer is known for the language or file name.
    """
    lexemes = lex_code(text, language, filename)
    return None if lexemes is None else lexemes.tokens


def lex_code(text: str, language: str | None, filename: str | None = None) -> CodeLexemes | None:
    """:func:`code_tokens` with each token's kind and the comments' spans."""
    lexer = lexer_for(language, filename)
    if lexer is None:
        return None
    if "php" in lexer.aliases and "<?" not in text:
        # PHP code outside <?php ... ?> is inline HTML to Pygments: a fragment without
        # the tag would have no code at all.
        lexer = _lexer_by_name("php", startinline=True)
        assert lexer is not None
    # Lexers are written for "\n" line ends (a "\r" ends up inside a comment, or breaks
    # a line continuation or a rule anchored at a line end), so a CR is replaced by
    # something of the same length, which keeps every offset an index into the
    # original text: CRLF by an empty line, which lexers do not mind (a blank after
    # the newline would break heredoc ends and column rules), except after a line
    # continuation, which an empty line would end. A final newline is added for
    # rules that need one; no token may lie past the real end.
    lexed = text.replace("\\\r\n", "\\\n ").replace("\r\n", "\n\n").replace("\r", "\n")
    if lexed.startswith("\ufeff"):
        lexed = " " + lexed[1:]  # a byte-order mark is not code (lexers call it an error token)
    if not lexed.endswith("\n"):
        lexed += "\n"
    size = len(text)

    actions_get = _ACTIONS.get
    keeps_get = _KEPT.get
    drop = _DROP_ACTION
    ids: list[int] = []
    starts: list[int] = []
    ends: list[int] = []
    kinds: list[int] = []
    comments: list[tuple[int, int]] = []
    add_id, add_start, add_end, add_kind = ids.append, starts.append, ends.append, kinds.append
    string_id = _id_of(STRING)
    identifier_id = _id_of(IDENTIFIER)
    in_string_until = -1  # end of the string literal being merged, or -1
    # The hot loop: one dictionary look-up for most tokens (whitespace is dropped on
    # it), a second for the spelling of kept ones. Branches in order of frequency.
    for start, ttype, value in lexer.get_tokens_unprocessed(lexed):
        action = actions_get(ttype)
        if action is drop:
            continue
        if action is None:
            action = _ACTIONS[ttype] = _compiled_action(ttype)
            if action is drop:
                continue
        what, token_id, kind = action
        if not value:  # some lexers (Perl) also yield empty tokens
            continue
        end = start + len(value)
        if what == _KEEP:
            kept = keeps_get(value)
            if kept is None:
                kept = _KEPT[value] = _kept(value)
            token_id, lead, trail = kept
            if lead or trail:  # a lexer that puts line ends into tokens (Stata)
                if lead < 0:
                    continue
                start += lead
                end -= trail
            in_string_until = -1
        elif what == _PLACEHOLDER:
            in_string_until = -1
        elif what == _STRING:
            if in_string_until == start:
                # The next piece of the same literal: widen its span.
                ends[-1] = in_string_until = end
                continue
            if value == "\\\n":
                continue  # a line continuation, which Bash calls an escape
            token_id = string_id
            in_string_until = end
        elif what == _COMMENT:
            if comments and comments[-1][1] == start:  # the pieces of one comment
                comments[-1] = (comments[-1][0], min(end, size))
            elif start < size:
                comments.append((start, min(end, size)))
            continue
        else:  # _TEXT
            word = value.strip()
            if not word or word == "\\":  # whitespace, or a line continuation
                continue
            in_string_until = -1
            start += len(value) - len(value.lstrip())
            end = start + len(word)
            # What a lexer left as plain text is words (commands, file names, variables)
            # or operators: words become identifiers, operators stay.
            if _is_operator(word):
                token_id, kind = _id_of(word), KIND_KEYWORD
            else:
                token_id = identifier_id
        add_id(token_id)
        add_start(start)
        add_end(end)
        add_kind(kind)
    # Nothing may lie in the added newline: an unterminated literal that ran into it
    # ends where the text does, a token made of it alone is dropped.
    while starts and starts[-1] >= size:
        del ids[-1], starts[-1], ends[-1], kinds[-1]
    if ends and ends[-1] > size:
        ends[-1] = size
    tokens = Tokens(
        ids=np.asarray(ids, dtype=np.uint64),
        starts=np.asarray(starts, dtype=np.int64),
        ends=np.asarray(ends, dtype=np.int64),
    )
    return CodeLexemes(tokens, np.asarray(kinds, dtype=np.int8), tuple(comments))
