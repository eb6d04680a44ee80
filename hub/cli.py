"""The `hub` command (click, through Flask's CLI)."""

from __future__ import annotations

import functools
import getpass
import os
import shutil
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click
from flask import current_app
from flask.cli import FlaskGroup

from audit.entry import Actor
from hub.domain.errors import HubError
from hub.domain.vocab import AgencyKind, Role, Scope
from hub.settings import ConfigError, Settings


def _create_app() -> object:
    from hub.app import create_app

    try:
        return create_app()
    except ConfigError as error:
        raise click.ClickException(
            f"{error}. For the demo world run with HUB_ENV=demo (as `make run` does)."
        ) from None


@click.group(
    cls=FlaskGroup, create_app=_create_app, add_default_commands=False, add_version_option=False
)
def main() -> None:
    """The justice information-sharing hub."""


def _services() -> object:
    services = current_app.extensions["hub"]
    # Close the database pool when the command ends (a command is one short-lived process).
    click.get_current_context().find_root().call_on_close(services.close)
    return services


F = TypeVar("F", bound=Callable[..., Any])


def _cli_actor() -> Actor:
    """Who acted, for the audit log: the command line, and the operating-system account that
    ran it (operators' accounts, never a person the hub holds data about)."""
    try:
        account = getpass.getuser()
    except (KeyError, OSError):
        account = f"uid {os.getuid()}"
    return Actor(user=f"cli:{account}")


def friendly(command: F) -> F:
    """A refused command says why in one line and exits non-zero, without a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except HubError as error:
            raise click.ClickException(error.detail) from None

    return wrapper  # type: ignore[return-value]


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration (creates the SQLite file under var/ when needed)."""
    from hub.store.migrate import upgrade

    settings = _settings()
    upgrade(settings.database_url)
    click.echo(f"database is at the latest schema ({_redact(settings.database_url)})")


@main.command()
def demo() -> None:
    """Create the demo world when the database is empty."""
    from hub.demo import create_demo_world

    created, path = create_demo_world(_services())  # type: ignore[arg-type]
    if created:
        click.echo(f"demo world created; credentials in {path} (mode 0600)")
    elif path.exists():
        click.echo(f"demo world already present; credentials in {path}")
    else:
        click.echo("the database already has agencies: no demo world created", err=True)


@main.command("simulate", with_appcontext=False)
@click.option(
    "--url",
    default=lambda: "http://" + os.environ.get("HUB_BIND", "127.0.0.1:8000"),
    show_default="http://127.0.0.1:8000",
    help="The hub's base URL.",
)
@click.option(
    "--speed",
    type=click.FloatRange(min=0),
    default=2.0,
    show_default=True,
    help="Real seconds per simulated day (0: as fast as the hub answers).",
)
@click.option("--seed", type=int, default=2011, show_default=True, help="Same seed, same people.")
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=None,
    help="Stop after N simulated days [default: run until stopped].",
)
@click.option(
    "--start",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The first simulated day [default: --days ago, else two years ago].",
)
@click.option(
    "--credentials",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The demo credentials [default: $HUB_VAR_DIR/demo/credentials.json].",
)
def simulate(
    url: str,
    speed: float,
    seed: int,
    days: int | None,
    start: datetime | None,
    credentials: Path | None,
) -> None:
    """Drive the hub's API with a synthetic population of people leaving prison (the living
    demo); a second run against the same demo world continues where the last stopped."""
    from hub.simulate import Options, SimulationError, run_until_signalled

    path = credentials or Path(os.environ.get("HUB_VAR_DIR", "var")) / "demo" / "credentials.json"
    options = Options(
        url=url,
        credentials=path,
        speed=speed,
        seed=seed,
        days=days,
        start=start.date() if start else None,
        state=path.parent / "simulation.json",
    )
    try:
        run_until_signalled(options, log=lambda line: click.echo(line))
    except SimulationError as error:
        raise click.ClickException(str(error)) from None


