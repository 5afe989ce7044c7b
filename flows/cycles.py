"""A pair's calendar: cadence is data, so what is due is computed from the pair's start.

Cycle 1 starts a week after the introduction (time for the kick-off meeting); each later
cycle starts one cadence after the previous; the pairing runs for the program's duration.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.timing import add_cycles, add_months
from storage.models import Pair, Program

KICKOFF = timedelta(days=7)
CHECKIN_AFTER_PROMPT = timedelta(days=7)
CYCLE_WORD = {"monthly": "month", "biweekly": "fortnight", "weekly": "week"}


def cycle_start(pair: Pair, program: Program, cycle: int) -> datetime:
    return add_cycles(pair.started_at + KICKOFF, program.cadence, cycle - 1)


def program_end(pair: Pair, program: Program) -> datetime:
    return add_months(pair.started_at, program.duration_months)


def cycle_count(pair: Pair, program: Program) -> int:
    end, count = program_end(pair, program), 0
    while cycle_start(pair, program, count + 1) < end:
        count += 1
    return count


def current_cycle(pair: Pair, program: Program, now: datetime) -> int:
    """The cycle running at `now` (0 before the first one starts)."""
    cycle = 0
    while cycle < cycle_count(pair, program) and cycle_start(pair, program, cycle + 1) <= now:
        cycle += 1
    return cycle


def cycle_end(pair: Pair, program: Program, cycle: int) -> datetime:
    if cycle >= cycle_count(pair, program):
        return program_end(pair, program)
    return cycle_start(pair, program, cycle + 1)


def midpoint_cycle(pair: Pair, program: Program) -> int:
    return max(1, (cycle_count(pair, program) + 1) // 2)


def next_cycle_start(pair: Pair, program: Program, now: datetime) -> datetime | None:
    upcoming = current_cycle(pair, program, now) + 1
    if upcoming > cycle_count(pair, program):
        return None
    return cycle_start(pair, program, upcoming)


def checkin_due(pair: Pair, program: Program, cycle: int) -> datetime:
    """About a week after the prompt, or halfway through a shorter cycle."""
    start = cycle_start(pair, program, cycle)
    length = cycle_end(pair, program, cycle) - start
    return start + min(CHECKIN_AFTER_PROMPT, length / 2)
