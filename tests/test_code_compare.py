"""Disguise-proof structure streams, verbatim evidence, tiling and the copied-code decision.

Every disguise named in issue 20 gets a small Java fixture: the disguised copy must read
as the original does, and a look-alike independent solution of the same task must not
be taken for a copy.
"""

from __future__ import annotations

import numpy as np
import pytest

from leakwatch.detect.code.compare import (
    CODE_MATCH,
    Evidence,
    Region,
    Tile,
    covered,
    evidence,
    greedy_tiles,
    is_copy,
    passages,
)
from leakwatch.detect.code.normalize import NormalizedCode, comment_lines, literal_words, normalize_code
from leakwatch.detect.code.tokens import lex_code
from leakwatch.fingerprint import shingle_hashes

ORIGINAL = """import java.util.Scanner;

public class Cylinder {
    public static void main(String[] args) {
        Scanner input = new Scanner(System.in);
        // Enter radius of the cylinder
        System.out.print("Enter the radius and length of a cylinder: ");
        double radius = input.nextDouble();
        double length = input.nextDouble();
        if (radius < 0) {
            radius = -radius;
        }
        double area = radius * radius * 3.14159;
        double volume = area * length;
        System.out.println("The area is " + area);
        System.out.println("The volume of the cylinder is " + volume);
    }
}
"""

# Each disguise alone, applied to ORIGINAL.
DISGUISES = {
    "braces around a single statement": ("if (radius < 0) {\n            radius = -radius;\n        }",
                                         "if (radius < 0)\n            radius = -radius;"),
    "parentheses around conditions and terms": ("if (radius < 0)", "if (((radius < 0)))"),
    "extra semicolons": ("double volume = area * length;", "double volume = area * length;;"),
    "access modifiers": ("public static void main", "static void main"),
    "import order and wildcards": ("import java.util.Scanner;", "import java.io.*;\nimport java.util.*;"),
    "literal values": ("3.14159", "3.14"),
    "renamed identifiers": ("double area = radius * radius * 3.14159;\n        double volume = area * length;",
                            "double luas = radius * radius * 3.14159;\n        double volume = luas * length;"),
}


def normalized(text: str) -> NormalizedCode:
    lexemes = lex_code(text, "java")
    assert lexemes is not None
    return normalize_code(lexemes, text)


def words(text: str) -> list[str]:
    code = normalized(text)
    return [text[s:e] for s, e in zip(code.structure.starts.tolist(), code.structure.ends.tolist(), strict=True)]


def compare(reference: str, deliverable: str, k: int = CODE_MATCH.shingle_size) -> tuple[float, Evidence, bool]:
    """Coverage, evidence and decision for a whole reference, as the detector computes them
    (unkeyed hashes: keying maps equal values to equal values)."""
    ref, dlv = normalized(reference), normalized(deliverable)
    tiles = greedy_tiles(shingle_hashes(ref.structure.ids, k), shingle_hashes(dlv.structure.ids, k), k)
    n = len(ref.structure)
    coverage = float(covered(tiles, n).mean())
    proof = evidence(ref.items, {v.hash for v in dlv.items}, 0, n)
    return coverage, proof, is_copy(Region(0, n, tuple(tiles)), proof, coverage=coverage)


@pytest.mark.parametrize("disguise", sorted(DISGUISES))
def test_each_disguise_leaves_the_structure_stream_as_it_was(disguise: str) -> None:
    old, new = DISGUISES[disguise]
    assert old in ORIGINAL
    disguised = ORIGINAL.replace(old, new)
    assert normalized(disguised).structure.ids.tolist() == normalized(ORIGINAL).structure.ids.tolist()
    coverage, proof, copied = compare(ORIGINAL, disguised)
    assert coverage == 1.0 and copied
    assert proof.literals == proof.literals_found == 3


def test_this_dot_is_dropped() -> None:
    assert words("class A { int n; void f() { this.n = n + 1; } }") == words(
        "class A { int n; void f() { n = n + 1; } }")


