"""`upward serve`: one aiohttp process; APScheduler only triggers the tick and the dispatcher."""

from __future__ import annotations

import asyncio
import fcntl
import gc
import html
import logging
from pathlib import Path
from typing import IO, Any

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.app import App, build_app, migration_cipher
from bot.errors import ConfigurationError
from bot.logs import configure_logging, quiet_libraries
from bot.settings import Settings
from flows import copy
from storage.migrate import schema_status

log = logging.getLogger(__name__)
DISPATCH_SECONDS = 20
STOP_WITHIN = 20.0  # seconds a graceful stop gives what is under way
UPWARD = web.AppKey("upward", App)
SCHEDULER = web.AppKey("scheduler", AsyncIOScheduler)


def build_web_app(app: App) -> web.Application:
    quiet_libraries()  # aiohttp's own errors: one line, type only, no request text
    web_app = web.Application()
    web_app[UPWARD] = app

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def readyz(_request: web.Request) -> web.Response:
        ready, what = await schema_status(app.db)
        return web.json_response({"ok": ready, "database": what}, status=200 if ready else 503)

    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_get("/readyz", readyz)
    # The Teams app package links here (privacyUrl, termsOfUseUrl).
    web_app.router.add_get("/privacy", _page("Upward: privacy", privacy_text()))
    web_app.router.add_get("/terms", _page("Upward: terms of use", terms_text()))
    for edge in (app.slack, app.teams):
        if edge is not None:
            edge.mount(web_app)
    web_app.on_startup.append(_start_scheduler)
    web_app.on_cleanup.append(_stop)
    return web_app


def privacy_text() -> str:
    lines = [f"{who}: {what}." for who, what in copy.WHO_SEES_WHAT]
    return "\n".join(
        [
            "Upward runs your organisation's reverse-mentoring program in chat. It stores your "
            "name, your answers to the join form, your goals and your check-ins, in your "
            "organisation's own database. Who sees what:",
            *lines,
            "Ask your program admin for a copy of your data or to have it removed.",
        ]
    )


def terms_text() -> str:
    return copy.AGREEMENT.replace("*", "")


def _page(title: str, text: str) -> Any:
    body = "".join(f"<p>{html.escape(line)}</p>" for line in text.splitlines())
    page = f"<!doctype html><title>{html.escape(title)}</title><h1>{html.escape(title)}</h1>{body}"

    async def handler(_request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html")

    return handler


async def _start_scheduler(web_app: web.Application) -> None:
    app: App = web_app[UPWARD]
    scheduler = AsyncIOScheduler(timezone="UTC")
    # Jobs are idempotent (outbox keys), so a late or doubled run is harmless: coalesce,
    # and allow lateness instead of APScheduler's 1-second default grace.
    common = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 600}
    scheduler.add_job(
        app.engine.tick, "interval", minutes=app.settings.tick_minutes, id="tick", **common
    )
    scheduler.add_job(
        app.engine.dispatch, "interval", seconds=DISPATCH_SECONDS, id="dispatch", **common
    )
    scheduler.start()
    web_app[SCHEDULER] = scheduler
    if app.slack is not None:
        await app.slack.start()
    # What start-up built lives as long as the process: out of the garbage collector's
    # way, a full collection walks only what requests make (shorter pauses between acks).
    gc.freeze()
    asyncio.get_running_loop().create_task(app.engine.tick())


async def _stop(web_app: web.Application) -> None:
    """SIGTERM (a deploy, a scale-down): no new ticks, no new claims, no new events; sends
    under way finish and are recorded, and forms already acked (joins, readiness pulses)
    are stored, and their work done, before the database closes."""
    web_app[SCHEDULER].shutdown(wait=False)
    app = web_app[UPWARD]
    try:
        # At the same time, within one budget (orchestrators allow 30 s by default): sends
        # under way, and the joins already acked (Slack stops taking events first).
        draining = [app.engine.dispatcher.drain(within=STOP_WITHIN)]
        if app.slack is not None:
            draining.append(app.slack.stop(within=STOP_WITHIN))
        if app.teams is not None:
            draining.append(app.teams.stop(within=STOP_WITHIN))
        await asyncio.gather(*draining)
    finally:
        await app.close()


def hold_sqlite_lock(database: Path) -> IO[str]:
    """One `upward serve` per SQLite file: SQLite has one writer, and two schedulers on one
    file would only fight over it. Replicas need PostgreSQL. The lock lives as long as the
    returned file stays open (the process), and dies with it, even on SIGKILL."""
    handle = open(f"{database}.serve.lock", "w")  # noqa: SIM115
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise ConfigurationError(
            f"Another `upward serve` is already using {database}. SQLite supports one server; "
            "run several replicas on PostgreSQL (DATABASE_URL=postgresql+asyncpg://…)."
        ) from None
    return handle


def run_server(settings: Settings, *, host: str = "0.0.0.0", port: int = 3000) -> None:  # noqa: S104
    from storage.migrate import upgrade

    configure_logging(settings.log_format)
    upgrade(settings.database_url, cipher=migration_cipher(settings))
    app = build_app(settings)
    lock = hold_sqlite_lock(app.db.sqlite_path) if app.db.sqlite_path else None
    log.info(
        "Upward serving on %s:%s (adapters: %s)", host, port, ", ".join(app.adapters) or "none"
    )
    try:
        web.run_app(build_web_app(app), host=host, port=port)
    finally:
        if lock is not None:
            lock.close()
