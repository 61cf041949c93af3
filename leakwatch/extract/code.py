"""Source code: decoded text, with the language named from the file extension
(per-language token streams for copied-code detection build on this)."""

from __future__ import annotations

from pathlib import Path

from leakwatch.config import ExtractLimits
from leakwatch.extract.text import TextExtractor
from leakwatch.model import ExtractedText

LANGUAGES: dict[str, str] = {
    ".py": "python", ".pyi": "python", ".java": "java", ".c": "c", ".h": "c",
    ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hpp": "cpp", ".hh": "cpp",
    ".cs": "csharp", ".go": "go", ".rs": "rust", ".js": "javascript", ".mjs": "javascript",
    ".jsx": "javascript", ".ts": "typescript", ".tsx": "typescript", ".rb": "ruby",
    ".php": "php", ".swift": "swift", ".kt": "kotlin", ".kts": "kotlin", ".scala": "scala",
    ".r": "r", ".m": "matlab", ".jl": "julia", ".sql": "sql", ".sh": "shell", ".bash": "shell",
    ".ps1": "powershell", ".pl": "perl", ".lua": "lua", ".vb": "vb", ".bas": "vb",
    ".sas": "sas", ".do": "stata", ".f90": "fortran",
}


class CodeExtractor(TextExtractor):
    name = "code"

    def extract(self, path: Path, data: bytes, limits: ExtractLimits) -> ExtractedText:
        base = super().extract(path, data, limits)
        return ExtractedText(
            text=base.text,
            format=self.name,
            encoding=base.encoding,
            extractor_version=self.version,
            language=LANGUAGES.get(path.suffix.lower()),
        )