def test_moved_declarations_read_the_same() -> None:
    moved = ORIGINAL.replace("double radius = input.nextDouble();", "radius = input.nextDouble();").replace(
        "double length = input.nextDouble();", "length = input.nextDouble();").replace(
        "Scanner input", "double radius, length;\n        Scanner input")
    assert normalized(moved).structure.ids.tolist() == normalized(ORIGINAL).structure.ids.tolist()
    fields = moved.replace("        double radius, length;\n", "").replace(
        "public class Cylinder {", "public class Cylinder {\n    private static double radius, length;")
    assert normalized(fields).structure.ids.tolist() == normalized(ORIGINAL).structure.ids.tolist()


def test_declaration_types_go_but_expressions_stay() -> None:
    assert words("int x = a + b;") == ["x", "=", "a", "+", "b"]
    assert words("List<String> names = new ArrayList<>();")[:3] == ["names", "=", "new"]
    # (Pygments' Java lexer gives `++` and `+=` as two operator tokens each.)
    assert words("for (int i = 0; i < n; i++) total += i;") == [
        "for", "i", "=", "0", "i", "<", "n", "i", "+", "+", "total", "+", "=", "i"]
    assert words("int[] xs;") == []  # a declaration without a value says nothing


def test_methods_in_another_order_are_still_covered_whole() -> None:
    two = """class Geometry {
    static double area(double r) { double a = r * r * 3.14159; System.out.println("the area is " + a); return a; }
    static double volume(double a, double h) { double v = a * h; System.out.println("the volume is " + v); return v; }
}"""
    swapped = """class Shapes {
    static double volume(double a, double h) { double v = a * h; System.out.println("the volume is " + v); return v; }
    static double area(double r) { double a = r * r * 3.14159; System.out.println("the area is " + a); return a; }
}"""
    assert normalized(two).structure.ids.tolist() != normalized(swapped).structure.ids.tolist()
    coverage, _, copied = compare(two, swapped)
    assert coverage > 0.9 and copied


def test_a_method_split_out_keeps_most_of_the_coverage() -> None:
    split = ORIGINAL.replace("double area = radius * radius * 3.14159;", "double area = area(radius);").replace(
        "    public static void main", "    static double area(double r) {\n        return r * r * 3.14159;\n"
        "    }\n\n    public static void main")
    coverage, _, copied = compare(ORIGINAL, split)
    assert 0.7 <= coverage < 1.0 and copied


LOOK_ALIKE = """import java.util.Scanner;

public class T02 {
    public static void main(String[] args) {
        Scanner sc = new Scanner(System.in);
        System.out.print("Enter the radius and length of a cylinder : ");
        double radius = sc.nextDouble();
        double length = sc.nextDouble();
        if (radius < 0) {
            radius = -radius;
        }
        double area = radius * radius * 3.14159;
        double volume = area * length;
        System.out.println("The area is " + area);
        System.out.println("The volume is " + volume);
    }
}
"""


def test_a_look_alike_independent_solution_does_not_fire() -> None:
    """Same task, same structure token for token, the task's prompts: but its own
    wording of the last message, which a copier would have kept."""
    coverage, proof, copied = compare(ORIGINAL, LOOK_ALIKE)
    assert coverage == 1.0  # structure alone cannot tell
    assert (proof.literals, proof.literals_found, proof.comments_found) == (3, 2, 0)
    assert not copied


def test_a_copied_comment_confirms_on_its_own() -> None:
    with_comment = LOOK_ALIKE.replace("        System.out.print(", "        // enter radius of the Cylinder!\n"
                                      "        System.out.print(")
    _, proof, copied = compare(ORIGINAL, with_comment)
    assert proof.comments_found == 1 and copied


def test_literals_are_compared_by_their_words() -> None:
    assert literal_words('"Welcome to Java\\n"') == literal_words('"welcome TO java"') == ["welcome", "to", "java"]
    assert literal_words('"Total: %.2f%n"') == ["total"]
    assert literal_words("f'sum {x} done'") == ["sum", "done"]
    assert literal_words('""') == []


