"""`upward demo`: a deterministic, simulated three-month pilot, printed as people see it.

Everyone here is fictional. The demo drives the real engine with the same neutral events a
platform adapter sends, on a fresh SQLite file, with a clock that jumps instead of sleeping.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.fernet import Fernet

from adapters.console.adapter import ConsoleAdapter, Delivered
from adapters.console.harness import ConsoleSession
from adapters.console.render import render_message
from bot.app import App, build_app, migration_cipher
from bot.clock import FrozenClock
from bot.messages import Say
from bot.settings import load_settings
from flows.programs import SAMPLE_PROGRAM, read_program_file, save_program
from flows.roster import import_roster
from storage.migrate import upgrade_async

TENANT = "demo"
ADMIN = "hana"
ROSTER = Path(__file__).parent.parent / "flows" / "data" / "demo_roster.csv"
START = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)  # a Monday
FEATURED = {"ben", "victor", "#mentoring-admins"}
LATE_READER = "zoe"
CIRCLE_JOINERS = {"ben", "amara", "dev"}  # junior mentors who join the monthly peer circles
SEED = 2027

CAST: dict[str, dict[str, str | list[str]]] = {
    "amara": {
        "role": "mentor",
        "offers": ["ai_tools", "collaboration_tools"],
        "wants": ["career_growth"],
    },
    "ben": {
        "role": "mentor",
        "offers": ["front_line_experience", "customer_insight"],
        "wants": ["decision_making"],
    },
    "chloe": {
        "role": "mentor",
        "offers": ["social_media", "customer_insight"],
        "wants": ["career_growth"],
    },
    "dev": {
        "role": "mentor",
        "offers": ["hybrid_work", "wellbeing", "ai_tools"],
        "wants": ["data_literacy"],
    },
    "emi": {
        "role": "mentor",
        "offers": ["diversity_inclusion", "generational_perspectives", "social_media"],
        "wants": ["feedback_culture"],
    },
    "felix": {
        "role": "mentor",
        "offers": ["ai_tools", "data_literacy"],
        "wants": ["career_growth"],
    },
    "victor": {
        "role": "mentee",
        "offers": ["career_growth"],
        "wants": ["ai_tools", "front_line_experience"],
    },
    "wendy": {
        "role": "mentee",
        "offers": ["career_growth"],
        "wants": ["social_media", "customer_insight"],
    },
    "xavier": {
        "role": "mentee",
        "offers": ["decision_making"],
        "wants": ["hybrid_work", "diversity_inclusion", "ai_tools"],
    },
    "yasmin": {
        "role": "mentee",
        "offers": ["decision_making"],
        "wants": ["wellbeing", "hybrid_work", "customer_insight"],
    },
    "zoe": {
        "role": "mentee",
        "offers": ["career_growth"],
        "wants": ["generational_perspectives", "diversity_inclusion", "ai_tools"],
    },
}
LATE_JOINER = (
    "ines",
    {
        "role": "mentor",
        "offers": ["customer_insight", "social_media"],
        "wants": ["decision_making"],
    },
)
TIMEZONES = {
    "chloe": "America/New_York",
    "wendy": "America/New_York",
    "ines": "America/New_York",
    "dev": "Europe/Berlin",
    "yasmin": "Europe/Berlin",
    "felix": "Asia/Tokyo",
}
PRIVATE_NOTE = "Felt nervous telling a VP the rollout confused customers; glad I did."


@dataclass
class Demo:
    app: App
    clock: FrozenClock
    console: ConsoleAdapter
    session: ConsoleSession
    rng: random.Random = field(default_factory=lambda: random.Random(SEED))  # noqa: S311 (seeded, not secret)
    printed: int = 0
    answered: set[str] = field(default_factory=set)

    # --- narration -----------------------------------------------------------------

    def chapter(self, title: str) -> None:
        print(f"\n━━━ {self.clock.now():%a %d %b %Y} · {title} ━━━")

    def flush(self) -> None:
        """Print new deliveries: in full for the featured people and the admin channel,
        one line for everyone else (a group DM is printed once)."""
        seen: set[tuple[str, int]] = set()
        for delivered in self.console.delivered[self.printed :]:
            marker = (delivered.where, id(delivered.message))
            if marker in seen:
                continue
            seen.add(marker)
            self._print(delivered)
        self.printed = len(self.console.delivered)

    def _print(self, delivered: Delivered) -> None:
        if delivered.to in FEATURED or any(f"@{f} " in f"{delivered.where} " for f in FEATURED):
            body = "\n".join(
                "   │ " + line for line in render_message(delivered.message).splitlines()
            )
            print(f"   ┌─ {delivered.where}\n{body}")
        else:
            print(f"   · {delivered.where}: {delivered.message.summary[:90]}")

    async def act(self, user: str, text: str, *, show: bool | None = None) -> list:
        replies = await self.session.say(user, text)
        self._show_replies(user, text, replies, show)
        return replies

    async def submit(
        self, user: str, values: dict[str, str | list[str]], *, show: bool | None = None
    ) -> list:
        replies = await self.session.submit(user, values)
        self._show_replies(user, "(submits the form)", replies, show)
        return replies

    async def press(self, user: str, label: str, *, show: bool | None = None) -> list:
        replies = await self.session.press(user, label)
        self._show_replies(user, f"[{label}]", replies, show)
        return replies

    async def read_cards(self, user: str, *, show: bool = False) -> None:
        """Press "Got it" on each preparation card as it comes ("Continue" on a reminder)."""
        if any(b.label == "Continue" for b in self.console.buttons.get(user, ())):
            await self.press(user, "Continue", show=show)
        while any(b.label == "Got it" for b in self.console.buttons.get(user, ())):
            replies = await self.press(user, "Got it", show=show)
            if not any(b.label == "Got it" for r in replies for b in _buttons(r)):
                break

    def _show_replies(self, user: str, said: str, replies: list, show: bool | None) -> None:
        show = user in FEATURED or user == ADMIN if show is None else show
        if not show:
            return
        print(f" @{user}: {said}")
        for reply in replies:
            if isinstance(reply, Say):
                body = "\n".join(
                    "   │ " + line for line in render_message(reply.message).splitlines()
                )
                print(f"   ┌─ only @{user} sees this\n{body}")

    # --- time ----------------------------------------------------------------------

    async def run_until(self, moment: datetime) -> None:
        """Tick twice each weekday, at 01:00 UTC (Tokyo's working day) and 14:30 UTC (when
        London, Berlin and New York overlap), and let people answer what lands in their DMs."""
        while self.clock.now() < moment:
            now = self.clock.now()
            slots = [now.replace(hour=1, minute=0), now.replace(hour=14, minute=30)]
            later = [s for s in slots if s > now] or [slots[0] + timedelta(days=1)]
            self.clock.set(later[0])
            if self.clock.now().weekday() >= 5:
                continue
            await self.app.engine.tick()
            self.flush()
            await self.answer_checkins()
            await self.join_circles()

    async def answer_checkins(self) -> None:
        for index, delivered in enumerate(self.console.delivered):
            key = f"{delivered.to}:{index}"
            if key in self.answered or not any(
                b.action_id == "checkin.open" for b in delivered.message.buttons
            ):
                continue
            self.answered.add(key)
            await self.session.press(delivered.to, "Check in privately")
            await self.session.submit(delivered.to, self.checkin_answers(delivered.to))

    async def join_circles(self) -> None:
        for index, delivered in enumerate(self.console.delivered):
            key = f"{delivered.to}:{index}"
            if key in self.answered or delivered.to not in CIRCLE_JOINERS:
                continue
            if any(b.action_id == "circle.join" for b in delivered.message.buttons):
                self.answered.add(key)
                await self.press(delivered.to, "Join this month's circle")

    def checkin_answers(self, user: str) -> dict[str, str | list[str]]:
        themes = ["great_progress", "scheduling", "workload", "power_dynamics"]
        first_month = self.clock.now() < START + timedelta(days=40)
        met = "no" if user in ("amara", "xavier") and first_month else "yes"
        answers: dict[str, str | list[str]] = {
            "met": met,
            "rating": str(self.rng.choice([3, 4, 4, 5])),
            "themes": sorted(["new_perspective", self.rng.choice(themes)]),
            "energy": str(self.rng.choice([2, 3, 4])),
            "note": PRIVATE_NOTE if user == "ben" else "",
        }
        return answers


def remove_database(db_path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)


async def run_demo(db_path: Path) -> None:
    await asyncio.to_thread(remove_database, db_path)
    settings = load_settings(
        database_url=f"sqlite+aiosqlite:///{db_path}",
        encryption_keys=[Fernet.generate_key().decode()],
        admins=[f"console:{TENANT}:{ADMIN}"],
        admin_channels=[f"console:{TENANT}:mentoring-admins"],
        outbox_in_flight=1,  # one send at a time: the transcript comes out in the same order
    )
    await upgrade_async(settings.database_url, cipher=migration_cipher(settings))
    clock = FrozenClock(START)
    console = ConsoleAdapter(tenant=TENANT, echo=None)
    app = build_app(settings, clock=clock, adapters={"console": console})
    demo = Demo(app, clock, console, ConsoleSession(app.engine, console, TENANT))
    try:
        await script(demo)
    finally:
        await app.close()


async def script(demo: Demo) -> None:
    print("Upward demo: a simulated reverse-mentoring pilot. Everyone here is fictional.")
    print(f"Full messages for {', '.join(sorted(FEATURED))}; one line for everyone else.")
    engine = demo.app.engine
    await engine.run(lambda ctx: save_program(ctx, read_program_file(SAMPLE_PROGRAM)))
    await engine.run(
        lambda ctx: import_roster(ctx, ROSTER.read_text(), platform="console", tenant=TENANT)
    )

    demo.chapter("Opt-in: eleven people join")
    for user, answers in CAST.items():
        await demo.act(user, "/mentoring join", show=False)
        await demo.submit(user, _join_answers(user, answers), show=user == "ben")

    demo.chapter("Preparation: a few role cards in each DM, read before the first meeting")
    await demo.run_until(START + timedelta(days=1, hours=5))  # each in their working hours
    for user in CAST:
        if user != LATE_READER:  # busy this week: her pair's introduction will wait
            await demo.read_cards(user, show=user == "ben")

    demo.chapter("Matching: the admin previews, then approves")
    await demo.act(ADMIN, "/mentoring admin match 7")
    await demo.act(ADMIN, "/mentoring admin match approve")
    await engine.dispatch()
    demo.flush()
    await demo.act(ADMIN, "/mentoring admin introduce")

    demo.chapter("Goals: the senior partner commits to something")
    await demo.act("victor", "goals add", show=False)
    await demo.submit(
        "victor",
        {
            "text": "I will shadow a support shift",
            "kind": "commitment",
            "owner": "me",
            "due": "2027-01-29",
        },
    )
    await engine.dispatch()
    demo.flush()

    demo.chapter("A gentle reminder, then the last introduction")
    await demo.run_until(START + timedelta(days=3, hours=5))
    await demo.read_cards(LATE_READER, show=True)
    await engine.dispatch()
    demo.flush()

    demo.chapter("Month 1: prompts, private check-ins, a nudge")
    await demo.run_until(START + timedelta(days=31))
    await demo.act("victor", "goals", show=False)
    await demo.press("victor", "Done: I will shadow a support shift")

    demo.chapter("Month 2: a no-fault re-match, and a late joiner")
    await demo.act("emi", "end", show=False)
    await demo.press("emi", "Ask for a re-match", show=False)
    await engine.dispatch()
    demo.flush()
    name, answers = LATE_JOINER
    await demo.act(name, "/mentoring join", show=False)
    await demo.submit(name, _join_answers(name, answers), show=False)
    await engine.dispatch()
    demo.flush()
    await demo.read_cards(name)
    await demo.act(ADMIN, "/mentoring admin match 8")
    await demo.act(ADMIN, "/mentoring admin match approve")
    await engine.dispatch()
    demo.flush()
    await demo.run_until(START + timedelta(days=62))

    demo.chapter("Month 3")
    await demo.run_until(START + timedelta(days=88))

    demo.chapter("The admin's view")
    await demo.act(ADMIN, "/mentoring admin digest")
    await engine.dispatch()
    demo.flush()
    await demo.act(ADMIN, "/mentoring admin status")
    print(
        "\nBen's private note was stored encrypted; it appears nowhere above except here: "
        f"{PRIVATE_NOTE!r}"
    )
    print("Next: `upward shell` to try it yourself; README.md to run it in Slack.")


def _buttons(reply: object) -> tuple:
    return reply.message.buttons if isinstance(reply, Say) else ()


def _join_answers(user: str, answers: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
    return {
        **answers,
        "timezone": TIMEZONES.get(user, "Europe/London"),
        "agree": "yes",
        "off_limits": [],
        "avoid": "",
    }
