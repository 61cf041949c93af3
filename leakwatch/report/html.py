"""HTML report for the security team: one self-contained file (inline CSS, no script,
no external resource) with a summary by vendor, kind and severity, the files that
could not be scanned, and every finding with its deliverable passage highlighted in
context.

The page shows deliverable text (the passage a vendor delivered, and a few hundred
characters around it), never text of a registered source document: the store holds
none, and the report names the source by path, label, doc id and span only.

Rendering is a pure function of the report and the deliverable texts
(:func:`render_html`); reading the texts back is the one small impure step
(:func:`read_deliverable_text`). A deliverable is re-read with the extractor the scan
used, in the same isolated worker, so the offsets of the findings index the same string,
and only when its bytes still have the sha256 the scan recorded: a file changed or gone
since the scan gets a note instead of text. The bytes are hashed before anything parses
them.

Everything that comes from a file (names, text, messages) is attacker-controlled: it
is escaped with :func:`html.escape`, and the page carries a Content-Security-Policy
that forbids every script and every outside resource, so a missed escape still runs
nothing.
"""

from __future__ import annotations

import hashlib
import html
import os
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

import leakwatch
from leakwatch.model import MEMBER_SEPARATOR, ExtractionError, Finding, ReadAgain, Severity
from leakwatch.report.base import ReportContext, Reporter, container_facts, ocr_lines, records_summary
from leakwatch.results import ScanReport

# Characters of deliverable text shown on each side of a passage.
CONTEXT_CHARS = 300
# A passage longer than this (a whole-document copy) is shown as its head and tail.
MAX_PASSAGE_CHARS = 4000
_PASSAGE_EDGE = 1500


@dataclass(frozen=True)
class DeliverableText:
    """What the report may show of one deliverable: its extracted text, or why not."""

    text: str | None = None
    problem: str | None = None


TextSource = Callable[[str, str], DeliverableText]
"""``(path, sha256 recorded by the scan) -> DeliverableText``."""


def read_deliverable_text(path: str, sha256: str, read_again: ReadAgain) -> DeliverableText:
    """Re-read a deliverable (a file, or a member ``file!/member``) through ``read_again``
    (the scan's isolated worker), its bytes checked against the scan's sha256 before they
    are parsed."""
    try:
        found = read_again(path, lambda data: hashlib.sha256(data).hexdigest() == sha256)
    except ExtractionError as exc:
        return DeliverableText(problem=f"the file cannot be read again ({exc.status}: {exc.message})")
    except Exception as exc:  # a parser failure must not lose the rest of the report
        return DeliverableText(problem=f"the file cannot be extracted again ({type(exc).__name__})")
    if found is None:
        return DeliverableText(problem="the file changed since the scan (its sha256 differs): text not shown")
    return DeliverableText(text=found[1].text)


# --- vendors ------------------------------------------------------------------------------

def vendor_of(path: str, roots: Sequence[str] = ()) -> str:
    """The vendor a file belongs to: the first folder under the scanned root that holds it
    (scan the folder that holds one folder per vendor). A file directly in a root counts
    under the root folder's name, a file scanned by name (or with no root known) under its
    parent folder's name."""
    # A member (``delivery.zip!/docs/a.docx``) belongs where its file does.
    absolute = os.path.abspath(path.split(MEMBER_SEPARATOR, 1)[0])
    best = ""
    for root in roots:
        root = os.path.abspath(root)
        prefix = root if root.endswith(os.sep) else root + os.sep
        if (absolute == root or absolute.startswith(prefix)) and len(root) > len(best):
            best = root
    if best and absolute != best:
        rel = absolute[len(best):].lstrip(os.sep).split(os.sep)
        return rel[0] if len(rel) > 1 else (os.path.basename(best) or os.sep)
    return os.path.basename(os.path.dirname(absolute)) or os.sep


# --- escaping -----------------------------------------------------------------------------

# Controls that would hide or reorder what a name shows (bidi overrides, zero-width and
# C0/C1 control characters): shown as <U+XXXX> in names and messages.
_HIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def _clean(s: str) -> str:
    # Lone surrogates cannot be written as UTF-8: shown as escapes.
    return s.encode("utf-8", "backslashreplace").decode("utf-8")


def esc(value: object) -> str:
    """Escape a name or message: HTML-escaped, hidden controls made visible."""
    text = _HIDDEN.sub(lambda m: f"<U+{ord(m.group()):04X}>", _clean(str(value)))
    return html.escape(text, quote=True)


