"""Visible text of HTML and XML with offsets that still index the decoded file.

Markup (tags, comments, declarations, script and style bodies) is replaced by
spaces of the same length, and an entity by its character followed by spaces, so
the extracted text has the file's length: a finding's offsets can be looked up in
the file itself. Line breaks inside markup are kept so line numbers also agree.
The stdlib parser is used because it never expands DTD entities (no entity bombs).
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

_NOT_LINEBREAK = re.compile(r"[^\r\n]")

# End-of-input rescans allowed per character of the document (see _Blanker._rescan).
_RESCAN_FACTOR = 2
_RESCAN_SLACK = 100_000

# Elements whose content is not visible text.
# (<head> holds only <title> text besides these, and is often left unclosed.)
HTML_HIDDEN = frozenset({"script", "style", "noscript", "template"})


class _GiveUp(Exception):
    """Raised inside the parser when unterminated constructs have cost too many rescans."""


class _Blanker(HTMLParser):
    def __init__(self, text: str, hidden: frozenset[str]) -> None:
        super().__init__(convert_charrefs=False)
        self._hidden = hidden
        self._text = text
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.pieces: list[tuple[int, str]] = []
        self._hidden_depth = 0
        self._at_end = False
        self._rescanned = 0
        self._rescan_budget = _RESCAN_FACTOR * len(text) + _RESCAN_SLACK

    # At end of input (close()), the stdlib parser (before CVE-2025-6069 was fixed in
    # 3.11.13/3.12.11/3.13.4) handles a construct that never terminates ("<!--", "<a b='",
    # "x<y" with no ">" after it) by passing a few characters on as data and trying again
    # from the next "<", each attempt scanning to the end of the document: quadratic, so
    # 160 KB of "<a b='" took minutes. Each failed attempt is charged its worst-case scan
    # length; past a budget linear in the document size, the rest of the document is
    # handed back as visible text unparsed (more text, never less).

    def close(self) -> None:
        self._at_end = True
        super().close()

    def _rescan(self, end: int, i: int) -> int:
        if end < 0 and self._at_end:
            self._rescanned += len(self.rawdata) - i
            if self._rescanned > self._rescan_budget:
                raise _GiveUp
        return end

    def parse_starttag(self, i: int) -> int:
        return self._rescan(super().parse_starttag(i), i)

    def parse_endtag(self, i: int) -> int:
        return self._rescan(super().parse_endtag(i), i)

    def parse_comment(self, i: int, report: bool = True) -> int:
        return self._rescan(super().parse_comment(i, report), i)

    def parse_pi(self, i: int) -> int:
        return self._rescan(super().parse_pi(i), i)

    def parse_html_declaration(self, i: int) -> int:
        return self._rescan(super().parse_html_declaration(i), i)

    def _offset(self) -> int:
        line, col = self.getpos()
        return self._line_starts[line - 1] + col

    def _visible(self) -> bool:
        return self._hidden_depth == 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._hidden:
            self._hidden_depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self._hidden and self._hidden_depth:
            self._hidden_depth -= 1

    def handle_data(self, data: str) -> None:
        if self._visible():
            self.pieces.append((self._offset(), data))

    def _entity(self, raw_prefix: str) -> None:
        if not self._visible():
            return
        start = self._offset()
        end = start + len(raw_prefix)
        if self._text.startswith(";", end):
            end += 1
        decoded = html.unescape(self._text[start:end])
        # An entity never grows: keep at most its own length of decoded characters.
        self.pieces.append((start, decoded[: end - start]))

    def handle_entityref(self, name: str) -> None:
        self._entity("&" + name)

    def handle_charref(self, name: str) -> None:
        self._entity("&#" + name)

    def unknown_decl(self, data: str) -> None:
        if data.startswith("CDATA[") and self._visible():
            self.pieces.append((self._offset() + len("<![CDATA["), data[len("CDATA[") :]))


def visible_text(text: str, hidden: frozenset[str] = HTML_HIDDEN) -> str:
    """Return ``text`` with markup blanked out, keeping every visible character at its offset.

    Args:
        text: the decoded HTML or XML document.
        hidden: elements whose content is dropped (script, style ... for HTML).
    """
    parser = _Blanker(text, hidden)
    parser.feed(text)
    try:
        parser.close()
    except _GiveUp:
        # The parser has consumed everything before its position; the rest stays as it is.
        rest = parser._offset()
        if parser._visible():
            parser.pieces.append((rest, text[rest:]))
    out: list[str] = []
    cursor = 0
    for start, piece in sorted(parser.pieces):
        if start < cursor:
            continue
        out.append(_NOT_LINEBREAK.sub(" ", text[cursor:start]))
        out.append(piece)
        cursor = start + len(piece)
    out.append(_NOT_LINEBREAK.sub(" ", text[cursor:]))
    result = "".join(out)
    # Decoded entities are shorter than their source; pad so the length never changes.
    return result + " " * (len(text) - len(result)) if len(result) < len(text) else result[: len(text)]