def test_editor_templates_and_licence_headers_are_not_evidence() -> None:
    header = """/*
 * To change this license header, choose License Headers in Project Properties.
 * To change this template file, choose Tools | Templates
 * @author 65FBEF05E01FAC390CB3FA073FB3E8CF
 * Licensed under the Apache License, Version 2.0
 * Compute the volume of a cylinder
 */"""
    assert comment_lines(header) == [["compute", "the", "volume", "of", "a", "cylinder"]]
    assert comment_lines("// ok\n// TODO code application logic here") == []


def test_tiles_use_each_token_once() -> None:
    """A loop printing once does not cover a reference that prints five times."""
    five = "class A { static void main(String[] a) {" + ' System.out.println("Hi there you");' * 5 + " } }"
    loop = ('class B { static void main(String[] a) { for (int i = 0; i < 5; i++) '
            'System.out.println("Hi there you"); } }')
    coverage, proof, copied = compare(five, loop)
    assert proof.literals_found == 1  # the evidence is there, the structure is not
    assert coverage < 0.6 and not copied
    assert compare(five, five.replace("class A", "class C"))[2]


def test_greedy_tiles_take_the_longest_run_first_and_never_overlap() -> None:
    ref = np.array([1, 2, 3, 4, 5, 6, 7, 8], dtype=np.uint64)
    dlv = np.array([9, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6], dtype=np.uint64)
    tiles = greedy_tiles(ref, dlv, 3)
    # k-grams 0-5 of ref match k-grams 5-10 of dlv (8 tokens), then 4-7 at 1-4 are partly taken.
    assert tiles[0] == Tile(0, 5, 8)
    assert covered(tiles, len(ref) + 2).sum() == sum(t.length for t in tiles)
    used = covered(tiles, len(dlv) + 2, side="dlv")
    assert used.sum() == sum(t.length for t in tiles)


def test_passages_split_on_gaps() -> None:
    tiles = [Tile(0, 10, 20), Tile(25, 40, 10), Tile(200, 0, 30)]
    regions = passages(tiles, max_gap=20)
    assert [(r.start, r.end) for r in regions] == [(0, 35), (200, 230)]
    assert regions[0].coverage == pytest.approx(30 / 35)


def test_a_large_region_needs_no_verbatim_evidence_but_a_small_one_does() -> None:
    none = Evidence(literals=0, literals_found=0, literal_words_found=0, comments_found=0)
    big = Region(0, CODE_MATCH.unconfirmed_tokens, (Tile(0, 0, CODE_MATCH.unconfirmed_tokens),))
    small = Region(0, 80, (Tile(0, 0, 80),))
    assert is_copy(big, none) and not is_copy(small, none)
    one_word = Evidence(literals=1, literals_found=1, literal_words_found=1, comments_found=0)
    assert not is_copy(small, one_word)  # a lone "ok" proves nothing


def test_repetitive_code_copied_exactly_is_covered_whole() -> None:
    body = "class R { void f() {" + " x = a.b(c);" * 300 + " } }"
    ref = normalized(body)
    hashes = shingle_hashes(ref.structure.ids, 5)
    assert float(covered(greedy_tiles(hashes, hashes, 5), len(ref.structure)).mean()) == 1.0


def test_a_passage_lies_together_in_the_deliverable_too() -> None:
    """Pieces of one reference stretch found all over the deliverable are not a passage."""
    scattered = [Tile(0, 0, 10), Tile(12, 5000, 10), Tile(24, 10000, 10)]
    assert [(r.start, r.end) for r in passages(scattered, max_gap=20)] == [(0, 10), (12, 22), (24, 34)]
    swapped = [Tile(0, 100, 10), Tile(12, 85, 10)]  # reordered nearby: one passage
    assert [(r.start, r.end) for r in passages(swapped, max_gap=20)] == [(0, 22)]
