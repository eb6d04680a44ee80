"""`/ui/audit`: the audit log in IG officers' hands. Search it (person identifier, agency, action,
decision, dates), read an entry with its decision in words and its place in the signed tree, see
every disclosure about a person newest first (and download them as CSV), and see whether the log
verifies. Only IG officers; anyone else is told the pages do not exist. Identifiers travel by
POST only (never in URLs or access logs), and every page that shows entries is itself an
`audit.read` entry.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import threading
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, abort, current_app, g, render_template, request
from flask.typing import ResponseReturnValue

from audit import merkle
from hub.domain.callers import MAX_INTEGER, whole_number
from hub.domain.messages import SubjectRef
from hub.domain.vocab import AuditAction, Decision, Role
from hub.services.audit_search import AuditQuery, Page, Reader
from hub.services.transparency import TreeDamaged, b64
from hub.web.decisions import BASES, select_items
from hub.web.views import signed_in

if TYPE_CHECKING:
    from hub.bootstrap import Services

bp = Blueprint("audit_pages", __name__, url_prefix="/ui/audit")
PAGE = 50
CSV_LIMIT = 100_000
_VERIFYING = threading.Lock()

ACTIONS: dict[str, str] = {
    AuditAction.TOKEN_ISSUED: "Access token issued",
    AuditAction.TOKEN_REFUSED: "Access token refused",
    AuditAction.ACCESS_REFUSED: "Access refused",
    AuditAction.MESSAGE_ACCEPTED: "Message accepted from its sender",
    AuditAction.MESSAGE_REFUSED: "Message refused",
    AuditAction.MESSAGE_DELIVERED: "Message disclosed to a recipient",
    AuditAction.MESSAGE_READ: "Message read by its recipient",
    AuditAction.MESSAGE_STATUS_READ: "Message status read",
    AuditAction.REQUEST_REFUSED: "Request refused",
    AuditAction.INBOX_READ: "Inbox read",
    AuditAction.INBOX_ACKED: "Inbox item acknowledged",
    AuditAction.SIGNIN_SUCCEEDED: "Signed in",
    AuditAction.SIGNIN_FAILED: "Sign-in failed",
    AuditAction.SIGNED_OUT: "Signed out",
    AuditAction.AGENCY_ADDED: "Agency added",
    AuditAction.CLIENT_ADDED: "API client added",
    AuditAction.CLIENT_DISABLED: "API client disabled",
    AuditAction.USER_ADDED: "User added",
    AuditAction.DOCUMENT_RECEIVED: "Agency document received",
    AuditAction.SUBJECT_CREATED: "Person's record created",
    AuditAction.SUBJECT_IDENTIFIER_LINKED: "Identifier linked to a person",
    AuditAction.SUBJECT_MERGED: "Records merged as one person",
    AuditAction.SUBJECT_UNMERGED: "Merged records separated",
    AuditAction.SUBJECT_RECORD_CHANGED: "Person's record changed",
    AuditAction.SUBJECT_RESOLVED: "Identifier looked up",
    AuditAction.SUBJECT_READ: "Person's details read",
    AuditAction.IDENTITY_REVIEW_OPENED: "Identity review opened",
    AuditAction.IDENTITY_REVIEW_DECIDED: "Identity review decided",
    AuditAction.CONSENT_RECORDED: "Consent recorded",
    AuditAction.CONSENT_WITHDRAWN: "Consent withdrawn",
    AuditAction.CONSENT_READ: "Consent read",
    AuditAction.DECISION_EXPLAINED: "Sharing decision explained",
    AuditAction.OVERRIDE_USED: "Emergency override used",
    AuditAction.OVERRIDE_REVIEWED: "Emergency override reviewed",
    AuditAction.AUDIT_READ: "Audit log read",
    AuditAction.AUDIT_EXPORTED: "Audit log exported",
    AuditAction.AUDIT_KEY_ROTATED: "Checkpoint signing key rotated",
}
DECISIONS = {Decision.PERMIT.value: "Shared", Decision.DENY.value: "Refused"}
CSV_COLUMNS = [
    "entry",
    "time",
    "action",
    "sender",
    "recipient",
    "message_type",
    "message_id",
    "purpose",
    "decision",
    "agreement",
    "agreement_version",
    "lawful_basis",
    "fields",
    "reasons",
]


def _services() -> Services:
    services: Services = current_app.extensions["hub"]
    return services


def _ig_only() -> Reader:
    if g.user is None or g.user.role is not Role.IG_OFFICER:
        abort(404)
    return Reader(g.user.actor, g.get("request_id"), everyone=True)


def _agency_names() -> dict[str, str]:
    return {a[0]: a[1] for a in _services().subjects.agencies()}


def _day(text: str, field: str, errors: dict[str, str]) -> date | None:
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        day = None
    if day is None or not 1900 <= day.year <= 2999:
        errors[field] = "Enter a real date, like 2026-11-24"
        return None
    return day


def _person(text: str, errors: dict[str, str]) -> SubjectRef | None:
    if not text:
        return None
    try:
        return SubjectRef.parse(text)
    except ValueError as error:
        errors["person"] = f"Enter an identifier like crn:X123456 or noms:A4821DC ({error})"
        return None


def _midnight(day: date | None, plus: int = 0) -> datetime | None:
    if day is None:
        return None
    return datetime.combine(day + timedelta(days=plus), datetime.min.time(), tzinfo=UTC)


def _rows(page: Page, names: dict[str, str]) -> list[dict[str, Any]]:
    rows = []
    for seq, text in page.items:
        entry = json.loads(text)
        actor = entry.get("actor", {})
        rows.append(
            {
                "seq": seq,
                "entry": entry,
                "time": entry["time"][:19].replace("T", " "),
                "action": ACTIONS.get(entry["action"], entry["action"]),
                "by": names.get(actor.get("agency", ""), actor.get("agency"))
                or (
                    f"the hub's command line ({actor['user'].removeprefix('cli:')})"
                    if str(actor.get("user", "")).startswith("cli")
                    else "—"
                ),
                "recipient": names.get(entry.get("recipient", ""), entry.get("recipient")),
                "decision": DECISIONS.get(entry.get("decision", "")),
            }
        )
    return rows


@bp.route("/", methods=["GET", "POST"])
@signed_in
def search() -> ResponseReturnValue:
    """The newest entries (GET), or those matching the form (POST), newest first."""
    reader = _ig_only()
    form = request.form if request.method == "POST" else {}
    errors: dict[str, str] = {}
    agencies = _services().subjects.agencies()
    person = _person(form.get("person", "").strip(), errors)
    since, until = (
        _day(form.get("from", ""), "from", errors),
        _day(form.get("to", ""), "to", errors),
    )
    if since and until and until < since:
        errors["to"] = "The end date must be the same as or after the start date"
    agency = form.get("agency") or None
    if agency and agency not in {a[0] for a in agencies}:
        errors["agency"] = "Choose an agency from the list"
    action = form.get("action") or None
    if action and action not in ACTIONS:
        errors["action"] = "Choose an action from the list"
    decision = form.get("decision") or None
    if decision and decision not in DECISIONS:
        errors["decision"] = "Choose shared or refused"
    before = form.get("before", "")
    page = None
    if not errors:
        query = AuditQuery(
            person=person,
            agency=agency,
            action=action,
            decision=decision,
            since=_midnight(since),
            until=_midnight(until, plus=1),
        )
        page = _services().audit_search.search(
            reader,
            query,
            after=whole_number(before),
            limit=PAGE,
            newest_first=True,
        )
        if person and not page.person_known:
            errors["person"] = "The hub knows no one by that identifier"
    return (
        render_template(
            "audit/search.html",
            form=form,
            errors=errors,
            rows=_rows(page, _agency_names()) if page and not errors else [],
            next=page.next if page and not errors else None,
            agencies=agencies,
            actions=ACTIONS,
            decisions=DECISIONS,
            select_items=select_items,
            searched=request.method == "POST",
        ),
        400 if errors else 200,
    )


@bp.get("/entries/<int:seq>")
@signed_in
def entry(seq: int) -> ResponseReturnValue:
    reader = _ig_only()
    services = _services()
    if seq > MAX_INTEGER:
        abort(404)
    text = services.audit_search.entry(reader, seq)
    if text is None:
        abort(404)
    value = json.loads(text)
    names = _agency_names()
    leaf = merkle.leaf_hash(text.encode())
    head = services.transparency.latest()
    included = None
    if head is not None and seq < head.size:
        try:
            proof = services.transparency.inclusion(seq, head.size)
        except TreeDamaged:
            proof = None
        included = {
            "size": head.size,
            "at": head.created_at,
            "verified": proof is not None
            and merkle.verify_inclusion(leaf, seq, head.size, proof, head.root),
            "proof": len(proof) if proof is not None else 0,
        }
    return render_template(
        "audit/entry.html",
        seq=seq,
        entry=value,
        canonical=text,
        leaf=b64(leaf),
        included=included,
        max_delay=services.settings.audit_max_merge_delay,
        words=_in_words(value, names),
        action=ACTIONS.get(value["action"], value["action"]),
        names=names,
        bases=BASES,
        decisions=DECISIONS,
        agreement=_agreement(value),
    )


def _agreement(entry: dict[str, Any]) -> dict[str, str] | None:
    agreement_id = entry.get("agreement_id")
    if not agreement_id:
        return None
    found = next((a for a in _services().policy.agreements if a.id == agreement_id), None)
    return {
        "id": agreement_id,
        "title": found.title if found else agreement_id,
        "version": entry.get("agreement_version", ""),
        "current": found.version if found else "",
    }


def _in_words(entry: dict[str, Any], names: dict[str, str]) -> str:
    """One sentence an IG officer can read aloud: who, what, to whom, under what, the outcome."""
    actor = entry.get("actor", {})
    sender = names.get(actor.get("agency", ""), actor.get("agency") or "The hub")
    kind = (entry.get("message_type") or "message").split(".")[-1].replace("_", " ")
    recipient = names.get(entry.get("recipient", ""), entry.get("recipient"))
    purpose = (entry.get("purpose") or "").replace("_", " ")
    basis = BASES.get(entry.get("lawful_basis", ""), entry.get("lawful_basis"))
    if entry["action"] in {AuditAction.MESSAGE_DELIVERED, AuditAction.OVERRIDE_USED}:
        fields = entry.get("fields") or []
        how = "by emergency override" if entry["action"] == AuditAction.OVERRIDE_USED else ""
        return (
            f"{recipient} was sent a {kind} from {sender}"
            + (f" for {purpose}" if purpose else "")
            + (f" {how}" if how else "")
            + (
                f", under agreement {entry['agreement_id']} version {entry.get('agreement_version')}"
                if entry.get("agreement_id")
                else ""
            )
            + (f", on the lawful basis of {basis.lower()}" if basis else "")
            + (f". It received {len(fields)} fields: {', '.join(fields)}." if fields else ".")
        )
    if entry.get("decision") == Decision.DENY.value and recipient:
        reasons = "; ".join(entry.get("reasons") or ["no reason recorded"])
        return (
            f"{sender} asked to send a {kind} to {recipient}"
            + (f" for {purpose}" if purpose else "")
            + f"; the hub refused and sent nothing. Why: {reasons}."
        )
    return f"{ACTIONS.get(entry['action'], entry['action'])}, by {sender}."


@bp.route("/person", methods=["GET", "POST"])
@signed_in
def person() -> ResponseReturnValue:
    """Every disclosure about a person, newest first (refusals too when asked)."""
    reader = _ig_only()
    form = request.form if request.method == "POST" else {}
    errors: dict[str, str] = {}
    rows: list[dict[str, Any]] = []
    page = None
    if request.method == "POST":
        ref = _person(form.get("person", "").strip(), errors)
        if ref is None and "person" not in errors:
            errors["person"] = "Enter the person's identifier"
        if not errors:
            before = form.get("before", "")
            page = _services().audit_search.search(
                reader,
                _disclosures(ref, form),
                after=whole_number(before),
                limit=PAGE,
                newest_first=True,
            )
            if not page.person_known:
                errors["person"] = "The hub knows no one by that identifier"
            else:
                rows = _rows(page, _agency_names())
    return (
        render_template(
            "audit/person.html",
            form=form,
            errors=errors,
            rows=rows,
            next=page.next if page and not errors else None,
            searched=request.method == "POST" and not errors,
            bases=BASES,
        ),
        400 if errors else 200,
    )


def _disclosures(ref: SubjectRef | None, form: Any) -> AuditQuery:
    return AuditQuery(
        person=ref,
        disclosures=True,
        decision=None if form.get("refusals") == "yes" else Decision.PERMIT.value,
    )


@bp.post("/person.csv")
@signed_in
def person_csv() -> ResponseReturnValue:
    reader = _ig_only()
    errors: dict[str, str] = {}
    ref = _person(request.form.get("person", "").strip(), errors)
    if ref is None:
        abort(404)
    page, truncated = _services().audit_search.collect(
        reader, _disclosures(ref, request.form), CSV_LIMIT
    )
    if not page.person_known:
        abort(404)
    names = _agency_names()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for seq, text in page.items:
        e = json.loads(text)
        writer.writerow(
            _cell(v)
            for v in (
                seq,
                e["time"],
                e["action"],
                names.get(e.get("actor", {}).get("agency", ""), ""),
                names.get(e.get("recipient", ""), e.get("recipient", "")),
                e.get("message_type", ""),
                e.get("message_id", ""),
                e.get("purpose", ""),
                DECISIONS.get(e.get("decision", ""), ""),
                e.get("agreement_id", ""),
                e.get("agreement_version", ""),
                BASES.get(e.get("lawful_basis", ""), e.get("lawful_basis", "")),
                " ".join(e.get("fields", [])),
                "; ".join(e.get("reasons", [])),
            )
        )
    if truncated:
        writer.writerow([f"(only the newest {CSV_LIMIT:,}: export the rest with hub audit export)"])
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="disclosures-{stamp}.csv"',
            "Cache-Control": "no-store",
        },
    )


def _cell(value: Any) -> str:
    """A CSV cell a spreadsheet will not run as a formula (OWASP CSV injection)."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@bp.route("/verification", methods=["GET", "POST"])
@signed_in
def verification() -> ResponseReturnValue:
    _ig_only()
    services = _services()
    result = None
    busy = False
    if request.method == "POST":
        # One verification at a time in this process: each reads the whole log.
        if _VERIFYING.acquire(blocking=False):
            try:
                with contextlib.suppress(TreeDamaged):  # verification names the damage
                    services.transparency.integrate()
                result = services.transparency.verify(by=f"web: {g.user.username}")
            finally:
                _VERIFYING.release()
        else:
            busy = True
    head = services.transparency.latest()
    waiting, oldest = services.transparency.backlog()
    return render_template(
        "audit/verification.html",
        head=head,
        root=b64(head.root) if head else None,
        keys=services.transparency.verifiers(),
        last=services.transparency.last_verification(),
        result=result,
        busy=busy,
        waiting=waiting,
        oldest=oldest,
        max_delay=services.settings.audit_max_merge_delay,
    )