def esc_text(text: str) -> str:
    """Escape deliverable text so that the page shows it character for character: the
    HTML parser would turn CR and CR LF into LF (a character reference keeps the CR) and
    drop NUL (shown as U+FFFD)."""
    return html.escape(_clean(text), quote=False).replace("\r", "&#13;").replace("\x00", "\ufffd")


# --- rendering ----------------------------------------------------------------------------

_CSS = """
:root{--high:#b3261e;--medium:#a15c00;--low:#3b6ea8;--muted:#5f6368;--line:#d6d6d6}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;color:#1f1f1f;
background:#fafafa}
header,main{max-width:1200px;margin:0 auto;padding:0 24px}
header{padding-top:20px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 10px;border-bottom:1px solid var(--line);
padding-bottom:4px}h3{font-size:15px;margin:22px 0 8px;word-break:break-all}
.meta{color:var(--muted);margin:0}
.banner{padding:10px 14px;border-radius:6px;margin:14px 0;font-weight:600}
.banner.incomplete{background:#fdecea;border:1px solid var(--high);color:var(--high)}
.banner.clean{background:#e8f5e9;border:1px solid #2e7d32;color:#2e7d32}
.banner.found{background:#fff4e5;border:1px solid var(--medium);color:#7a4500}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}
.card{background:#fff;border:1px solid var(--line);border-radius:6px;padding:10px 16px;min-width:130px}
.card .n{font-size:24px;font-weight:700;display:block}.card .l{color:var(--muted)}
.tables{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}
table{border-collapse:collapse;background:#fff;border:1px solid var(--line)}
th,td{padding:5px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:#f1f1f1;font-weight:600}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.path{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:13px;word-break:break-all}
.sev{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:12px;font-weight:700;
text-transform:uppercase}
.sev-high{background:var(--high)}.sev-medium{background:var(--medium)}.sev-low{background:var(--low)}
.finding{background:#fff;border:1px solid var(--line);border-left:5px solid var(--low);border-radius:6px;
padding:10px 14px;margin:10px 0}
.finding.high{border-left-color:var(--high)}.finding.medium{border-left-color:var(--medium)}
.finding .head{display:flex;gap:10px;align-items:center;flex-wrap:wrap}
.finding .kind{font-weight:700}.finding .fid{color:var(--muted);font-family:ui-monospace,monospace;font-size:12px}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:8px 0}
dl.facts dt{color:var(--muted)}dl.facts dd{margin:0}
.context{white-space:pre-wrap;word-break:break-word;font-family:ui-monospace,"DejaVu Sans Mono",monospace;
font-size:12.5px;background:#f6f6f6;border:1px solid var(--line);border-radius:4px;padding:8px 10px;margin:8px 0 2px;
max-height:420px;overflow:auto;unicode-bidi:isolate}
.context .around{color:#555}
mark.passage{background:#ffe08a;color:#000;padding:0;border-bottom:2px solid #e0a800}
.elided{background:#ddd;color:#333;font-style:italic}
.no-text{color:var(--high);font-style:italic}
.muted{color:var(--muted)}
.quotes{margin:8px 0;padding:8px 12px;border:1px solid #c9a227;background:#fff8e1;border-radius:6px}
footer{max-width:1200px;margin:30px auto;padding:0 24px;color:var(--muted);font-size:12px}
"""

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

_SEVERITIES = [str(s) for s in sorted(Severity, reverse=True)]


def _pct(x: float) -> str:
    return f"{x:.1%}"


def _where(start: int, end: int, page: int | None) -> str:
    return f"chars {start:,}–{end:,}" + (f", page {page}" if page is not None else "")


def _table(head: Sequence[str], rows: Iterable[Sequence[str]], cls: str, numeric_from: int = 1) -> str:
    """A table; ``rows`` hold HTML already escaped."""
    ths = "".join(f'<th class="num">{h}</th>' if i >= numeric_from else f"<th>{h}</th>" for i, h in enumerate(head))
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{c}</td>' if i >= numeric_from else f"<td>{c}</td>"
                         for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f'<table class="{cls}"><thead><tr>{ths}</tr></thead><tbody>{body}</tbody></table>'


def _snap_left(text: str, at: int) -> int:
    """Move a context start forward to a word boundary (at most 40 characters)."""
    if at <= 0:
        return 0
    m = re.search(r"\s", text[at : at + 40])
    return at + m.end() if m else at


