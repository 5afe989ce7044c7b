"""`upward shell`: be anyone in a terminal. Forms are asked field by field."""

from __future__ import annotations

import asyncio
from datetime import datetime

from adapters.console.adapter import ConsoleAdapter
from adapters.console.harness import ConsoleSession
from adapters.console.parse import field_answer, parse_line
from adapters.console.render import render_field_prompt, render_form_intro
from bot.app import App, build_app
from bot.messages import Form, FormErrors
from bot.settings import Settings
from storage.migrate import upgrade_async

USAGE = """Type `@name text` to act as someone, e.g. `@alice /mentoring join`.
`@alice 2` presses button 2 of the last message @alice saw. `tick` runs the scheduler once,
`tick 2027-02-01T09:00` at a given moment. `quit` leaves."""


async def run_shell(settings: Settings, *, tenant: str) -> None:
    await upgrade_async(settings.database_url)
    adapter = ConsoleAdapter(tenant=tenant)
    app = build_app(settings, adapters={"console": adapter})
    session = ConsoleSession(engine=app.engine, adapter=adapter, tenant=tenant)
    print(USAGE)
    try:
        while True:
            line = (await asyncio.to_thread(input, "> ")).strip()
            if line in ("quit", "exit"):
                break
            await _one_line(line, session, app)
    except (EOFError, KeyboardInterrupt):
        pass
    finally:
        await app.close()


async def _one_line(line: str, session: ConsoleSession, app: App) -> None:
    if line.startswith("tick"):
        _, _, at = line.partition(" ")
        moment = datetime.fromisoformat(at) if at.strip() else None
        report = await app.engine.tick(moment)
        print(f"tick: queued {report.queued}, sent {report.dispatched.sent}")
        return
    parsed = parse_line(line)
    if parsed is None:
        print(USAGE)
        return
    if parsed.text.isdigit():
        await session.press(parsed.user, int(parsed.text))
    else:
        await session.say(parsed.user, parsed.text)
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
