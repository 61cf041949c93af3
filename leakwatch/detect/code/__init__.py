"""Copied code: tokens per language (Pygments), a normalized structure stream, greedy
string tiling against the registered code references, and the detector."""