def _snap_right(text: str, at: int) -> int:
    if at >= len(text):
        return len(text)
    window = text[max(0, at - 40) : at]
    last = max((m.start() for m in re.finditer(r"\s", window)), default=-1)
    return at - (len(window) - last) if last >= 0 else at


def _context_html(text: str, start: int, end: int) -> str:
    """The passage text[start:end] highlighted, with CONTEXT_CHARS around it."""
    if not (0 <= start <= end <= len(text)):
        return (f'<p class="no-text">The reported span ({start:,}–{end:,}) is outside the text of the file '
                f'({len(text):,} characters): text not shown.</p>')
    left = _snap_left(text, start - CONTEXT_CHARS) if start > CONTEXT_CHARS else 0
    right = _snap_right(text, end + CONTEXT_CHARS) if end + CONTEXT_CHARS < len(text) else len(text)
    passage = text[start:end]
    if len(passage) > MAX_PASSAGE_CHARS:
        hidden = len(passage) - 2 * _PASSAGE_EDGE
        shown = (esc_text(passage[:_PASSAGE_EDGE])
                 + f'<span class="elided">[… {hidden:,} characters of the passage not shown …]</span>'
                 + esc_text(passage[-_PASSAGE_EDGE:]))
        truncated = "true"
    else:
        shown, truncated = esc_text(passage), "false"
    before = ("…" if left > 0 else "") + esc_text(text[left:start])
    after = esc_text(text[end:right]) + ("…" if right < len(text) else "")
    return (f'<div class="context"><span class="around before">{before}</span>'
            f'<mark class="passage" data-start="{start}" data-end="{end}" data-truncated="{truncated}">{shown}</mark>'
            f'<span class="around after">{after}</span></div>')


def _details(f: Finding) -> list[tuple[str, str]]:
    """What a third-party finding is (licence, notice, reference), and where else it is."""
    rows: list[tuple[str, str]] = [(name, esc(value)) for name, value in container_facts(f)]
    lic = f.extra.get("licence")
    if lic:
        value = f"{esc(lic.get('spdx_id'))} ({esc(lic.get('name'))})"
        if isinstance(lic.get("coverage"), (int, float)):
            value += f", {_pct(lic['coverage'])} of its text present"
        d = lic.get("distinguished_from")
        if d:
            value += f"; told from {esc(d.get('spdx_id'))}"
        rows.append(("licence", value))
    notice = f.extra.get("notice")
    if notice:
        if notice.get("expression"):
            rows.append(("licence expression", esc(notice["expression"])))
        else:
            years = ", ".join(esc(y) for y in notice.get("years", []))
            rows.append(("holder", esc(notice.get("holder") or "(none)") + (f"; years {years}" if years else "")))
    ref = f.extra.get("reference")
    if ref:
        rows.append(("reference", esc(ref.get("name")) + (f", licence {esc(ref['licence'])}"
                                                          if ref.get("licence") else "")))
    parts = f.extra.get("parts") or []
    if parts:
        rows.append(("summary of", "<br>".join(
            esc(f"{_where(p.get('start', 0), p.get('end', 0), None)} from source {p.get('source_start')}"
                f"-{p.get('source_end')} ({p.get('method')})") for p in parts)))
    also = f.extra.get("also_in") or []
    if also:
        rows.append(("also in", "<br>".join(
            f'<span class="path">{esc(a.get("path"))}</span> {esc(_where(a.get("start", 0), a.get("end", 0), None))}'
            for a in also)))
    return rows


