"""Build the shipped licence reference (leakwatch/detect/licence/spdx-licences.npz) from the SPDX templates.

Usage: python scripts/build_licences.py LICENSE-LIST-XML [--output leakwatch/detect/licence/spdx-licences.npz]

LICENSE-LIST-XML is a checkout of the SPDX project's license-list-XML repository at a release
tag (the shipped file: v3.28.0), or any folder holding its ``src/*.xml`` and ``RELEASE-NOTES.md``.
Those sources mark each licence's optional text (``<optional>``) and replaceable text
(``<alt>``, copyright lines, bullets), which the reference keeps as one class per word; see
``leakwatch/licence_templates.py``. The output is deterministic: the same input gives the same
file, byte for byte.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from leakwatch.detect.licence.templates import read_templates
from leakwatch.detect.licence.texts import build_reference, load_reference, save_reference


def list_version(root: Path) -> str:
    """The SPDX License List release of a license-list-XML checkout (its newest release note)."""
    notes = root / "RELEASE-NOTES.md"
    found = re.search(r"^## version (\d+\.\d+(?:\.\d+)?)", notes.read_text(encoding="utf-8"), re.MULTILINE) \
        if notes.is_file() else None
    return f"SPDX License List {found.group(1)}" if found else "SPDX License List"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("xml", type=Path, help="license-list-XML checkout (with src/*.xml)")
    parser.add_argument("--output", type=Path, default=Path(__file__).resolve().parent.parent
                        / "leakwatch" / "detect" / "licence" / "spdx-licences.npz")
    args = parser.parse_args()
    src = args.xml / "src" if (args.xml / "src").is_dir() else args.xml
    source = list_version(src.parent)
    ref = build_reference(read_templates(src), source)
    save_reference(ref, args.output)
    check = load_reference(args.output)
    ids = sum(len(t.ids) for t in check.texts)
    print(f"{args.output}: {source}, {ids} ids, {len(check.texts)} distinct texts, "
          f"{check.words.shape[0]} words, vocabulary {check.vocabulary.shape[0]}, "
          f"{args.output.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
