"""The console's web application (Flask, server-rendered Jinja2 templates, autoescaped).

Security, in one place:
- every page but the login form needs a session when a token is configured (the console
  refuses to listen beyond loopback without one: see :mod:`leakwatch.console.server`);
- every POST carries a CSRF token (Flask-WTF's ``CSRFProtect``, tied to the session);
- the pages run no script at all: the Content-Security-Policy forbids every script, any
  framing and every outside resource, so a missed escape in a hostile deliverable still
  runs nothing;
- uploads above ``max_upload`` bytes are refused before they are read;
- the session cookie is HttpOnly, SameSite=Strict, and Secure behind TLS.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask, abort, flash, g, redirect, render_template, request, session, url_for
from flask_limiter import Limiter
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wrappers import Response

import leakwatch
from leakwatch.config import Config
from leakwatch.console import accounts, charts, queries
from leakwatch.console.db import STATUSES, ConsoleError, connect, local_user, log, transaction
from leakwatch.console.decisions import ACTIONS, Decision, decide
from leakwatch.console.imports import import_report
from leakwatch.console.passages import TextReader, compare, cut
from leakwatch.console.returns import return_checks

CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
MAX_UPLOAD = 64 * 1024 * 1024
# Failed logins a client address may make (a login that succeeds is not counted): enough for
# typing mistakes, too few to guess a password or token. Kept in the server's memory.
FAILED_LOGINS = "5 per minute; 30 per hour"


@dataclass(frozen=True)
class ConsoleSettings:
    db: Path
    baseline: Path | None = None
    token: str | None = None
    config: Config | None = None  # the store and extraction limits, for reading passages
    max_upload: int = MAX_UPLOAD
    secure_cookie: bool = False
    secret_key: bytes = b""
    signing_key: Path | None = None  # Ed25519 key that signs evidence packages


def _token_tag(token: str | None, secret: bytes) -> str:
    """What a session holds to show it logged in with the current token (a new token logs
    everyone out); never the token itself."""
    return hmac.new(secret, (token or "").encode(), hashlib.sha256).hexdigest()[:32] if token else ""


def create_app(settings: ConsoleSettings, reader: TextReader | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key or secrets.token_bytes(32),
        MAX_CONTENT_LENGTH=settings.max_upload,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=settings.secure_cookie,
        SESSION_COOKIE_NAME="leakwatch_console",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        WTF_CSRF_TIME_LIMIT=None,  # tied to the session, which expires itself
    )
    CSRFProtect(app)
    limiter = Limiter(lambda: request.remote_addr or "unknown", app=app, storage_uri="memory://",
                      headers_enabled=True)
    connect(settings.db).close()  # schema made (or checked) once, before the first request
    texts = reader or TextReader(settings.config)
    tag = _token_tag(settings.token, app.config["SECRET_KEY"])

    def db() -> sqlite3.Connection:
        if "db" not in g:
            g.db = connect(settings.db, init=False)
        conn: sqlite3.Connection = g.db
        return conn

    def user() -> str:
        return str(session.get("user") or local_user())

    @app.teardown_appcontext
    def _close(_: BaseException | None) -> None:
        conn = g.pop("db", None)
        if conn is not None:
            conn.close()

    def by_account() -> bool:
        if "by_account" not in g:
            g.by_account = accounts.has_accounts(db())
        return bool(g.by_account)

    def logged_in() -> bool:
        held = str(session.get("tag", ""))
        if by_account():  # the account still active, with the password it logged in with
            name = session.get("user")
            current = accounts.session_tag(db(), str(name), app.config["SECRET_KEY"]) if name else None
            return current is not None and hmac.compare_digest(held, current)
        return not settings.token or bool(session.get("user") and hmac.compare_digest(held, tag))

    @app.before_request
    def _login_required() -> Response | None:
        if request.endpoint in ("login", "static"):
            return None
        if not logged_in():
            if session.get("user"):  # a login that no longer holds: forget who it named
                session.clear()
            return redirect(url_for("login", next=request.full_path if request.method == "GET" else None))
        return None

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        # Pages quote deliverables (and source passages): no shared or browser cache keeps them.
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {"current_user": user(), "login_required": bool(settings.token) or by_account(),
                "version": leakwatch.__version__,
                "severities": queries.SEVERITIES, "statuses": STATUSES}

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> tuple[str, int]:
        return render_template("error.html", title="Form expired",
                               message="The form was not sent from this console's page, or the session "
                                       "expired: open the page again and retry."), 400

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(exc: RequestEntityTooLarge) -> tuple[str, int]:
        return render_template("error.html", title="Upload too large",
                               message=f"Reports above {settings.max_upload // (1024 * 1024)} MiB are refused: "
                                       "import large reports with `leakwatch serve import`."), 413

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> tuple[str, int]:
        return render_template("error.html", title=f"{exc.code} {exc.name}", message=exc.description or ""), \
            exc.code or 500

    @app.route("/login", methods=["GET", "POST"])
    @limiter.limit(FAILED_LOGINS, methods=["POST"], deduct_when=lambda response: response.status_code != 302,
                   error_message="Too many failed logins from this address: wait a minute and try again.")
    def login() -> Any:
        if request.method == "POST":
            name = request.form.get("name", "").strip()[:80]
            given = request.form.get("token", "")
            account_tag = None
            if by_account():
                account_tag = accounts.login(db(), name, request.form.get("password", ""), app.config["SECRET_KEY"])
            if not name:
                flash("Give your name: it is written with every decision you take.", "error")
            elif by_account() and account_tag is None:
                with transaction(db()):
                    log(db(), name, request.remote_addr, "login failed", name)
                flash("Wrong name or password.", "error")
            elif not by_account() and settings.token and not hmac.compare_digest(given.encode(),
                                                                                  settings.token.encode()):
                flash("Wrong token.", "error")
            else:
                if account_tag is not None:
                    with transaction(db()):
                        log(db(), name, request.remote_addr, "login", name)
                session.clear()
                session.permanent = True
                session["user"], session["tag"] = name, account_tag or tag
                target = request.args.get("next") or ""
                # Only a path of this console: never a redirect elsewhere.
                return redirect(target if target.startswith("/") and not target.startswith(("//", "/\\"))
                                else url_for("inbox"))
        return render_template("login.html", by_account=by_account(),
                               needs_token=bool(settings.token) and not by_account())

    @app.post("/logout")
    def logout() -> Response:
        session.clear()
        return redirect(url_for("login"))

    @app.get("/")
    def inbox() -> str:
        flt = queries.InboxFilter.from_args(request.args)
        conn = db()
        return render_template("inbox.html", rows=queries.inbox(conn, flt), counts=queries.inbox_counts(conn, flt),
                               flt=flt, choices=queries.choices(conn))

    @app.get("/finding/<finding_id>")
    def finding(finding_id: str) -> str:
        conn = db()
        row = queries.case(conn, finding_id)
        if row is None:
            abort(404, "No such finding.")
        data = queries.finding_dict(row)
        d, s = data.get("deliverable", {}), data.get("source") or {}
        shown = texts.deliverable(row["deliverable_path"], row["deliverable_sha256"])
        deliverable = cut(shown.text, d.get("start"), d.get("end"), row["deliverable_path"], shown.problem)
        source_path, src_text = texts.source(row["source_doc_id"])
        source = cut(src_text.text, s.get("start"), s.get("end"), source_path or str(s.get("path", "")),
                     src_text.problem)
        compare(deliverable, source)
        return render_template("finding.html", row=row, f=data, deliverable=deliverable, source=source,
                               explained=explain(data), decisions=queries.decisions(conn, finding_id),
                               occurrences=queries.occurrences(conn, finding_id),
                               related=queries.related(conn, row), actions=ACTIONS,
                               has_baseline=settings.baseline is not None)

    @app.post("/finding/<finding_id>/decide")
    def decide_on(finding_id: str) -> Response:
        try:
            decide(db(), Decision(finding_id, request.form.get("action", ""), user(),
                                  request.form.get("note", ""), request.remote_addr), settings.baseline)
            flash(f"Recorded: {request.form.get('action')}.", "ok")
        except ConsoleError as exc:
            flash(str(exc), "error")
        return redirect(url_for("finding", finding_id=finding_id))

    @app.get("/vendors")
    def vendors() -> str:
        return render_template("vendors.html", vendors=queries.vendors(db()))

    @app.get("/vendor/<name>")
    def vendor(name: str) -> str:
        record = queries.vendor_record(db(), name)
        monthly = charts.stacked_bars(list(record.by_month.items()), list(reversed(queries.SEVERITIES)),
                                      "findings first seen per month, by severity")
        per_delivery = charts.stacked_bars([(d["at"][:10], d) for d in record.by_delivery],
                                           list(reversed(queries.SEVERITIES)), "findings per delivery (report)")
        return render_template("vendor.html", record=record, monthly=monthly, per_delivery=per_delivery,
                               checks=return_checks(db(), name))

    @app.route("/import", methods=["GET", "POST"])
    def upload() -> Any:
        if request.method == "POST":
            file = request.files.get("report")
            if file is None or not file.filename:
                flash("Choose a report file.", "error")
            else:
                try:
                    rid, n = import_report(db(), file.read(), file.filename[:200], user(), request.remote_addr,
                                           request.form.get("vendor", "").strip()[:120] or None)
                    flash(f"Imported {file.filename}: {n} finding(s) (report {rid}).", "ok")
                    return redirect(url_for("inbox"))
                except ConsoleError as exc:
                    flash(str(exc), "error")
        return render_template("import.html", max_mib=settings.max_upload // (1024 * 1024))

    @app.get("/log")
    def audit_log() -> str:
        rows = db().execute("SELECT * FROM audit_log ORDER BY id DESC LIMIT 500").fetchall()
        return render_template("log.html", rows=rows)

    app.extensions["leakwatch_reader"] = texts
    register_evidence(app, settings, db, user)
    return app


def register_evidence(app: Flask, settings: ConsoleSettings, db: Callable[[], sqlite3.Connection],
                      user: Callable[[], str]) -> None:
    """The evidence package of a finding (:mod:`leakwatch.evidence`): written beside the
    database (``evidence/``, 0600, kept as the record of what was handed over) and sent
    as a download; the export goes into the audit log with the package's SHA-256."""

    @app.context_processor
    def _evidence() -> dict[str, Any]:
        return {"evidence_enabled": True, "signing": settings.signing_key is not None}

    @app.post("/finding/<finding_id>/evidence")
    def evidence(finding_id: str) -> Any:
        from flask import send_file

        from leakwatch.evidence.keys import EvidenceError
        from leakwatch.evidence.package import export_package
        from leakwatch.evidence.reports import delivered_file

        conn = db()
        row = queries.case(conn, finding_id)
        if row is None:
            abort(404, "No such finding.")
        finding = queries.finding_dict(row)
        report = conn.execute("SELECT * FROM reports WHERE id = ?", (row["report_id"],)).fetchone()
        meta = {"kind": report["source"], "name": report["name"], "sha256": report["sha256"],
                "started_at": report["started_at"], "imported_at": report["imported_at"],
                "leakwatch": report["leakwatch"], **json.loads(report["meta_json"])}
        log_rows = [{k: d[k] for k in ("at", "by", "action", "note", "remote")}
                    for d in queries.decisions(conn, finding_id)]
        folder = settings.db.parent / "evidence"
        folder.mkdir(mode=0o700, exist_ok=True)
        out = folder / f"{finding_id}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}.zip"
        copy = request.form.get("copy") == "1"
        try:
            written = export_package(out, finding=finding, report_meta=meta, deliverable=delivered_file(finding),
                                     decisions=log_rows, copy_deliverable=copy, signing_key=settings.signing_key)
        except EvidenceError as exc:
            flash(f"The evidence package could not be written: {exc}", "error")
            return redirect(url_for("finding", finding_id=finding_id))
        digest = hashlib.sha256(written.read_bytes()).hexdigest()
        with transaction(conn):
            log(conn, user(), request.remote_addr, "evidence", finding_id,
                f"package {written.name} sha256 {digest}" + (", deliverable copied" if copy else ", hash only")
                + (", signed" if settings.signing_key else ""))
        return send_file(written, mimetype="application/zip", as_attachment=True, download_name=written.name)


