"""A pair's calendar: cadence is data, so what is due is computed from the pair's start.

Cycle 1 starts a week after the introduction (time for the kick-off meeting); each later
cycle starts one cadence after the previous; the pairing runs for the program's duration.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import NamedTuple, Protocol, TypeVar

from bot.timing import add_cycles, add_months
from storage.models import Program

T = TypeVar("T")


class Dated(Protocol):
    """A pair as far as its calendar goes (a stored pair, or the tick's lighter row)."""

    @property
    def started_at(self) -> datetime: ...


KICKOFF = timedelta(days=7)
CHECKIN_AFTER_PROMPT = timedelta(days=7)
CYCLE_WORD = {"monthly": "month", "biweekly": "fortnight", "weekly": "week"}


def cycle_start(pair: Dated, program: Program, cycle: int) -> datetime:
    return add_cycles(pair.started_at + KICKOFF, program.cadence, cycle - 1)


def program_end(pair: Dated, program: Program) -> datetime:
    return add_months(pair.started_at, program.duration_months)


def cycle_count(pair: Dated, program: Program) -> int:
    end, count = program_end(pair, program), 0
    while cycle_start(pair, program, count + 1) < end:
        count += 1
    return count


def current_cycle(pair: Dated, program: Program, now: datetime) -> int:
    """The cycle running at `now` (0 before the first one starts)."""
    cycle, count = 0, cycle_count(pair, program)
    while cycle < count and cycle_start(pair, program, cycle + 1) <= now:
        cycle += 1
    return cycle


def cycle_end(pair: Dated, program: Program, cycle: int) -> datetime:
    if cycle >= cycle_count(pair, program):
        return program_end(pair, program)
    return cycle_start(pair, program, cycle + 1)


def midpoint_cycle(pair: Dated, program: Program) -> int:
    return max(1, (cycle_count(pair, program) + 1) // 2)


def next_cycle_start(pair: Dated, program: Program, now: datetime) -> datetime | None:
    upcoming = current_cycle(pair, program, now) + 1
    if upcoming > cycle_count(pair, program):
        return None
    return cycle_start(pair, program, upcoming)


def checkin_due(pair: Dated, program: Program, cycle: int) -> datetime:
    """About a week after the prompt, or halfway through a shorter cycle."""
    start = cycle_start(pair, program, cycle)
    length = cycle_end(pair, program, cycle) - start
    return start + min(CHECKIN_AFTER_PROMPT, length / 2)


class Start(NamedTuple):
    """A start time, standing in for every pair that started then."""

    started_at: datetime


MAX_STARTS = 1_000  # past this many distinct start times, a tick just reads every pair


class Calendar:
    """One program's calendar at one moment, for a tick that asks it about many pairs:
    answers are memoised by start time (pairs approved together share one)."""

    def __init__(self, program: Program, now: datetime) -> None:
        self.program, self.now = program, now
        self._memo: dict[tuple[str, datetime, int], object] = {}

    def _cached(self, what: str, pair: Dated, cycle: int, compute: Callable[[], T]) -> T:
        key = (what, pair.started_at, cycle)
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]  # type: ignore[return-value]

    def current(self, pair: Dated) -> int:
        return self._cached("current", pair, 0, lambda: current_cycle(pair, self.program, self.now))

    def checkin_due(self, pair: Dated, cycle: int) -> datetime:
        return self._cached("checkin", pair, cycle, lambda: checkin_due(pair, self.program, cycle))

    def cycle_end(self, pair: Dated, cycle: int) -> datetime:
        return self._cached("end", pair, cycle, lambda: cycle_end(pair, self.program, cycle))

    def program_end(self, pair: Dated) -> datetime:
        return self._cached("program_end", pair, 0, lambda: program_end(pair, self.program))

    def midpoint_end(self, pair: Dated) -> datetime:
        """When the middle cycle ends (midpoint reviews are due)."""
        return self._cached(
            "midpoint",
            pair,
            0,
            lambda: cycle_end(pair, self.program, midpoint_cycle(pair, self.program)),
        )

    def starts_where(
        self, starts: list[datetime], due: Callable[[Calendar, Start], bool]
    ) -> list[datetime] | None:
        """The start times whose pairs may have something `due`; None (read them all) when
        there are too many to list in a query."""
        if len(starts) > MAX_STARTS:
            return None
        return [start for start in starts if due(self, Start(start))]
