"""Calendar arithmetic: cadences and people's local working hours."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

CADENCES = ("weekly", "biweekly", "monthly")


def add_months(moment: datetime, months: int) -> datetime:
    """Same day next month, clamped to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def add_cycles(moment: datetime, cadence: str, cycles: int) -> datetime:
    if cadence == "monthly":
        return add_months(moment, cycles)
    if cadence == "biweekly":
        return moment + timedelta(weeks=2 * cycles)
    if cadence == "weekly":
        return moment + timedelta(weeks=cycles)
    raise ValueError(f"unknown cadence {cadence!r}; expected one of {', '.join(CADENCES)}")


def zone(name: str) -> ZoneInfo:
    """The zone, or UTC for a name the tz database doesn't know."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def is_known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def in_working_hours(moment: datetime, tz: str, start_hour: int, end_hour: int) -> bool:
    local = moment.astimezone(zone(tz))
    return local.weekday() < 5 and start_hour <= local.hour < end_hour


def next_working_time(
    after: datetime, timezones: list[str], start_hour: int = 9, end_hour: int = 17
) -> datetime:
    """The first moment at or after `after` inside everyone's weekday working window.

    When the windows never overlap within a week, fall back to the first person's window,
    so a message is never held forever. Works in local wall time, so DST shifts are honoured.
    """
    after = after.astimezone(UTC)
    if not timezones or all(in_working_hours(after, tz, start_hour, end_hour) for tz in timezones):
        return after
    candidate = _ceil_quarter(after)
    horizon = candidate + timedelta(days=8)
    while candidate < horizon:
        if all(in_working_hours(candidate, tz, start_hour, end_hour) for tz in timezones):
            return max(candidate, after)
        candidate += timedelta(minutes=15)
    return next_working_time(after, timezones[:1], start_hour, end_hour)


def _ceil_quarter(moment: datetime) -> datetime:
    floored = moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)
    return floored if floored == moment else floored + timedelta(minutes=15)
