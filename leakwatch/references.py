"""Registered third-party reference material, kept apart from the confidential index.

``leakwatch reference add PATH --name NAME [--licence SPDX]`` registers material a
client must not receive unattributed: a competitor's public report, a stock-text
library, an open-source code tree. It lives in the store folder beside the
confidential index, in databases of its own, under the same key (so one
fingerprinting pass of a deliverable serves every look-up, and nothing unkeyed is
stored even though the material is public):

    references.sqlite        every reference file as text (word shingles)
    references-code.sqlite   reference source files as their structure stream
                             (:mod:`leakwatch.detect.code.normalize`): every keyed k-gram
                             with its position, and, per file, the keyed hashes of
                             its literal texts and comment lines (a note)

A reference's name and licence are kept as a note in ``references.sqlite``; its
documents carry the name as their label. The code database carries its own format
version (:data:`CODE_FORMAT`): one written by an earlier normalization is refused
with the command that rebuilds it, since its k-grams would never match.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

import leakwatch
from leakwatch.config import Config, FingerprintParams
from leakwatch.detect.code.compare import CODE_MATCH
from leakwatch.detect.code.normalize import NormalizedCode, VerbatimItem, normalize_code
from leakwatch.detect.code.tokens import code_tokens, lex_code
from leakwatch.extract import extract_members
from leakwatch.fingerprint import fingerprint_tokens
from leakwatch.keys import KEY_NAME
from leakwatch.model import FileError, Status
from leakwatch.pipeline import FileExtract, analyse_paths, new_document
from leakwatch.store.base import FingerprintStore, SourceDocument, StoreError
from leakwatch.store.sqlite import SQLiteStore
from leakwatch.text import Tokens

if TYPE_CHECKING:
    from leakwatch.keys import StoreKey

TEXT_DB = "references.sqlite"
CODE_DB = "references-code.sqlite"
NOTE_PREFIX = "reference:"

# Code is matched on the k-grams of its structure stream, every one of them kept
# (window 1): greedy string tiling needs the reference's whole sequence.
CODE_PARAMS = FingerprintParams(shingle_size=CODE_MATCH.shingle_size, winnow_window=1)
# Version 1: winnowed 10-token k-grams of identifier-erased tokens (no note).
# Version 2: every 5-token k-gram of the structure stream, and the verbatim notes.
CODE_FORMAT = 2
CODE_FORMAT_NOTE = "code-format"
VERBATIM_NOTE = "verbatim:"
# Domain of the keyed hashes of verbatim items (apart from shingles and word bags).
VERBATIM_DOMAIN = np.uint64(0x5645524254494D31)  # "VERBTIM1"


@dataclass(frozen=True)
class Reference:
    name: str
    licence: str | None
    added_at: str
    files: int
    code_files: int


def key_path(config: Config) -> Path:
    return Path(config.key_file) if config.key_file else Path(config.store) / KEY_NAME


def tokens_of_code(analysed_text: str, language: str | None, path: str) -> Tokens | None:
    """Normalized code tokens of a source file, or None when its language has no lexer."""
    tokens = code_tokens(analysed_text, language, path)
    return tokens if tokens is not None and len(tokens) >= CODE_PARAMS.shingle_size else None


def normalized_code(text: str, language: str | None, path: str) -> NormalizedCode | None:
    """The structure stream and verbatim items of a source file, or None when its
    language has no lexer or it is too short for one k-gram."""
    lexemes = lex_code(text, language, path)
    if lexemes is None:
        return None
    code = normalize_code(lexemes, text)
    return code if len(code.structure) >= CODE_PARAMS.shingle_size else None


def keyed_items(items: Iterable[VerbatimItem], key: StoreKey) -> list[VerbatimItem]:
    """The items with their hashes keyed (what the store keeps, and what is compared)."""
    items = list(items)
    hashes = key.prf64(np.asarray([v.hash for v in items], dtype=np.uint64), VERBATIM_DOMAIN)
    return [dataclasses.replace(v, hash=int(h)) for v, h in zip(items, hashes.tolist(), strict=True)]


def encode_items(items: Iterable[VerbatimItem]) -> str:
    return json.dumps([[str(v.hash), v.kind[0], v.words, v.pos] for v in items], separators=(",", ":"))


def decode_items(note: str) -> list[VerbatimItem]:
    kinds = {"l": "literal", "c": "comment"}
    return [VerbatimItem(int(h), kinds[k], int(w), int(p)) for h, k, w, p in json.loads(note)]


def check_code_format(code: SQLiteStore, created: bool) -> None:
    """Refuse a code database of another format version (an empty one is taken over)."""
    found = code.read_notes(CODE_FORMAT_NOTE).get(CODE_FORMAT_NOTE)
    if found == str(CODE_FORMAT):
        return
    if created or (found is None and code.count_documents() == 0 and code.params == CODE_PARAMS):
        code.write_note(CODE_FORMAT_NOTE, str(CODE_FORMAT))
        return
    raise StoreError(
        f"{code.location} holds code references in format {found or 1}, which this leakwatch "
        f"({leakwatch.__version__}) cannot match (format {CODE_FORMAT}: a new code normalization). "
        f"Remove that file and register the code references again with `leakwatch reference add PATH "
        f"--name NAME` (`leakwatch reference list` names them; their text database is kept)."
    )


@dataclass
class ReferenceLibrary:
    """The two reference databases of a store folder."""

    text: SQLiteStore
    code: SQLiteStore
    errors: list[FileError] = field(default_factory=list)

    @classmethod
    def open(cls, config: Config, main: FingerprintStore, create: bool = False) -> ReferenceLibrary | None:
        """Open the library beside ``main`` (None when nothing was ever registered and
        ``create`` is false)."""
        folder = Path(config.store)
        if not create and not (folder / TEXT_DB).exists():
            return None
        if create:
            ensure_private_folder(folder)
        text = SQLiteStore(folder, params=main.params, key_file=key_path(config), create=create, db_name=TEXT_DB)
        try:
            new_code = not (folder / CODE_DB).exists()
            code = SQLiteStore(folder, params=CODE_PARAMS, key_file=key_path(config), create=create, db_name=CODE_DB)
        except StoreError:
            text.close()
            raise
        try:
            check_code_format(code, new_code)
        except StoreError:
            text.close()
            code.close()
            raise
        if text.key.key_id != main.key.key_id or text.params != main.params:
            text.close()
            code.close()
            raise StoreError(f"the references in {folder} were registered with another key or other parameters")
        return cls(text, code)

    def close(self) -> None:
        self.text.close()
        self.code.close()

    def __enter__(self) -> ReferenceLibrary:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- registry -----------------------------------------------------------------------

    def references(self) -> list[Reference]:
        out = []
        for key, value in self.text.read_notes(NOTE_PREFIX).items():
            info = json.loads(value)
            out.append(Reference(key[len(NOTE_PREFIX):], info.get("licence"), info["added_at"],
                                 int(info.get("files", 0)), int(info.get("code_files", 0))))
        return out

    def reference(self, name: str) -> Reference | None:
        return next((r for r in self.references() if r.name == name), None)

    def verbatim_items(self, doc: SourceDocument) -> list[VerbatimItem]:
        """The keyed verbatim items of a code reference file (none when it has no note)."""
        note = self.code.read_notes(VERBATIM_NOTE + doc.doc_id).get(VERBATIM_NOTE + doc.doc_id)
        return decode_items(note) if note else []

    def describe(self, doc: SourceDocument) -> dict[str, object]:
        """The ``reference`` object of a finding from one of this library's documents."""
        ref = self.reference(doc.label)
        return {"name": doc.label, "licence": ref.licence if ref else None}

    def add(self, paths: Iterable[Path], name: str, licence: str | None, config: Config,
            extract: FileExtract = extract_members) -> tuple[int, int]:
        """Register every file under ``paths`` as reference ``name``. Files that cannot
        be read are recorded in :attr:`errors`. Returns (files, code files) added."""
        files = code_files = 0
        # The key and parameters of the text database are the deliverable's: the same
        # analysis serves the confidential index and the references.
        for analysed in analyse_paths(paths, config, self.text, extract):
            if isinstance(analysed, FileError):
                self.errors.append(analysed)
                continue
            if analysed.fingerprints.keyed.size == 0:
                self.errors.append(FileError(analysed.shown, Status.UNSUPPORTED,
                                             "too few words to fingerprint"))
                continue
            self.text.add_document(new_document(analysed, self.text, name, None))
            files += 1
            if analysed.extracted.format == "code":
                code = normalized_code(analysed.extracted.text, analysed.extracted.language,
                                       analysed.registered_path)
                if code is not None:
                    fp = fingerprint_tokens(code.structure, CODE_PARAMS, self.code.key)
                    fp = dataclasses.replace(fp, winnowed=np.arange(fp.keyed.shape[0], dtype=np.int64))
                    doc, _ = self.code.add_document(new_document(analysed, self.code, name, None, fp))
                    self.code.write_note(VERBATIM_NOTE + doc.doc_id,
                                         encode_items(keyed_items(code.items, self.code.key)))
                    code_files += 1
        previous = self.reference(name)
        if files == 0 and previous is None:
            return 0, 0  # nothing registered: no empty reference either
        self.text.write_note(NOTE_PREFIX + name, json.dumps({
            "licence": licence if licence is not None else (previous.licence if previous else None),
            "added_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "files": len([d for d in self.text.list_documents() if d.label == name]),
            "code_files": len([d for d in self.code.list_documents() if d.label == name]),
        }))
        return files, code_files

    def remove(self, name: str) -> int:
        """Unregister reference ``name``; returns how many files it had."""
        removed = 0
        for store in (self.text, self.code):
            for doc in store.list_documents():
                if doc.label == name:
                    store.remove_document(doc.doc_id)
                    removed += store is self.text
                    if store is self.code:
                        store.write_note(VERBATIM_NOTE + doc.doc_id, None)
        self.text.write_note(NOTE_PREFIX + name, None)
        return removed


def ensure_private_folder(folder: Path) -> None:
    """Create the store folder 0700 (the databases inside inherit nothing looser)."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
