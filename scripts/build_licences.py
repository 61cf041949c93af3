"""Build the shipped licence reference (fingerprints/spdx-licences.npz) from SPDX licence texts.

Usage: python scripts/build_licences.py ../shared/corpora/spdx-license-texts [--output fingerprints/spdx-licences.npz]

The input folder holds text/<SPDX-ID>.txt and licenses.json (see its README). The output is
deterministic: the same input gives the same file, byte for byte.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from leakwatch.licences import build_reference, load_reference, save_reference


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path, help="folder with text/<SPDX-ID>.txt and licenses.json")
    parser.add_argument("--output", type=Path, default=Path(__file__).resolve().parent.parent
                        / "fingerprints" / "spdx-licences.npz")
    args = parser.parse_args()
    metadata = json.loads((args.corpus / "licenses.json").read_text(encoding="utf-8"))
    readme = (args.corpus / "README.md").read_text(encoding="utf-8")
    version = re.search(r"version (\d+\.\d+(?:\.\d+)?)", readme)
    source = f"SPDX License List {version.group(1)}" if version else "SPDX License List"
    ref = build_reference(args.corpus / "text", metadata, source)
    save_reference(ref, args.output)
    check = load_reference(args.output)
    ids = sum(len(t.ids) for t in check.texts)
    print(f"{args.output}: {source}, {ids} ids, {len(check.texts)} distinct texts, "
          f"{check.words.shape[0]} words, vocabulary {check.vocabulary.shape[0]}, "
          f"{args.output.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