def explain(f: dict[str, Any]) -> list[str]:
    """The finding's scores said in words, for a reviewer who does not read MinHash."""
    s = f.get("scores") or {}
    out: list[str] = []
    if isinstance(s.get("matched_words"), int):
        out.append(f"{s['matched_words']:,} words of the deliverable match the source passage.")
    if isinstance(s.get("resemblance"), (int, float)):
        r = float(s["resemblance"])
        how = ("word for word the same" if r >= 0.95 else "nearly the same, with small edits" if r >= 0.7
               else "reworded, but sharing much of its wording" if r >= 0.3 else "loosely related wording")
        out.append(f"Resemblance {r:.2f}: the two passages are {how}.")
    if isinstance(s.get("containment_deliverable"), (int, float)):
        out.append(f"{s['containment_deliverable']:.0%} of the deliverable comes from this source.")
    if isinstance(s.get("containment_source"), (int, float)):
        out.append(f"{s['containment_source']:.0%} of the source document is in the deliverable.")
    if isinstance(s.get("confidence"), (int, float)):
        c = float(s["confidence"])
        out.append(f"Confidence {c:.2f}: " + ("almost certainly copied." if c >= 0.9 else "probably copied."
                                              if c >= 0.6 else "possibly copied; check the passages."))
    if f.get("verified") is False and str(f.get("kind", "")).startswith("confidential"):
        out.append("Found by fingerprints only: the scan could not check it against the source file.")
    elif f.get("verified"):
        out.append("The scan checked it word by word against the registered source file.")
    return out
