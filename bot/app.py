"""The composition root: the one place that wires settings, storage, flows, adapters and time."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.clock import Clock, SystemClock
from bot.contact_book import StoredContactBook
from bot.engine import Engine
from bot.errors import ConfigurationError
from bot.outbox import Dispatcher
from bot.ports import Adapter
from bot.routes import build_router, due_jobs
from bot.settings import Settings
from flows.context import Policy
from flows.optin import first_contact
from storage.crypto import Cipher, load_or_create_key_file
from storage.db import Database

if TYPE_CHECKING:
    from adapters.slack.setup import SlackEdge
    from adapters.teams.setup import TeamsEdge

log = logging.getLogger(__name__)


@dataclass
class App:
    settings: Settings
    db: Database
    engine: Engine
    adapters: dict[str, Adapter]
    slack: SlackEdge | None = None
    teams: TeamsEdge | None = None

    async def close(self) -> None:
        if self.slack is not None:
            await self.slack.close()
        await self.db.dispose()


def build_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    adapters: Mapping[str, Adapter] | None = None,
    teams_credentials: Any = None,
) -> App:
    """`teams_credentials` replaces botbuilder's credentials factory (tests with auth on,
    where Entra ID can't be reached)."""
    db = Database(settings.database_url)
    clock = clock or SystemClock()
    adapters = dict(adapters or {})
    slack = None
    # Each platform's SDK is imported only when that platform is configured: a process
    # that does not serve Teams (e.g. a Slack-only `upward dispatch`) never loads botbuilder.
    if settings.slack_enabled and "slack" not in adapters:
        from adapters.slack.setup import slack_edge

        slack = slack_edge(
            token=settings.slack_bot_token,  # type: ignore[arg-type]
            signing_secret=settings.slack_signing_secret,
            app_token=settings.slack_app_token,
            api_url=settings.slack_api_url,
            pacing_seconds=settings.slack_pacing_seconds,
            workspace_rate=settings.slack_workspace_rate,
        )
        adapters["slack"] = slack.delivery
        if not any(c.startswith("slack:") for c in settings.all_admin_channels()):
            log.warning("SLACK_ADMIN_CHANNEL is not set: digests will not be posted in Slack")
    teams = None
    if settings.teams_enabled and "teams" not in adapters:
        from adapters.teams.setup import teams_edge

        teams = teams_edge(
            app_id=settings.microsoft_app_id or "",
            password=settings.microsoft_app_password,
            tenant_id=settings.microsoft_app_tenant_id,
            app_type=settings.microsoft_app_type,
            contacts=StoredContactBook(db, clock),
            credentials_factory=teams_credentials,
            pacing_seconds=settings.teams_pacing_seconds,
            overall_rate=settings.teams_rate,
        )
        adapters["teams"] = teams.delivery
    engine = Engine(
        db=db,
        cipher=build_cipher(settings, db),
        clock=clock,
        policy=Policy(
            admins=frozenset(settings.all_admins()),
            admin_channels=tuple(settings.all_admin_channels()),
            work_start=settings.work_start_hour,
            work_end=settings.work_end_hour,
            default_timezone=settings.default_timezone,
            retention_days=settings.retention_days,
            one_by_one=frozenset(
                name for name, adapter in adapters.items() if not adapter.capabilities.group_dm
            ),
        ),
        router=build_router(),
        due_jobs=due_jobs(),
        dispatcher=Dispatcher(
            db,
            adapters,
            lease=timedelta(seconds=settings.outbox_lease_seconds),
            in_flight=settings.outbox_in_flight,
        ),
        on_first_contact=first_contact,
    )
    for edge in (slack, teams):
        if edge is not None:
            edge.attach(engine)
    return App(settings=settings, db=db, engine=engine, adapters=adapters, slack=slack, teams=teams)


def migration_cipher(settings: Settings) -> Cipher:
    """The cipher `upward db upgrade` hands the migrations that seal data already stored:
    the same keys (or SQLite key file) the app will use."""
    return build_cipher(settings, Database(settings.database_url))


def build_cipher(settings: Settings, db: Database) -> Cipher:
    """Keys from settings; otherwise (zero set-up) a key file beside the SQLite database."""
    if settings.encryption_keys:
        return Cipher(settings.encryption_keys)
    if not db.is_sqlite:
        raise ConfigurationError(
            "UPWARD_ENCRYPTION_KEYS is required with a shared database: every replica must "
            "use the same keys (generate one with `upward keys new`)"
        )
    key_file = settings.key_file
    if key_file is None:
        base = db.sqlite_path.parent if db.sqlite_path else Path(".")
        key_file = base / ".upward" / "secret.key"
    return Cipher([load_or_create_key_file(key_file)])
