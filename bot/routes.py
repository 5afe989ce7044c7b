"""The one table of what the bot answers to, and what the tick asks about."""

from __future__ import annotations

from bot.engine import DueJob
from bot.router import Router
from flows import (
    admin,
    agreement,
    channels,
    checkins,
    circles,
    concerns,
    data_rights,
    digests,
    ending,
    goals,
    home,
    kickoff,
    optin,
    preparation,
    programs,
    prompts,
    readiness,
    retention,
    reviews,
    thanks,
)
from flows.matching import proposals


def build_router() -> Router:
    """`reads_only`: handlers that only read and answer (checked on SQLite with the write
    lock held elsewhere: tests/e2e/test_read_only_answers.py)."""
    router = Router()
    router.command("join", optin.join, "opt in")
    router.command("leave", optin.leave, "leave the program")
    router.command("pause", optin.pause, "pause until a date")
    router.command("status", optin.status, "where things stand", reads_only=True)
    router.command("help", optin.help_, "what I can do", reads_only=True)
    router.command("checkin", checkins.open_from_command, "a private check-in", reads_only=True)
    router.command("goals", goals.goals_command, "your pair's goals", reads_only=True)
    router.command("end", ending.end_command, "end or re-match")
    router.command("home", home.home, "your mentoring at a glance")
    router.command("my-data", data_rights.my_data, "everything stored about you")
    router.command("forget", data_rights.forget, "erase your data")
    router.command("concern", concerns.concern, "tell the program lead something is wrong")
    router.form("concern", concerns.submit_concern)
    router.command("circle", circles.circle_command, "join this month's mentor circle")
    router.button("circle.join", circles.join_button)
    router.button("forget.confirm", data_rights.confirm_forget)
    router.button("forget.cancel", data_rights.cancel_forget)
    router.button("join.open", home.join_button)
    router.form("join", optin.submit_join, check=optin.check_join)
    router.form("checkin", checkins.submit)
    router.form("goal", goals.submit)
    router.form("review", reviews.submit)
    router.button("checkin.open", checkins.open_from_button, reads_only=True)
    router.button("goals.add", goals.add_button, reads_only=True)
    router.button("agreement.open", agreement.open_form, reads_only=True)
    router.button("agreement.read", agreement.read)
    router.form("agreement", agreement.submit)
    router.button("goals.list", goals.list_button, reads_only=True)
    router.button("goal.done", goals.mark_done)
    router.button("review.open", reviews.open_review, reads_only=True)
    router.button("end.confirm", ending.confirm_end)
    router.button("end.cancel", ending.cancel_end)
    router.button("prep.got_it", preparation.got_it)
    router.button("prep.next", preparation.next_button)
    router.button("readiness.open", readiness.open_answers)
    router.form("readiness", readiness.submit_answers)
    router.button("thanks.write", thanks.open_form, reads_only=True)
    router.button("thanks.read", thanks.read)
    router.button("thanks.share", thanks.share)
    router.form("thanks", thanks.submit)

    router.admin("status", admin.admin_status, "program status and delivery failures")
    router.admin("audit", admin.admin_audit, "latest admin actions")
    router.admin("program", programs.admin_program, "create or edit a program")
    router.admin("match", proposals.admin_match, "propose, drop, approve pairs")
    router.admin("digest", digests.admin_digest, "post the digest now")
    router.admin("channel", channels.admin_channel, "choose the channel digests go to")
    router.admin("concerns", concerns.admin_concerns, "read concerns participants raised")
    router.admin("kickoff", kickoff.admin_kickoff, "announce the kick-off to everyone")
    router.admin("introduce", preparation.admin_introduce, "preparation counts; introduce now")
    router.admin("readiness", readiness.admin_readiness, "an anonymous readiness pulse")
    router.form("admin.kickoff", kickoff.submit_kickoff, admin=True)
    router.form("admin.readiness", readiness.submit_pulse, admin=True, check=readiness.check_pulse)
    router.admin("thanks", thanks.admin_thanks, "thank everyone taking part")
    router.form("admin.thanks", thanks.submit_admin_thanks, admin=True)
    router.form("admin.program", programs.submit_program, admin=True)
    router.button("match.approve", proposals.approve_button, admin=True)
    router.button("match.discard", proposals.discard_button, admin=True)
    return router


def due_jobs() -> list[tuple[str, DueJob]]:
    """In order: resumptions first so a returning person's prompt isn't skipped."""
    return [
        ("resume", optin.resume_due),
        ("preparation", preparation.due),
        ("prompts", prompts.due),
        ("checkins", checkins.due),
        ("reviews", reviews.due),  # completes finished pairs before anyone is nudged
        ("nudges", goals.nudges_due),
        ("digests", digests.due),
        ("readiness", readiness.due),
        ("circles", circles.due),
        ("retention", retention.purge_due),
    ]
