"""`upward`: the command line, and the composition root for every process it starts."""

from __future__ import annotations

import asyncio
import getpass
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from bot.app import App, build_app, migration_cipher
from bot.errors import ConfigurationError
from bot.settings import Settings, load_settings
from flows.context import FlowContext

T = TypeVar("T")

cli = typer.Typer(
    help="Upward: a reverse-mentoring program in Slack or Teams.", no_args_is_help=True
)
db_cli = typer.Typer(help="The database.", no_args_is_help=True)
program_cli = typer.Typer(help="Programs.", no_args_is_help=True)
roster_cli = typer.Typer(
    help="The employee roster (seniority, departments, reporting lines).", no_args_is_help=True
)
keys_cli = typer.Typer(help="Encryption keys for confidential text.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(program_cli, name="program")
cli.add_typer(roster_cli, name="roster")
cli.add_typer(keys_cli, name="keys")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"upward {metadata.version('upward')}")
        raise typer.Exit()


@cli.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Upward: a reverse-mentoring program in Slack or Teams."""


def main() -> None:
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    cli()


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigurationError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from None


def _run(
    work: Callable[[App], Awaitable[T]], *, settings: Settings | None = None, **app_kw: object
) -> T:
    async def runner() -> T:
        app = build_app(settings or _settings(), **app_kw)  # type: ignore[arg-type]
        try:
            return await work(app)
        finally:
            await app.close()

    try:
        return asyncio.run(runner())
    except ConfigurationError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from None


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the schema (alembic) at DATABASE_URL."""
    from storage.migrate import upgrade

    settings = _settings()
    try:
        cipher = migration_cipher(settings)
    except ConfigurationError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from None
    created = _sqlite_file_missing(settings.database_url)
    upgrade(settings.database_url, cipher=cipher)
    typer.echo(
        f"Created a new database at {created} and set up its tables."
        if created
        else "Database is up to date."
    )


def _sqlite_file_missing(url: str) -> Path | None:
    """The SQLite file `url` names, if it doesn't exist yet (upgrading will create it)."""
    from sqlalchemy import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    path = Path(parsed.database)
    return None if path.exists() else path


@program_cli.command("load")
def program_load(file: Path) -> None:
    """Create or update a program from a YAML file (see flows/data/sample_program.yaml)."""
    from flows.programs import ProgramFileError, read_program_file, save_program
    from storage.models import Program

    try:
        spec = read_program_file(file)
    except ProgramFileError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from None

    async def load(app: App) -> tuple[Program, bool]:
        saved = await app.engine.run(lambda ctx: save_program(ctx, spec))
        await _audit(app, "program load", spec.slug, "ok")
        return saved

    program, created = _run(load)
    typer.echo(f"Program “{program.name}” ({program.slug}) {'created' if created else 'updated'}.")


@roster_cli.command("import")
def roster_import(
    file: Path,
    platform: Annotated[str, typer.Option(help="slack, teams or console")] = "console",
    tenant: Annotated[
        str, typer.Option(help="Slack team id, Teams tenant id, or console tenant")
    ] = "demo",
) -> None:
    """Import a roster CSV: user_id or email, name, job_level, department, manager, timezone."""
    from flows.roster import RosterReport, import_roster

    try:
        text = file.read_text()
    except (OSError, UnicodeDecodeError):
        typer.secho(f"I can't read {file} as a text (CSV) file. Nothing was imported.", err=True)
        raise typer.Exit(2) from None

    async def load(app: App) -> RosterReport:
        report = await app.engine.run(
            lambda ctx: import_roster(ctx, text, platform=platform, tenant=tenant)
        )
        target = f"{platform}:{tenant} {report.imported} people"
        await _audit(app, "roster import", target, "invalid" if report.problems else "ok")
        return report

    report = _run(load)
    typer.echo(f"Imported {report.imported} people.")
    for problem in report.problems:
        typer.secho(f"  skipped {problem}", fg="yellow")
    if report.problems and not report.imported:
        typer.secho(
            f"{file} doesn't look like a roster: a CSV with a user_id or email column "
            "(and name, job_level, department, manager, timezone).",
            fg="red",
            err=True,
        )
        raise typer.Exit(1)


