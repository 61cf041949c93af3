"""Code tokens: normalized per language, spans into the original text, and the copied-code rule."""

from __future__ import annotations

import numpy as np
import pytest

from leakwatch.detect.code.tokens import (
    KIND_IDENTIFIER,
    KIND_KEYWORD,
    KIND_MODIFIER,
    KIND_NAMESPACE,
    KIND_NUMBER,
    KIND_STRING,
    KIND_TYPE,
    code_tokens,
    lex_code,
)
from leakwatch.extract.code import LANGUAGES
from leakwatch.text import Tokens

JAVA = """import java.util.Scanner;

/** Reads a radius and prints the area. */
public class Circle {
    public static void main(String[] args) {
        Scanner input = new Scanner(System.in); // keyboard
        double radius = input.nextDouble();
        double area = radius * radius * 3.14159;
        System.out.println("The area is " + area);
    }
}
"""

# Identifiers renamed, comments rewritten, layout changed, literals changed: same code.
JAVA_DISGUISED = """import java.util.Scanner;
/* Computes things.
   Author: someone else */
public class Bulat
{
  public static void main( String[] argumen )
  {
    Scanner sc=new Scanner( System.in );   // input
    // the radius
    double r=sc.nextDouble();
    double luas=r*r*3.14;
    System.out.println( "Luas: "+luas );
  }
}"""

PYTHON = '''def total(items, rate=0.2):
    """Sum with tax."""
    # accumulate
    acc = 0
    for item in items:
        acc += item.price * (1 + rate)
    return round(acc, 2)
'''

PYTHON_DISGUISED = '''def jumlah(barang, pajak=0.15):
    # no docstring here
    s = 0
    for b in barang:   # loop
        s += b.harga * (1 + pajak)
    return round(s, 3)
'''


def tokens_of(text: str, language: str | None, filename: str | None = None) -> Tokens:
    tokens = code_tokens(text, language, filename)
    assert tokens is not None
    return tokens


def spans(text: str, tokens: Tokens) -> list[str]:
    return [text[s:e] for s, e in zip(tokens.starts.tolist(), tokens.ends.tolist(), strict=True)]


@pytest.mark.parametrize(("original", "disguised", "language"),
                         [(JAVA, JAVA_DISGUISED, "java"), (PYTHON, PYTHON_DISGUISED, "python")])
def test_renaming_comments_and_layout_give_identical_streams(original: str, disguised: str, language: str) -> None:
    a, b = tokens_of(original, language), tokens_of(disguised, language)
    assert len(a) > 20
    assert a.ids.tolist() == b.ids.tolist()


def test_structure_still_counts() -> None:
    base = tokens_of("int x = a + b;", "java").ids.tolist()
    assert tokens_of("int y = c + d;", "java").ids.tolist() == base
    assert tokens_of("int x = a - b;", "java").ids.tolist() != base  # operators are kept
    assert tokens_of("double x = a + b;", "java").ids.tolist() != base  # so are primitive types
    assert tokens_of("int x = a + b", "java").ids.tolist() != base  # and punctuation


def test_token_arrays_have_the_documented_types() -> None:
    t = tokens_of("x = 1", "python")
    assert t.ids.dtype == np.uint64
    assert t.starts.dtype == np.int64
    assert t.ends.dtype == np.int64
    assert spans("x = 1", t) == ["x", "=", "1"]


def test_ids_are_stable_and_placeholders_are_shared() -> None:
    t = tokens_of('a = b + "s" + 7 + "t" + 9', "python")
    ids = t.ids.tolist()
    assert ids[0] == ids[2]  # identifiers
    assert ids[4] == ids[8]  # strings
    assert ids[6] == ids[10]  # numbers
    assert len({ids[0], ids[4], ids[6]}) == 3
    assert tokens_of('a = b + "s" + 7 + "t" + 9', "python").ids.tolist() == ids


def test_offsets_index_the_original_java_text() -> None:
    t = tokens_of(JAVA, "java")
    got = spans(JAVA, t)
    assert got[:6] == ["import", "java.util.Scanner", ";", "public", "class", "Circle"]
    assert '"The area is "' in got  # one token for the whole literal, quotes included
    assert "3.14159" in got
    assert not any("//" in s or "/*" in s or s != s.strip() for s in got)


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
@pytest.mark.parametrize(("text", "language"), [(JAVA, "java"), (PYTHON, "python"), (JAVA_DISGUISED, "java")])
def test_offsets_survive_crlf_and_tabs(text: str, language: str, newline: str) -> None:
    original = text.replace("    ", "\t").replace("\n", newline)
    lf = tokens_of(text, language)
    t = tokens_of(original, language)
    assert t.ids.tolist() == lf.ids.tolist()
    got = spans(original, t)
    assert [s.replace("\t", "    ") for s in got] == spans(text, lf)
    assert not any("\r" in s for s in got)


@pytest.mark.parametrize(("text", "language", "expected"), [
    ("x = 1 + \\\r\n    2\r\ny = 'a'  # c\r\n", "python", ["x", "=", "1", "+", "2", "y", "=", "'a'"]),
    ("#define N \\\r\n  5\r\nint x;\r\n", "c", ["int", "x", ";"]),
    # The heredoc's body is one string literal whatever its span takes in.
    ("s = <<EOS\r\nhi\r\nEOS\r\nputs s\r\n", "ruby", ["s", "=", "<<", "EOS", "puts", "s"]),
])
def test_line_continuations_and_heredocs_with_crlf(text: str, language: str, expected: list[str]) -> None:
    assert [s for s in spans(text, tokens_of(text, language)) if "hi" not in s] == expected
    lf = text.replace("\r\n", "\n")
    assert tokens_of(lf, language).ids.tolist() == tokens_of(text, language).ids.tolist()