def _finding_html(n: int, f: Finding, shown: DeliverableText) -> str:
    sev = str(f.severity)
    span = f.deliverable_span
    facts: list[tuple[str, str]] = [("location", esc(_where(span.start, span.end, span.page)))]
    facts += [("image", esc(line)) for line in ocr_lines(f)]
    if f.source is not None:
        src = f.source
        where = _where(src.span.start, src.span.end, src.span.page) if src.span else "span not known"
        facts += [
            ("source", f'<span class="path src-path">{esc(src.path)}</span>'),
            ("label", f'<span class="src-label">{esc(src.label)}</span>'
             + (f' <span class="muted">owner {esc(src.owner)}</span>' if src.owner else "")),
            ("doc id", f'<span class="path">{esc(src.doc_id)}</span>'),
            ("source span", esc(where)),
        ]
    facts += _details(f)
    s = f.scores
    records = records_summary(f)
    if records is not None:
        facts.append(("records", f'<span class="scores">{esc(records)}</span>'
                      + (f" · confidence {s.confidence:.2f}" if s is not None else "")))
    elif s is not None:
        method = f.extra.get("method")
        check = ("" if f.verified or not f.kind.startswith("confidential")
                 else ' <span class="muted">(fingerprints only: not checked against the source file)</span>')
        facts.append(("scores", (
            f'<span class="scores">{s.matched_words:,} words matched · resemblance {s.resemblance:.2f} · '
            f"{_pct(s.containment_deliverable)} of the deliverable · {_pct(s.containment_source)} of the source · "
            f"confidence {s.confidence:.2f}</span>" + (f" · {esc(method)} match" if method else "") + check)))
    dl = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts)
    if shown.text is not None:
        body = _context_html(shown.text, span.start, span.end)
    else:
        body = f'<p class="no-text">{esc(shown.problem or "text not available")}</p>'
    return (f'<article class="finding {sev}" id="finding-{n}" data-kind="{esc(f.kind)}" data-severity="{sev}">'
            f'<div class="head"><span class="sev sev-{sev}">{sev}</span><span class="kind">{esc(f.kind)}</span>'
            f'<span class="fid">{esc(f.id)}</span></div><dl class="facts">{dl}</dl>{body}</article>')


def _summary_html(report: ScanReport, roots: Sequence[str]) -> str:
    summary = report.summary()
    suppressed = getattr(report, "suppressed", None) or []
    by_vendor: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"files": set(), "findings": 0, "not_scanned": 0, **{s: 0 for s in _SEVERITIES}})
    for f in report.findings:
        v = by_vendor[vendor_of(f.deliverable_path, roots)]
        v["files"].add(f.deliverable_path)
        v["findings"] += 1
        v[str(f.severity)] += 1
    for e in report.errors:
        by_vendor[vendor_of(e.path, roots)]["not_scanned"] += 1
    vendor_rows = [
        [f'<span class="vendor">{esc(name)}</span>', str(len(v["files"])), str(v["findings"]),
         *(str(v[s]) for s in _SEVERITIES), str(v["not_scanned"])]
        for name, v in sorted(by_vendor.items())
    ]
    kind_rows = [[esc(k), str(c)] for k, c in sorted(Counter(f.kind for f in report.findings).items())]
    sev_counts = Counter(str(f.severity) for f in report.findings)
    sev_rows = [[f'<span class="sev sev-{s}">{s}</span>', str(sev_counts.get(s, 0))] for s in _SEVERITIES]
    cards = "".join(
        f'<div class="card" data-count="{key}"><span class="n">{value:,}</span><span class="l">{label}</span></div>'
        for key, value, label in (
            ("files-scanned", summary["files_scanned"], "files scanned"),
            ("findings", summary["findings"], "findings"),
            ("files-with-findings", summary["files_with_findings"], "files with findings"),
            ("files-not-scanned", summary["files_not_scanned"], "files not scanned"),
            # Findings a baseline or an ignore file accepted (reports made before baselines have none).
            *([("suppressed", len(suppressed), "suppressed (baseline, ignore file)")] if suppressed else []),
        )
    )
    return (
        f'<section id="summary"><h2>Summary</h2><div class="cards">{cards}</div><div class="tables">'
        + "<div><h3>By vendor</h3>" + _table(
            ["vendor", "files with findings", "findings", *_SEVERITIES, "not scanned"], vendor_rows, "by-vendor")
        + "</div><div><h3>By kind</h3>" + _table(["kind", "findings"], kind_rows, "by-kind")
        + "</div><div><h3>By severity</h3>" + _table(["severity", "findings"], sev_rows, "by-severity")
        + "</div></div></section>"
    )