@cli.command()
def tick(
    at: Annotated[
        str | None, typer.Option(help="ISO-8601 moment to tick at (default: now)")
    ] = None,
) -> None:
    """Run one tick by hand: queue what is due, send what may go out."""
    moment = _parse_moment(at) if at else datetime.now(UTC)
    report = _run(lambda app: app.engine.tick(moment))
    queued = ", ".join(f"{name} {n}" for name, n in report.queued.items())
    sent = report.dispatched
    if sent.waiting:
        waiting = ", ".join(sorted(sent.waiting))
        typer.echo(f"Left queued for the process that serves {waiting} (`upward serve`).")
    typer.echo(
        f"Tick at {moment.isoformat()}: queued {queued}; "
        f"sent {sent.sent}, retrying {sent.retried}, failed {sent.failed}."
    )


@cli.command()
def dispatch(
    until_empty: Annotated[
        bool,
        typer.Option(help="keep going until nothing is due, waiting out a Retry-After"),
    ] = False,
    wait: Annotated[
        float,
        typer.Option(
            min=0,
            help="with --until-empty: wait at most this many seconds for held messages "
            "(a Retry-After) before stopping",
        ),
    ] = 60.0,
    follow: Annotated[
        bool,
        typer.Option(help="keep running and send whatever falls due, until SIGTERM or Ctrl-C"),
    ] = False,
    ready_file: Annotated[
        Path | None,
        typer.Option(help="write this file once connected and ready to claim"),
    ] = None,
) -> None:
    """Send what is due from the outbox now, without ticking (several may run at once)."""
    from bot.dispatching import DispatchTotals, dispatch_loop

    async def send(app: App) -> DispatchTotals:
        return await dispatch_loop(
            app.engine, follow=follow, until_empty=until_empty, wait=wait, ready_file=ready_file
        )

    totals = _run(send)
    typer.echo(f"Sent {totals.sent}, retrying {totals.retried}, failed {totals.failed}.")


@keys_cli.command("new")
def keys_new() -> None:
    """Print a new encryption key for UPWARD_ENCRYPTION_KEYS."""
    from cryptography.fernet import Fernet

    typer.echo(Fernet.generate_key().decode())