@main.group()
def agency() -> None:
    """Agencies."""


@agency.command("add")
@click.argument("agency_id")
@click.option("--name", required=True)
@click.option("--kind", type=click.Choice([k.value for k in AgencyKind]), required=True)
@click.option("--region", required=True)
@friendly
def agency_add(agency_id: str, name: str, kind: str, region: str) -> None:
    """Register an agency."""
    services = _services()
    with services.db.transaction() as session:  # type: ignore[attr-defined]
        services.registry.add_agency(  # type: ignore[attr-defined]
            session,
            agency_id=agency_id,
            name=name,
            kind=AgencyKind(kind),
            region=region,
            actor=_cli_actor(),
        )
    click.echo(f"agency {agency_id} added")


@main.group()
def client() -> None:
    """OAuth clients."""


@client.command("add")
@click.argument("agency_id")
@click.option("--name", required=True, help="what the client is, e.g. 'nDelius integration'")
@click.option(
    "--public-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="PEM public key for private_key_jwt (RSA 2048+ or EC P-256)",
)
@click.option(
    "--secret", "issue_secret", is_flag=True, help="issue a client secret (client_secret_basic)"
)
@click.option("--scope", "scopes", multiple=True, type=click.Choice([s.value for s in Scope]))
@friendly
def client_add(
    agency_id: str, name: str, public_key: Path | None, issue_secret: bool, scopes: tuple[str, ...]
) -> None:
    """Register a client for an agency: a public key, or an issued secret (shown once)."""
    services = _services()
    with services.db.transaction() as session:  # type: ignore[attr-defined]
        new = services.registry.add_client(  # type: ignore[attr-defined]
            session,
            agency_id=agency_id,
            name=name,
            public_key_pem=public_key.read_bytes() if public_key else None,
            issue_secret=issue_secret,
            scopes=[Scope(s) for s in scopes] or None,
            actor=_cli_actor(),
        )
    click.echo(f"client_id: {new.client_id}")
    if new.kid:
        click.echo(f"kid: {new.kid}")
    if new.client_secret:
        click.echo(f"client_secret: {new.client_secret}  (shown once; only its hash is stored)")


@client.command("disable")
@click.argument("client_id")
@friendly
def client_disable(client_id: str) -> None:
    """Stop a client: no new tokens; its live tokens are refused within 30 seconds."""
    services = _services()
    with services.db.transaction() as session:  # type: ignore[attr-defined]
        services.registry.disable_client(session, client_id, actor=_cli_actor())  # type: ignore[attr-defined]
    click.echo(f"client {client_id} disabled")


@main.group()
def user() -> None:
    """People who sign in to the pages."""


