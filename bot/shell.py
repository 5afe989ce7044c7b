"""`upward shell`: be anyone in a terminal. Forms are asked field by field."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from adapters.console.adapter import ConsoleAdapter
from adapters.console.harness import ConsoleSession
from adapters.console.parse import field_answer, parse_line
from adapters.console.render import render_field_prompt, render_form_intro
from bot.app import App, build_app, migration_cipher
from bot.clock import FrozenClock
from bot.messages import Form, FormErrors
from bot.settings import Settings
from storage.migrate import upgrade_async

USAGE = """Type `@name text` to act as someone, e.g. `@alice /mentoring join`.
`@alice 2` presses button 2 of the last message @alice saw. `tick` runs the scheduler now;
`tick 2027-02-01T09:00` moves the shell's clock to that moment (UTC unless an offset is
given) and runs it then. `quit` leaves."""


async def run_shell(settings: Settings, *, tenant: str) -> None:
    await upgrade_async(settings.database_url, cipher=migration_cipher(settings))
    adapter = ConsoleAdapter(tenant=tenant)
    # The shell's own clock: `tick <moment>` moves it, so what people do next happens then.
    clock = FrozenClock(datetime.now(UTC))
    app = build_app(settings, clock=clock, adapters={"console": adapter})
    session = ConsoleSession(engine=app.engine, adapter=adapter, tenant=tenant)
    print(USAGE)
    try:
        while True:
            line = (await asyncio.to_thread(input, "> ")).strip()
            if line in ("quit", "exit"):
                break
            await _one_line(line, session, app, clock)
    except (EOFError, KeyboardInterrupt):
        pass
    finally:
        await app.close()


async def _one_line(line: str, session: ConsoleSession, app: App, clock: FrozenClock) -> None:
    if line == "tick" or line.startswith("tick "):
        moment = _moment(line.removeprefix("tick").strip(), clock)
        if moment is None:
            print("Give the moment as ISO-8601, e.g. `tick 2027-02-01T09:00`.")
            return
        clock.set(moment)
        report = await app.engine.tick()
        sent = report.dispatched.sent
        print(f"tick at {moment:%Y-%m-%d %H:%M} UTC: queued {report.queued}, sent {sent}")
        return
    parsed = parse_line(line)
    if parsed is None:
        print(USAGE)
        return
    try:
        if parsed.text.isascii() and parsed.text.isdigit():
            await session.press(parsed.user, int(parsed.text))
        else:
            await session.say(parsed.user, parsed.text)
    except LookupError:
        labels = [b.label for b in session.adapter.buttons.get(parsed.user, ())]
        listed = "; ".join(f"{i}. {label}" for i, label in enumerate(labels, 1)) or "none"
        print(f"@{parsed.user} has no button {parsed.text}. Their buttons: {listed}")
        return
    await _fill_forms(session, parsed.user)
    await app.engine.dispatch()


async def _fill_forms(session: ConsoleSession, user: str) -> None:
    """Ask each field in turn; after field errors, ask again only the fields that were wrong."""
    answers: dict[str, str | list[str]] = {}
    shown: Form | None = None
    while (form := session.open_forms.get(user)) is not None:
        if form is not shown:
            print(render_form_intro(form))
            answers, shown = {}, form
        errors = session.last_errors.pop(user, {})
        for field in form.fields:
            if errors and field.id not in errors:
                continue
            if field.id in errors:
                print(f"  ! {errors[field.id]}")
            answer = await asyncio.to_thread(input, render_field_prompt(field) + "\n  > ")
            answers[field.id] = field_answer(field, answer)
        replies = await session.submit(user, answers)
        if (
            not any(isinstance(r, FormErrors) for r in replies)
            and session.open_forms.get(user) is form
        ):
            session.open_forms.pop(user, None)


def _moment(text: str, clock: FrozenClock) -> datetime | None:
    if not text:
        return clock.now()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
