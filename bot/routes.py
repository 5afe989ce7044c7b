"""The one table of what the bot answers to, and what the tick asks about."""

from __future__ import annotations

from bot.engine import DueJob
from bot.router import Router
from flows import ending, optin, programs


def build_router() -> Router:
    router = Router()
    router.command("join", optin.join, "opt in")
    router.command("leave", optin.leave, "leave the program")
    router.command("pause", optin.pause, "pause until a date")
    router.command("status", optin.status, "where things stand")
    router.command("help", optin.help_, "what I can do")
    router.command("end", ending.end_command, "end or re-match")
    router.form("join", optin.submit_join)
    router.button("end.confirm", ending.confirm_end)
    router.button("end.cancel", ending.cancel_end)
    router.admin("program", programs.admin_program, "create or edit a program")
    router.form("admin.program", programs.submit_program, admin=True)
    return router


def due_jobs() -> list[tuple[str, DueJob]]:
    return [
        ("resume", optin.resume_due),
    ]