@user.command("add")
@click.argument("username")
@click.option("--name", "display_name", required=True)
@click.option("--agency", "agency_id", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option(
    "--clearance",
    type=click.IntRange(0, 2),
    default=0,
    show_default=True,
    help="The person's vetting: 0 none, 1 police information, 2 police intelligence.",
)
@click.option(
    "--email",
    default=None,
    help="Work email, as documents name the user as a case owner (work is routed to them).",
)
@friendly
def user_add(
    username: str, display_name: str, agency_id: str, role: str, clearance: int, email: str | None
) -> None:
    """Add a user (the password is asked for, never passed on the command line)."""
    password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    services = _services()
    with services.db.transaction() as session:  # type: ignore[attr-defined]
        services.registry.add_user(  # type: ignore[attr-defined]
            session,
            username=username.lower(),
            display_name=display_name,
            password=password,
            agency_id=agency_id,
            role=Role(role),
            actor=_cli_actor(),
            clearance=clearance,
            email=email,
        )
    click.echo(f"user {username.lower()} added")


@main.group()
def keys() -> None:
    """The hub's token-signing keys."""


@keys.command("rotate")
def keys_rotate() -> None:
    """Start signing with a new key; the old one stays in the JWKS until its tokens expire."""
    kid = _services().signing_keys.rotate()  # type: ignore[attr-defined]
    click.echo(
        f"new signing key {kid}: running hub processes sign with it within a minute; "
        "tokens signed with the old key stay valid until they expire"
    )


@main.command()
@click.option(
    "--bind",
    default=lambda: os.environ.get("HUB_BIND", "127.0.0.1:8000"),
    show_default="127.0.0.1:8000",
)
@click.option(
    "--workers", type=int, default=lambda: int(os.environ.get("HUB_WORKERS", "2")), show_default="2"
)
@click.option(
    "--connections",
    type=int,
    default=lambda: int(os.environ.get("HUB_WORKER_CONNECTIONS", "1000")),
    show_default="1000",
    help="Open connections each worker serves at once (live streams included).",
)
def serve(bind: str, workers: int, connections: int) -> None:
    """Serve the hub with gunicorn: gevent workers, so that hundreds of open live streams (each
    idle most of the time) do not hold a thread each and starve ordinary requests."""
    settings = _settings()
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or shutil.which(
        "gunicorn"
    )
    if gunicorn is None:
        raise click.ClickException("gunicorn is not installed")
    metrics_dir = settings.var_dir / "prometheus"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    host = f"http://{bind}"
    click.echo(
        f"\nThe hub is starting on {host}\n"
        f"  pages:     {host}/ui/   (sign in with a user from {settings.var_dir / 'demo' / 'credentials.json'})\n"
        f"  API docs:  {host}/docs   and {host}/openapi.json\n"
        f"  tokens:    {host}/oauth/token\n"
        f"  health:    {host}/healthz  {host}/readyz  {host}/metrics\n"
    )
    sys.stdout.flush()
    os.execv(  # noqa: S606 (replace this process with gunicorn, arguments fixed above)
        gunicorn,
        [
            gunicorn,
            "--bind",
            bind,
            "--workers",
            str(workers),
            "--worker-class",
            "gevent",
            "--worker-connections",
            str(connections),
            "--config",
            "python:hub.gunicorn_conf",
            "hub.wsgi:app",
        ],
    )


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as error:
        raise click.ClickException(str(error)) from None


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


@main.group()
def adapter() -> None:
    """Agency documents dropped as files (a court's daily results, an IOM spreadsheet)."""


@adapter.command("import")
@click.argument("agency_kind")
@click.argument("document_name", metavar="DOCUMENT")
@click.argument(
    "path", metavar="FILE", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--agency", "agency_id", required=True, help="The sending agency's id.")
@friendly
def adapter_import(agency_kind: str, document_name: str, path: Path, agency_id: str) -> None:
    """Read FILE through the AGENCY_KIND adapter's DOCUMENT reader, exactly as
    `POST /v1/adapters/AGENCY_KIND/DOCUMENT` does, and print what happened to each record that
    was not accepted. Exits 1 when any record was rejected."""
    import adapters
    from hub.domain.callers import Caller

    document = adapters.document(agency_kind, document_name)
    if document is None:
        known = ", ".join(f"{d.agency_kind} {d.name}" for d in adapters.documents())
        raise click.ClickException(f"no adapter for {agency_kind} {document_name}; known: {known}")
    services = _services()
    who = Caller(agency_id=agency_id, client_id="cli", request_id=None)
    bar: Any = None
    shown = 0

    def progress(done: int, total: int) -> None:
        nonlocal bar, shown
        if not sys.stderr.isatty():
            return  # a bar is for people watching; logs and pipes get the summary only
        if bar is None or done < shown:  # the first record, or a retry starting again
            if bar is not None:
                bar.__exit__(None, None, None)
            bar = click.progressbar(length=total, label="records", file=sys.stderr)
            bar.__enter__()
            shown = 0
        bar.update(done - shown)
        shown = done

    try:
        with path.open("rb") as stream:
            report = services.documents.receive(who, document, stream, progress)  # type: ignore[attr-defined]
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    for outcome in report.outcomes:
        if outcome.status in ("rejected", "held"):
            where = f" {outcome.field}:" if outcome.field else ":"
            click.echo(f"{outcome.status}: {outcome.record}{where} {outcome.reason}")
    click.echo(
        f"{report.document}: {report.count('accepted')} accepted, {report.count('held')} held for "
        f"identity review, {report.rejected} rejected, {report.count('skipped')} skipped"
    )
    if report.rejected:
        sys.exit(1)


@main.group()
def policy() -> None:
    """The data sharing agreements in policies/agreements (no database needed)."""


def _agreements(directory: Path | None) -> Any:
    from hub.domain.vocab import MessageType, Purpose
    from policies.engine import AgreementError, Agreements

    folder = directory or Settings.policy_dir
    try:
        return folder, Agreements.load(
            folder,
            message_types=[t.value for t in MessageType],
            purposes=[p.value for p in Purpose],
            agency_kinds=[k.value for k in AgencyKind],
        )
    except AgreementError as error:
        raise click.ClickException(str(error)) from None


_DIR = click.option(
    "--dir",
    "directory",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="The agreements folder (default: the hub's policies/agreements).",
)


@policy.command("lint", with_appcontext=False)
@_DIR
def policy_lint(directory: Path | None) -> None:
    """Check every agreement (TOML, vocabulary, Cedar rules against the schema); exit 1 naming
    the file and the reason if one is invalid."""
    _, engine = _agreements(directory)
    for agreement in engine.agreements:
        click.echo(
            f"ok  {agreement.id} v{agreement.version}: {len(agreement.flows)} flow(s), "
            f"review by {agreement.review_date}"
        )
    click.echo(f"{len(engine.agreements)} agreements; policy set {engine.policy_hash[:16]}")
    for agreement, days in engine.reviews_due():
        if days < 0:
            click.echo(
                f"warning: {agreement.id} passed its review date ({agreement.review_date}) and "
                "permits nothing until information governance reviews it and sets a new date",
                err=True,
            )
        else:
            click.echo(
                f"warning: {agreement.id} is due for review by {agreement.review_date} "
                f"({days} days); after that it permits nothing",
                err=True,
            )


@policy.command("test", with_appcontext=False)
@_DIR
def policy_test(directory: Path | None) -> None:
    """Run the example cases beside each agreement (*.cases.toml); exit 1 if any fails."""
    from policies.cases import run_cases
    from policies.engine import AgreementError

    folder, engine = _agreements(directory)
    failed = total = 0
    try:
        for result in run_cases(engine, folder):
            total += 1
            if result.passed:
                click.echo(f"PASS {result.file}: {result.name}")
            else:
                failed += 1
                click.echo(f"FAIL {result.file}: {result.name}: {result.detail}")
    except AgreementError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{total - failed} passed, {failed} failed")
    if failed or not total:
        sys.exit(1)


@main.group("audit")
def audit_group() -> None:
    """The audit log as a transparency log."""


@audit_group.command("verify")
@click.option(
    "--key",
    "keys",
    multiple=True,
    help="check checkpoints against this verifier key (kept outside the database) instead of "
    "the keys the database holds; repeat for rotated keys",
)
@friendly
def audit_verify(keys: tuple[str, ...]) -> None:
    """Recompute every leaf and the tree from the database and check every checkpoint's
    signature and root; exit 1 naming the first bad entry and what failed."""
    from audit.note import NoteError, Verifier

    try:
        pinned = [Verifier.parse(k) for k in keys]
    except NoteError as error:
        raise click.BadParameter(str(error), param_hint="--key") from None
    from hub.services.transparency import TreeDamaged

    services = _services()
    log = services.transparency  # type: ignore[attr-defined]
    try:
        log.integrate()
    except TreeDamaged as error:
        click.echo(f"warning: {error.detail}; verifying what is stored", err=True)
    bar: Any = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = click.progressbar(length=total, label="verifying", file=sys.stderr)
            bar.__enter__()
        bar.update(done - bar.pos)

    try:
        result = log.verify(progress, by=f"hub audit verify ({_cli_actor().user})", keys=pinned)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    if not result.ok:
        click.echo(f"FAILED: {result.detail}", err=True)
        sys.exit(1)
    click.echo(f"ok: {result.detail}")


@audit_group.command("rotate-key")
@friendly
def audit_rotate_key() -> None:
    """Sign checkpoints with a new key from now on (older checkpoints keep their key)."""
    services = _services()
    verifier = services.transparency.rotate_key(_cli_actor())  # type: ignore[attr-defined]
    click.echo(f"new verifier key: {verifier}")


def _when(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            "a date (2026-11-24) or an RFC 3339 time", param_hint=name
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@audit_group.command("export")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--person", help="only entries about this person (an identifier, e.g. crn:X123456)")
@click.option("--agency", help="only entries where this agency acted or was the recipient")
@click.option("--action", help="only this action, e.g. message.delivered")
@click.option("--decision", type=click.Choice(["permit", "deny"]))
@click.option("--since", help="from this date or time (UTC unless it says otherwise)")
@click.option("--until", help="before this date or time")
@friendly
def audit_export(
    file: Path,
    person: str | None,
    agency: str | None,
    action: str | None,
    decision: str | None,
    since: str | None,
    until: str | None,
) -> None:
    """Write entries, the newest checkpoint, the verifier keys and inclusion proofs to FILE,
    for `python -m audit.verify FILE` to check offline. Without filters, every entry."""
    from hub.domain.messages import SubjectRef
    from hub.services.audit_search import AuditQuery, Reader

    try:
        ref = SubjectRef.parse(person) if person else None
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--person") from None
    query = AuditQuery(
        person=ref,
        agency=agency,
        action=action,
        decision=decision,
        since=_when(since, "--since"),
        until=_when(until, "--until"),
    )
    services = _services()
    reader = Reader(_cli_actor(), None, everyone=True)
    tmp = file.with_name(f".{file.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as handle:
            count = services.audit_search.export(  # type: ignore[attr-defined]
                handle,
                services.transparency,  # type: ignore[attr-defined]
                reader,
                query,
            )
        os.replace(tmp, file)
    finally:
        tmp.unlink(missing_ok=True)
    click.echo(
        f"{count} entries exported to {file}; check it with: "
        f"python -m audit.verify {file} --key <each of the hub's verifier keys>"
    )


@audit_group.command("witness", with_appcontext=False)
@click.argument("url")
@click.option(
    "--state",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="where this witness keeps the last checkpoint it accepted (JSON)",
)
@click.option("--key", "keys", multiple=True, help="a verifier key to trust; repeatable")
def audit_witness(url: str, state: Path, keys: tuple[str, ...]) -> None:
    """Hold a hub to account: fetch its checkpoint, check the signature and that it extends the
    last one stored in STATE (consistency proof). Exit 1, loudly, on a rewritten history; 2 when
    the hub cannot be asked; 3 when the checkpoint is signed by a key not yet trusted."""
    from audit.note import NoteError, Verifier
    from audit.witness import FetchError, HistoryRewritten, UntrustedKey, http_fetch, witness

    try:
        pinned = [Verifier.parse(k) for k in keys]
        outcome = witness(http_fetch(url), state, pinned)
    except HistoryRewritten as error:
        click.echo(f"ALERT: {url} rewrote its audit history: {error}", err=True)
        sys.exit(1)
    except UntrustedKey as error:
        click.echo(f"UNTRUSTED KEY: {error}", err=True)
        sys.exit(3)
    except (FetchError, NoteError, ValueError) as error:
        click.echo(f"cannot witness {url}: {error}", err=True)
        sys.exit(2)
    for key in outcome.trusted_new_keys:
        click.echo(f"trusting on first use: {key}", err=True)
    click.echo(f"ok: {outcome.describe()}")
