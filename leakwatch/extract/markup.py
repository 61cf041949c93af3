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

# Elements whose content is not visible text.
# (<head> holds only <title> text besides these, and is often left unclosed.)
HTML_HIDDEN = frozenset({"script", "style", "noscript", "template"})


class _Blanker(HTMLParser):
    def __init__(self, text: str, hidden: frozenset[str]) -> None:
        super().__init__(convert_charrefs=False)
        self._hidden = hidden
        self._text = text
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.pieces: list[tuple[int, str]] = []
        self._hidden_depth = 0

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
    parser.close()
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
