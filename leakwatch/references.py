"""Registered third-party reference material, kept apart from the confidential index.

``leakwatch reference add PATH --name NAME [--licence SPDX]`` registers material a
client must not receive unattributed: a competitor's public report, a stock-text
library, an open-source code tree. It lives in the store folder beside the
confidential index, in databases of its own, under the same key (so one
fingerprinting pass of a deliverable serves every look-up, and nothing unkeyed is
stored even though the material is public):

    references.sqlite        every reference file as text (word shingles)
    references-code.sqlite   reference source files as normalized code tokens

A reference's name and licence are kept as a note in ``references.sqlite``; its
documents carry the name as their label.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from leakwatch.codetokens import CODE_MATCH, code_tokens
from leakwatch.config import Config, FingerprintParams
from leakwatch.extract import extract_members
from leakwatch.fingerprint import fingerprint_tokens
from leakwatch.model import FileError, Status
from leakwatch.pipeline import FileExtract, analyse_paths, new_document
from leakwatch.store.base import FingerprintStore, SourceDocument, StoreError
from leakwatch.store.sqlite import KEY_NAME, SQLiteStore
from leakwatch.text import Tokens

TEXT_DB = "references.sqlite"
CODE_DB = "references-code.sqlite"
NOTE_PREFIX = "reference:"

# Code is matched on normalized token k-grams (identifiers, literals and layout
# erased), with the shingle size and window measured on IR-Plag (scripts/eval_code.py).
CODE_PARAMS = FingerprintParams(shingle_size=CODE_MATCH.shingle_size, winnow_window=CODE_MATCH.winnow_window)


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
            code = SQLiteStore(folder, params=CODE_PARAMS, key_file=key_path(config), create=create, db_name=CODE_DB)
        except StoreError:
            text.close()
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
                tokens = tokens_of_code(analysed.extracted.text, analysed.extracted.language,
                                         analysed.registered_path)
                if tokens is not None:
                    fp = fingerprint_tokens(tokens, CODE_PARAMS, self.code.key)
                    self.code.add_document(new_document(analysed, self.code, name, None, fp))
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
        self.text.write_note(NOTE_PREFIX + name, None)
        return removed


def ensure_private_folder(folder: Path) -> None:
    """Create the store folder 0700 (the databases inside inherit nothing looser)."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
