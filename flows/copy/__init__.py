"""The words the bot says, in one place. Never put a participant's answers in these."""

from __future__ import annotations

from bot.events import BaseEvent, Command
from bot.messages import Actions, Button, Fields, Heading, Message, Say, Text, say

HELP_LINES = (
    ("join", "opt in to the mentoring program"),
    ("status", "your program, partner and what's next"),
    ("goals", "your pair's goals and commitments (`/mentoring goals add` to add one)"),
    ("checkin", "a private check-in on how it's going"),
    ("pause YYYY-MM-DD", "take a break until a date; everything resumes by itself"),
    ("end", "end your pairing or ask for a re-match, confidentially and without blame"),
    ("circle", "junior mentors: join this month's peer circle"),
    ("home", "your mentoring at a glance"),
    ("concern", "tell the program lead, in confidence, that something is wrong"),
    ("leave", "leave the program"),
    ("my-data", "a copy of everything stored about you"),
    ("forget", "erase everything stored about you"),
    ("help", "this list"),
)

ADMIN_HELP_LINES = (
    ("admin status", "participants, pairs and any messages that could not be delivered"),
    ("admin program", "create or edit a program"),
    ("admin match", "propose pairs; then `admin match drop N` or `admin match approve`"),
    ("admin digest", "post the anonymised digest to the admin channel now"),
    ("admin channel here", "said in a channel: post the digests there (`off` to stop)"),
    ("admin concerns", "read the concerns participants raised"),
    ("admin kickoff", "announce the program kick-off (date, link, agenda) to everyone"),
    ("admin introduce", "preparation counts; `all` or `@someone` introduces waiting pairs now"),
    ("admin readiness", "an anonymous readiness pulse before enrolment (`new` for another)"),
    ("admin thanks", "thank everyone taking part, at the end of the program"),
    ("admin audit", "the latest admin actions"),
)

AGREEMENT = (
    "*Purpose.* Reverse mentoring: the more junior partner shares what leaders can't see "
    "from the top, the senior partner listens and learns. Both can set goals.\n"
    "*Confidentiality.* What you say in your conversations stays between the two of you. "
    "Your check-ins are private: your partner never sees them, and admins only ever see "
    "totals over several pairs, never who said what.\n"
    "*Respect.* Speak candidly and kindly; no rank in the room.\n"
    "*Boundaries.* Topics you mark off-limits are never suggested to your pair.\n"
    "*No-fault exit.* Either of you can end the pairing or ask for a re-match at any time, "
    "confidentially; the other person is told neutrally."
)

WHO_SEES_WHAT = (
    (
        "Your partner",
        "your name, role, shared topics, and goals you add together; never your check-ins",
    ),
    ("Program admins", "totals over at least k pairs; never your check-in answers or notes"),
    ("Operators (IT)", "the database, where your answers and notes are encrypted"),
    ("Only you", "your check-in answers, notes, and who you asked not to be paired with"),
)


def something_went_wrong(error_id: str) -> Say:
    return say(
        "Sorry, something went wrong on our side and nothing was changed. "
        f"If it keeps happening, tell your program admin (reference {error_id})."
    )


def form_not_saved(errors: dict[str, str]) -> Say:
    """A form that was accepted, then could not be saved (things changed meanwhile)."""
    problems = " ".join(errors.values())
    return say(
        f"Sorry, I couldn't save your form after all: {problems} Nothing was changed; "
        "please open it again."
    )


def unknown(event: BaseEvent, *, admin: bool = False) -> Say:
    """`event` as routed: an admin sub-command arrives named `admin <sub>`."""
    if isinstance(event, Command):
        if event.name == "admin" or event.name.startswith("admin "):
            if not admin:
                return admins_only()
            sub = event.name.removeprefix("admin").strip()
            prefix = (
                f"I don't know the admin command `{sub}`. Here is what I can do:"
                if sub
                else "Admin commands, and everything else I can do:"
            )
            return help_message(prefix=prefix, admin=True)
        return help_message(
            prefix=f"I don't know the command `{event.name}`. Here is what I can do:", admin=admin
        )
    return say("That button or form has expired. Type `/mentoring help` to see what I can do.")


def admins_only() -> Say:
    return say("Sorry, only program admins can do that. Nothing was changed.")


def not_enrolled() -> Say:
    return say("You're not in a mentoring program yet. Type `/mentoring join` to opt in.")


def no_program() -> Say:
    return say(
        "There is no mentoring program open right now. Your program admin will announce one."
    )


def help_message(*, prefix: str = "Here is what I can do:", admin: bool = False) -> Say:
    lines = HELP_LINES + (ADMIN_HELP_LINES if admin else ())
    body = "\n".join(f"• `/mentoring {cmd}` — {what}" for cmd, what in lines)
    return say(prefix, Text(text=prefix), Text(text=body))


def who_sees_what_text() -> str:
    return "\n".join(f"• {who}: {what}" for who, what in WHO_SEES_WHAT)


def who_sees_what_blocks() -> tuple[Heading, Fields]:
    return Heading(text="Who can see what"), Fields(items=WHO_SEES_WHAT)


def welcome(program_name: str, k: int, *, cards: int = 0) -> Say:
    summary = f"Welcome to {program_name}! You're in."
    preparation = (
        f"First, a short preparation for your role: {cards} cards, about a minute each; the "
        "first is just below. Your introduction waits until you and your partner have both "
        "read yours. "
        if cards
        else ""
    )
    return say(
        summary,
        Heading(text=summary),
        Text(
            text=f"{preparation}Next: an admin runs matching and you'll get an introduction to "
            "your partner, with why you were matched. In the meantime, `/mentoring status` "
            "shows where things stand."
        ),
        *who_sees_what_blocks(),
        Text(text=f"(k = {k}: admins see no figure covering fewer than {k} pairs.)"),
    )


def notice(summary: str, *lines: str, buttons: tuple[Button, ...] = ()) -> Message:
    """A message the bot starts: a summary line, optional detail, optional buttons."""
    blocks: list = [Text(text=summary), *(Text(text=line) for line in lines if line)]
    if buttons:
        blocks.append(Actions(buttons=buttons))
    return Message(summary=summary, blocks=tuple(blocks))


def pair_ended() -> Message:
    return notice(
        "Your mentoring pairing has come to an end.",
        "This happens in every program and it's nobody's fault. You'll have priority at the "
        "next matching round; `/mentoring status` shows where things stand.",
    )


def match_cancelled() -> Message:
    return notice(
        "The match lined up for you couldn't go ahead, and nobody is at fault.",
        "You'll have priority at the next matching round; nothing for you to do.",
    )


def unmatched() -> Message:
    """For everyone left without a pair when a round is approved, whatever the reason (the
    numbers, or an admin dropping a proposed pair): so it gives none."""
    return notice(
        "No match for you this round, and nothing you did caused it.",
        "You'll have priority at the next round (a match still depends on who takes part); "
        "nothing else for you to do.",
    )