def test_string_pieces_make_one_token() -> None:
    text = 'String s = "tab\\there" + \'c\';'
    assert spans(text, tokens_of(text, "java")) == ["String", "s", "=", '"tab\\there"', "+", "'c'", ";"]
    f_string = 'print(f"total {n} items")'
    # Interpolated code is still code: the literal around it is two string tokens.
    assert spans(f_string, tokens_of(f_string, "python")) == ["print", "(", 'f"total {', "n", '} items"', ")"]


def test_docstrings_are_comments() -> None:
    with_doc = 'def f(a):\n    """Explain."""\n    return a\n'
    without = "def g(b):\n    return b\n"
    assert tokens_of(with_doc, "python").ids.tolist() == tokens_of(without, "python").ids.tolist()


def test_byte_order_mark_and_unterminated_literal() -> None:
    text = '\ufeffclass A { String s = "open'
    t = tokens_of(text, "java")
    got = spans(text, t)
    assert got[0] == "class"
    assert int(t.ends[-1]) <= len(text)
    assert got[-1].startswith('"open')


@pytest.mark.parametrize("text", ["", "   \n\t", "// only a comment\n", "/* block */"])
def test_no_code_gives_no_tokens(text: str) -> None:
    t = tokens_of(text, "java")
    assert len(t) == 0
    assert t.ids.shape == t.starts.shape == t.ends.shape == (0,)


@pytest.mark.parametrize(("language", "filename"),
                         [("klingon", None), (None, None), (None, "notes.txt"), (None, "data.unknownext"), ("", None)])
def test_unknown_language_gives_none(language: str | None, filename: str | None) -> None:
    assert code_tokens("x = 1", language, filename) is None


def test_php_with_and_without_the_opening_tag() -> None:
    fragment = "$total = $a + 1;"
    page = "<p>hi</p>\n<?php $sum = $b + 2; ?>\n<p>bye</p>"
    assert spans(fragment, tokens_of(fragment, "php")) == ["$total", "=", "$a", "+", "1", ";"]
    assert tokens_of(page, "php").ids.tolist() == tokens_of(fragment, "php").ids.tolist()


def test_words_that_lexers_leave_as_plain_text() -> None:
    script = "cp $src /tmp/backup && echo done\n"
    renamed = "mv $from /var/x && echo done\n"
    assert spans(script, tokens_of(script, "shell")) == ["cp", "$src", "/tmp/backup", "&&", "echo", "done"]
    assert tokens_of(script, "shell").ids.tolist() == tokens_of(renamed, "shell").ids.tolist()


def test_filename_is_used_without_a_language_and_language_wins() -> None:
    assert tokens_of("int x = 1;", None, "Main.java").ids.tolist() == tokens_of("int x = 1;", "java").ids.tolist()
    assert tokens_of("x = 1", None, "tool.py").ids.tolist() == tokens_of("x = 1", "python").ids.tolist()
    assert tokens_of("x = 1", "python", "Main.java").ids.tolist() == tokens_of("x = 1", "python").ids.tolist()
    # Beyond the extractor's list, Pygments' own file name patterns.
    assert code_tokens("all: main.o\n\tcc -o main main.o\n", None, "build/Makefile") is not None


@pytest.mark.parametrize("language", sorted(set(LANGUAGES.values())))
def test_every_extracted_language_has_a_lexer(language: str) -> None:
    text = 'x = 1\r\ny = x + 2\nif y > 2 then\n  print("big", y)\nend if\n\tz = f(x, y) \\\n  + 3\n'
    t = tokens_of(text, language)
    assert len(t) >= 10
    assert np.all(t.ends > t.starts)
    assert np.all(np.diff(t.starts) > 0)
    assert int(t.ends.max()) <= len(text)
    got = spans(text, t)
    assert all(s == s.strip() for s in got)  # spans never take in layout
    assert "x" in got
    crlf = text.replace("\r\n", "\n").replace("\n", "\r\n")
    assert tokens_of(crlf, language).ids.tolist() == t.ids.tolist()


# --- kinds and comments, for the structure stream and the verbatim evidence ---

def test_each_token_has_its_kind_and_comments_keep_their_spans() -> None:
    text = ('import java.util.List;\n/** Doc. */\npublic class A {\n  private int n = 3; // three\n'
            '  String s = "hi";\n}\n')
    lexemes = lex_code(text, "java")
    assert lexemes is not None
    kinds = dict(zip(spans(text, lexemes.tokens), lexemes.kinds.tolist(), strict=False))
    assert kinds["import"] == kinds["java.util.List"] == KIND_NAMESPACE
    assert kinds["public"] == kinds["private"] == KIND_MODIFIER
    assert kinds["int"] == KIND_TYPE
    assert kinds["n"] == kinds["String"] == KIND_IDENTIFIER
    assert kinds['"hi"'] == KIND_STRING and kinds["3"] == KIND_NUMBER
    assert kinds["{"] == kinds["="] == KIND_KEYWORD
    assert [text[a:b] for a, b in lexemes.comments] == ["/** Doc. */", "// three"]
    assert lexemes.tokens.ids.tolist() == tokens_of(text, "java").ids.tolist()


def test_preprocessor_lines_are_not_comments() -> None:
    text = "#include <stdio.h>\n/* note */\nint main(void) { return 0; }\n"
    lexemes = lex_code(text, "c")
    assert lexemes is not None
    assert [text[a:b] for a, b in lexemes.comments] == ["/* note */"]
