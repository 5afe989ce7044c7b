"""Routes neutral events to flows inside one transaction, and runs the periodic tick."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import text

from bot.clock import Clock
from bot.events import Actor, ButtonAction, Command, FirstContact, FormSubmission
from bot.logs import log_error
from bot.messages import FormErrors, Message, Say, ShowForm, ToPerson
from bot.outbox import Dispatcher, DispatchReport
from bot.router import Route, Router
from flows import copy
from flows.context import FlowContext, Policy
from storage.crypto import Cipher
from storage.db import Database
from storage.repositories import Repositories

log = logging.getLogger(__name__)
T = TypeVar("T")
# A form accepted this long ago and still not stored was left by a process that died (its
# own would have stored it within seconds, or minutes under a burst): a tick stores it, a
# few at a time.
RECOVER_AFTER = timedelta(minutes=2)
RECOVER_BATCH = 50
KEEP_WITHIN = 1.0  # seconds the record made before a form's ack may take

Reply = Say | ShowForm | FormErrors
DueJob = Callable[[FlowContext], Awaitable[int]]
FirstContactHandler = Callable[[FirstContact, FlowContext], Awaitable[list[Reply]]]


@dataclass
class TickReport:
    queued: dict[str, int]
    dispatched: DispatchReport


class Engine:
    def __init__(
        self,
        *,
        db: Database,
        cipher: Cipher,
        clock: Clock,
        policy: Policy,
        router: Router,
        due_jobs: Sequence[tuple[str, DueJob]],
        dispatcher: Dispatcher,
        on_first_contact: FirstContactHandler | None = None,
    ) -> None:
        self.db = db
        self.cipher = cipher
        self.clock = clock
        self.policy = policy
        self.router = router
        self.dispatcher = dispatcher
        self._due_jobs = list(due_jobs)
        self._on_first_contact = on_first_contact

    async def handle(
        self, event: Command | ButtonAction | FormSubmission | FirstContact
    ) -> list[Reply]:
        """Answer a person's own action. Nothing is stored unless the whole handler succeeds."""
        return await self._handle(event, accepted=False)

    async def _handle(
        self, event: Command | ButtonAction | FormSubmission | FirstContact, *, accepted: bool
    ) -> list[Reply]:
        """`handle`; for a form already `accepted`, its kept answers go with the outcome."""
        now = self.clock.now()
        key = _event_key(event)
        if key is None and not accepted and self._reads_only(event):
            return await self._read_and_answer(event, now)
        async with self.db.session() as session:
            ctx = FlowContext(Repositories(session, self.cipher), now, self.policy)
            if key and await ctx.repos.events.seen(key):
                return []  # a platform retry or a replay: handled already
            # An accepted form is claimed first: of two handlers at once (the process that
            # acked it and a recovery) the second waits for the first, then does nothing.
            if accepted and key and not await ctx.repos.events.first_time(key, now):
                return []
            try:
                replies = await self._route(event, ctx)
            except Exception as exc:
                await session.rollback()
                error_id = log_error(log, f"handling {_describe(event)}", exc)
                await self._audit_error(event, now)
                if accepted and key:  # its author is told nothing was changed
                    await self._done_with(key)
                return [copy.something_went_wrong(error_id)]
            # Remembered only once handled: a form sent back with field errors can be fixed
            # and resubmitted; a concurrent duplicate loses the race and changes nothing.
            handled = not any(isinstance(r, FormErrors) for r in replies)
            if key and handled and not accepted and not await ctx.repos.events.first_time(key, now):
                await session.rollback()
                return []
            if accepted and key:
                await ctx.repos.accepted_forms.done(key)  # in the same commit as the form
            await session.commit()
        return replies

    def _reads_only(self, event: Command | ButtonAction | FormSubmission | FirstContact) -> bool:
        if isinstance(event, FirstContact):
            return False
        route, _ = self.router.resolve(event)
        return route is not None and route.reads_only

    async def _read_and_answer(
        self, event: Command | ButtonAction | FormSubmission, now: datetime
    ) -> list[Reply]:
        """A handler that only reads (opens a form, lists something): in a read session,
        which on SQLite doesn't take the write lock, so it never queues behind the tick or
        the dispatcher. Only for events without an id to de-duplicate (Slack's commands
        and buttons; Teams redelivers activities, whose ids are recorded as handled)."""
        async with self.db.read_session() as session:
            ctx = FlowContext(Repositories(session, self.cipher), now, self.policy)
            try:
                return await self._route(event, ctx)
            except Exception as exc:
                return [
                    copy.something_went_wrong(log_error(log, f"handling {_describe(event)}", exc))
                ]

    def acks_first(self, event: Command | ButtonAction | FormSubmission | FirstContact) -> bool:
        """A form with an early check: the platform gets its answer from `check`, then the
        form is stored by `handle_acked` (a person's action, answered at once)."""
        if not isinstance(event, FormSubmission):
            return False
        route, _ = self.router.resolve(event)
        return route is not None and route.check is not None

    async def check(self, event: FormSubmission) -> list[Reply]:
        """The early answer to a form (`acks_first`): field errors or a final word, or []
        when it may be accepted now. It stores nothing of the form's (on PostgreSQL it keeps
        the answers of one it accepts: `_keep_until_stored`). A failure here is left to
        `handle_acked`, which reports it."""
        route, routed = self.router.resolve(event)
        if route is None or route.check is None:
            return []
        if route.admin and not self.policy.is_admin(event.actor):
            return []  # `handle_acked` refuses it, and audits the refusal
        async with self.db.read_session() as session:
            ctx = FlowContext(Repositories(session, self.cipher), self.clock.now(), self.policy)
            try:
                answer = await route.check(routed, ctx)
            except Exception:  # handled, and logged, by `handle_acked` after the ack
                return []
        if answer is None:
            await self._keep_until_stored(event)
            return []
        return _as_list(answer)

    async def _keep_until_stored(self, event: FormSubmission) -> None:
        """The form is about to be accepted: keep its answers (sealed) until `handle_acked`
        stores them, so that a process that dies in between doesn't lose them (`recover`
        takes them up). The commit doesn't wait for the disk: it guards against this
        process dying, not the database. Best effort: if it fails, the form is still stored
        after the ack. Not on SQLite: its one writer would make the ack wait for whatever
        the process is writing (seconds, under a burst of joins); one SQLite process
        stores what it acked when it stops gracefully (see docs/deployment.md)."""
        key = _event_key(event)
        if key is None or self.db.is_sqlite:
            return
        try:  # within a second: the platform's answer must not wait on a busy database
            await asyncio.wait_for(self._keep(key, event), KEEP_WITHIN)
        except Exception as exc:
            log.warning("an accepted form could not be kept until stored: %s", type(exc).__name__)

    async def _keep(self, key: str, event: FormSubmission) -> None:
        async with self.db.session() as session:
            await session.exec(text("SET LOCAL synchronous_commit TO OFF"))  # type: ignore[call-overload]
            forms = Repositories(session, self.cipher).accepted_forms
            await forms.add(key, event.model_dump_json(), self.clock.now())
            await session.commit()

    async def _done_with(self, key: str) -> None:
        try:
            async with self.db.session() as session:
                await Repositories(session, self.cipher).accepted_forms.done(key)
                await session.commit()
        except Exception as exc:
            log.warning("an accepted form could not be let go: %s", type(exc).__name__)

    async def handle_acked(self, event: FormSubmission) -> list[Reply]:
        """`handle` for a form the platform has already accepted: field errors found only
        now (something changed since `check`) are told as a message, the form being gone."""
        replies = await self._handle(event, accepted=True)
        return [
            copy.form_not_saved(reply.errors) if isinstance(reply, FormErrors) else reply
            for reply in replies
        ]

    async def recover(self, now: datetime) -> int:
        """Store the forms accepted more than RECOVER_AFTER before `now` and still not
        stored (the process that acked them died), answering their authors through the
        outbox; how many. Exactly once, whichever replica runs it, even beside the process
        that acked them: a form's event id is recorded in the same commit as the form."""
        async with self.db.read_session() as session:
            forms = Repositories(session, self.cipher).accepted_forms
            waiting = await forms.waiting_since(now - RECOVER_AFTER, RECOVER_BATCH)
        for key, sealed in waiting:
            try:
                event = FormSubmission.model_validate_json(forms.answers(key, sealed))
            except Exception as exc:  # no key opens it, or it no longer reads as a form
                log_error(log, "an accepted form that can't be read was dropped", exc)
                await self._done_with(key)
                continue
            replies = await self.handle_acked(event)
            await self._done_with(key)  # also when it had been stored after all
            for n, reply in enumerate(replies):
                if isinstance(reply, Say):
                    await self.send_later(event.actor, reply.message, key=f"reply:{key}:{n}")
        if waiting:
            log.warning("%d accepted form(s) stored after a process died", len(waiting))
        return len(waiting)

    async def send_later(self, actor: Actor, message: Message, *, key: str) -> bool:
        """A reply the platform would not take straight back (e.g. a DM that failed): queued
        in the outbox for that person instead. False, with an ERROR logged that names
        neither the person nor the message, if even that failed."""
        try:
            await self.run(lambda ctx: ctx.send(key, ToPerson(person=actor), message))
        except Exception as exc:
            log_error(log, "queueing a reply that could not be sent directly", exc)
            return False
        return True

    async def _audit_error(self, event: object, now: datetime) -> None:
        """An admin action that failed is still audited, in its own transaction."""
        if not isinstance(event, Command | ButtonAction | FormSubmission):
            return
        route, routed = self.router.resolve(event)
        if route is None or not route.admin:
            return
        async with self.db.session() as session:
            ctx = FlowContext(Repositories(session, self.cipher), now, self.policy)
            await self._audit(route, routed, ctx, "error")
            await session.commit()

    async def _route(
        self, event: Command | ButtonAction | FormSubmission | FirstContact, ctx: FlowContext
    ) -> list[Reply]:
        if isinstance(event, FirstContact):
            return await self._on_first_contact(event, ctx) if self._on_first_contact else []
        route, routed = self.router.resolve(event)
        if route is None:
            return [copy.unknown(routed, admin=self.policy.is_admin(event.actor))]
        if route.admin and not await self._admin_allowed(route, routed, ctx):
            return [copy.admins_only()]
        replies = _as_list(await route.handler(routed, ctx))
        if route.admin:
            outcome = "invalid" if any(isinstance(r, FormErrors) for r in replies) else "ok"
            await self._audit(route, routed, ctx, outcome)
        return replies

    async def _admin_allowed(self, route: Route, event: object, ctx: FlowContext) -> bool:
        if self.policy.is_admin(event.actor):  # type: ignore[attr-defined]
            return True
        await self._audit(route, event, ctx, "refused", with_args=False)
        return False

    @staticmethod
    async def _audit(
        route: Route, event: object, ctx: FlowContext, outcome: str, *, with_args: bool = True
    ) -> None:
        """One row per admin action; a refused caller's free text is not kept."""
        args = getattr(event, "args", ()) or (getattr(event, "value", ""),)
        await ctx.repos.audit.record(
            at=ctx.now,
            actor=event.actor.key,  # type: ignore[attr-defined]
            action=route.name,
            target=" ".join(a for a in args if a)[:200] if with_args else "",
            outcome=outcome,
        )

    async def tick(self, now: datetime | None = None) -> TickReport:
        """Ask every flow what is due at `now`, queue it, then send what may go out now."""
        now = now or self.clock.now()
        try:
            await self.recover(now)
        except Exception as exc:  # it must not stop the tick's jobs, nor the sending
            log_error(log, "recovering accepted forms", exc)
        queued: dict[str, int] = {}
        for name, job in self._due_jobs:
            with _bulk_work():
                queued[name] = await self._run_job(name, job, now)
        return TickReport(queued=queued, dispatched=await self.dispatcher.run_once(now))

    async def _run_job(self, name: str, job: DueJob, now: datetime) -> int:
        """One tick job in its own transaction; a failure is logged and counts as 0."""
        async with self.db.session() as session:
            ctx = FlowContext(Repositories(session, self.cipher), now, self.policy)
            try:
                queued = await job(ctx)
                await session.commit()
            except Exception as exc:
                # One broken job must not stop the others, nor the sending.
                await session.rollback()
                log_error(log, f"tick job {name}", exc)
                return 0
        return queued

    async def run(self, work: Callable[[FlowContext], Awaitable[T]]) -> T:
        """Run set-up work (CLI, demo) in one transaction with a flow context."""
        async with self.db.session() as session:
            ctx = FlowContext(Repositories(session, self.cipher), self.clock.now(), self.policy)
            result = await work(ctx)
            await session.commit()
        return result

    async def dispatch(self, now: datetime | None = None) -> DispatchReport:
        return await self.dispatcher.run_once(now or self.clock.now())


@contextmanager
def _bulk_work() -> Iterator[None]:
    """No cyclic garbage collection while a tick job runs: a job over 100,000 pairs makes
    millions of short-lived objects (rows, items) but no cycles, and full collections that
    walk the whole heap again and again cost a third of its time. Reference counting still
    frees everything; the collector runs again as soon as the job ends."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _event_key(event: object) -> str | None:
    """An inbound event's id as de-duplicated: `platform:event id`."""
    event_id = getattr(event, "event_id", None)
    return f"{event.actor.platform}:{event_id}" if event_id else None  # type: ignore[attr-defined]


def _as_list(replies: Reply | list[Reply]) -> list[Reply]:
    return replies if isinstance(replies, list) else [replies]


def _describe(event: object) -> str:
    for attribute in ("name", "action_id", "form_id"):
        if hasattr(event, attribute):
            return f"{type(event).__name__} {getattr(event, attribute)}"
    return type(event).__name__