@keys_cli.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt every stored secret with the newest key in UPWARD_ENCRYPTION_KEYS.

    1. `upward keys new`, and put the new key first: UPWARD_ENCRYPTION_KEYS=<new>,<old>.
    2. Restart the servers (they now write with the new key and still read the old).
    3. `upward keys rotate` (safe while they run), then drop the old key and restart."""
    from storage.rotation import RotationReport, rotate_all

    settings = _settings()
    if len(settings.encryption_keys) < 2:
        typer.secho(
            "Put a new key first: UPWARD_ENCRYPTION_KEYS=<new key>,<old key> "
            "(`upward keys new` makes one), restart the servers, then run this again.",
            fg="red",
            err=True,
        )
        raise typer.Exit(2)

    async def rotate(app: App) -> RotationReport:
        report = await rotate_all(app.db, app.engine.cipher)
        outcome = "ok" if not report.unreadable else "error"
        await _audit(app, "keys rotate", f"{report.rotated} rows", outcome)
        return report

    report = _run(rotate)
    typer.echo(f"Re-encrypted {report.rotated} rows with the newest key.")
    if report.unreadable:
        typer.secho(
            f"{report.unreadable} rows could not be read with any configured key: keep the "
            "old keys until they are accounted for.",
            fg="red",
            err=True,
        )
        raise typer.Exit(1)
    typer.echo("You can now remove the old key(s) from UPWARD_ENCRYPTION_KEYS and restart.")


@cli.command()
def audit(
    limit: Annotated[int, typer.Option(help="how many of the latest entries")] = 50,
) -> None:
    """The audit log: every admin action, allowed or refused (newest first)."""

    async def latest(app: App) -> list:
        return await app.engine.run(lambda ctx: ctx.repos.audit.latest(limit=limit))

    for e in _run(latest):
        target = f" {e.target}" if e.target else ""
        typer.echo(f"{e.at:%Y-%m-%d %H:%M:%S} {e.actor} {e.action}{target} -> {e.outcome}")


async def _audit(app: App, action: str, target: str, outcome: str) -> None:
    """Operators act from the command line: that is an admin action too."""
    who = f"cli:{getpass.getuser()}"

    async def record(ctx: FlowContext) -> None:
        await ctx.repos.audit.record(
            at=ctx.now, actor=who, action=action, target=target[:200], outcome=outcome
        )

    await app.engine.run(record)


@cli.command()
def shell(
    tenant: Annotated[str, typer.Option(help="console tenant")] = "demo",
    admin: Annotated[list[str] | None, typer.Option(help="console user ids who are admins")] = None,
) -> None:
    """Act as anyone: `@alice /mentoring join`, `@alice 1` presses a button, `tick`, `quit`."""
    from bot.shell import run_shell

    settings = _settings()
    extra = [f"console:{tenant}:{user}" for user in admin or []]
    settings = settings.model_copy(
        update={
            "admins": settings.admins + extra,
            "admin_channels": settings.admin_channels or [f"console:{tenant}:mentoring-admins"],
        }
    )
    asyncio.run(run_shell(settings, tenant=tenant))


@cli.command()
def demo(
    db: Annotated[Path, typer.Option(help="SQLite file for the demo (recreated)")] = Path(
        "upward-demo.db"
    ),
) -> None:
    """A deterministic simulated pilot: a dozen people, three months, in your terminal."""
    from bot.demo import run_demo

    asyncio.run(run_demo(db))


@cli.command()
def serve() -> None:
    """The long-running process: APScheduler drives the tick; adapters serve HTTP."""
    from bot.server import run_server

    try:
        run_server(_settings())
    except ConfigurationError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from None


@cli.command("teams-package")
def teams_package(
    out: Annotated[Path, typer.Option(help="where to write the zip")] = Path("upward-teams.zip"),
    host: Annotated[
        str | None,
        typer.Option(
            envvar="UPWARD_PUBLIC_HOST",
            help="public host name of `upward serve`, e.g. upward.example.com (no https://)",
        ),
    ] = None,
    app_id: Annotated[
        str | None,
        typer.Option(envvar="MICROSOFT_APP_ID", help="the bot's Microsoft App ID (a GUID)"),
    ] = None,
    version: Annotated[str, typer.Option(help="app version; raise it for every upload")] = "1.0.0",
) -> None:
    """Write the Teams app package (manifest.json + icons) to upload in Teams."""
    from adapters.teams.package import write_package

    missing = [
        f"{option} (or set {env})"
        for option, env, value in (
            ("--app-id", "MICROSOFT_APP_ID", app_id),
            ("--host", "UPWARD_PUBLIC_HOST", host),
        )
        if not (value or "").strip()
    ]
    if missing:
        typer.secho(
            f"Missing {' and '.join(missing)}: the Teams package needs the bot's "
            "Microsoft App ID and the public host name where `upward serve` runs.",
            fg="red",
            err=True,
        )
        raise typer.Exit(2)
    try:
        path = write_package(out, app_id=app_id or "", host=host or "", version=version)
    except ValueError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"Wrote the Teams app package to {path}.")
    typer.echo(
        "Next: upload it in Teams: Apps → Manage your apps → Upload an app "
        "(or ask a Teams admin to add it to your org's app catalog)."
    )


def _parse_moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        typer.secho(
            f"--at must be ISO-8601, e.g. 2027-02-01T09:00:00+00:00 (got {text!r})",
            fg="red",
            err=True,
        )
        raise typer.Exit(2) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