def render_html(report: ScanReport, text_of: TextSource, roots: Sequence[str] = (),
                generated_at: datetime | None = None) -> str:
    """The whole report as one HTML document. ``text_of`` gives each deliverable's text
    (called once per file with findings); ``roots`` are the scanned paths, which name
    the vendors (see :func:`vendor_of`)."""
    when = (generated_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M:%S %Z")
    summary = report.summary()
    index = report.index or {}
    if report.interrupted is not None:
        banner = (f'<div class="banner incomplete">Scan interrupted ({esc(summary["interrupted"])}): '
                  f'{len(report.errors):,} file(s) were not scanned and are NOT known to be clean.</div>')
    elif report.errors:
        banner = (f'<div class="banner incomplete">Scan incomplete: {len(report.errors):,} file(s) could not be '
                  "scanned and are NOT known to be clean.</div>")
    elif report.findings:
        banner = f'<div class="banner found">{len(report.findings):,} finding(s).</div>'
    else:
        banner = '<div class="banner clean">No findings; every file was scanned.</div>'
    if report.redacted:
        notice = ('<p class="quotes">Redacted report: locations, ids and scores only. No text of any '
                  "deliverable or registered document is shown.</p>")
    else:
        notice = ('<p class="quotes"><strong>Confidential:</strong> this report quotes the text found in '
                  "deliverables, which is the confidential material itself when a finding is real. Keep it "
                  "as you keep the documents it protects (this file is written readable by its owner only); "
                  "use <code>--redact</code> for a report without text.</p>")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="referrer" content="no-referrer">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>leakwatch report {esc(when)}</title><style>{_CSS}</style></head><body>",
        "<header><h1>leakwatch report</h1>",
        f'<p class="meta">{esc(when)} · leakwatch {esc(leakwatch.__version__)} · '
        f'{summary["files_scanned"]:,} file(s) scanned in {summary["duration_s"]:.2f} s against '
        f'{esc(index.get("documents", 0))} indexed document(s)'
        + (f' · store <span class="path">{esc(index["store"])}</span>' if index.get("store") else "")
        + (f' · key id {esc(index["key_id"])}' if index.get("key_id") else "") + "</p>",
        notice + banner + "</header><main>",
        _summary_html(report, roots),
    ]
    if report.errors:
        rows = [[f'<span class="path">{esc(e.path)}</span>', esc(vendor_of(e.path, roots)),
                 f'<span class="status">{esc(e.status)}</span>', esc(e.message)] for e in report.errors]
        parts.append('<section id="not-scanned"><h2>Files that could not be scanned</h2>'
                     '<p>These files are <strong>not</strong> known to be clean.</p>'
                     + _table(["file", "vendor", "status", "why"], rows, "errors", numeric_from=99) + "</section>")
    parts.append('<section id="findings"><h2>Findings</h2>')
    if not report.findings:
        parts.append('<p class="muted">None.</p>')
    by_file: dict[str, list[tuple[int, Finding]]] = {}
    for n, f in enumerate(report.findings, 1):
        by_file.setdefault(f.deliverable_path, []).append((n, f))
    for path, findings in by_file.items():
        first = findings[0][1]
        shown = text_of(path, first.deliverable_sha256)
        fmt = ", ".join(esc(x) for x in (first.deliverable_format, first.deliverable_encoding) if x)
        parts.append(
            f'<section class="deliverable"><h3 class="path">{esc(path)}</h3>'
            f'<p class="meta">vendor {esc(vendor_of(path, roots))} · sha256 <span class="path">'
            f"{esc(first.deliverable_sha256)}</span>" + (f" · {fmt}" if fmt else "")
            + f" · {len(findings)} finding(s)</p>")
        # Text read back later, or another sha for the same path, is checked per finding.
        for n, f in findings:
            here = shown if f.deliverable_sha256 == first.deliverable_sha256 else text_of(path, f.deliverable_sha256)
            parts.append(_finding_html(n, f, here))
        parts.append("</section>")
    parts.append("</section></main>")
    parts.append(
        '<footer>Redacted: no text is shown. Offsets are characters of each file\'s extracted text.</footer>'
        if report.redacted else
        '<footer>Deliverable passages are shown as re-read from each file at report time (offsets are '
        "characters of the extracted text): where a finding is real, that passage is the confidential text. "
        "The store holds no text, so nothing here was read from a registered document.</footer>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


class HtmlReporter(Reporter):
    """``leakwatch scan --format html --output report.html``."""

    format_name = "html"
    reads_deliverables = True

    def __init__(self, read_again: ReadAgain | None = None, roots: Sequence[str] = ()) -> None:
        self.read_again = read_again
        self.roots = tuple(roots)

    def for_run(self, context: ReportContext) -> HtmlReporter:
        return HtmlReporter(context.read_again, context.roots)

    def write(self, report: ScanReport, out: TextIO) -> None:
        read_again = self.read_again
        if report.redacted or read_again is None:
            why = "redacted: text not shown" if report.redacted else "text not shown (no reader given)"
            out.write(render_html(report, lambda path, sha: DeliverableText(problem=why), self.roots))
            return
        out.write(render_html(report, lambda path, sha: read_deliverable_text(path, sha, read_again), self.roots))
