"""Calendar arithmetic: month clamping, cadences, and people's local working hours."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.timing import add_cycles, add_months, next_working_time

START, END = 9, 17

ZONES = (
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Asia/Tokyo",
    "Asia/Kolkata",  # +05:30
    "Asia/Kathmandu",  # +05:45
    "Australia/Sydney",
    "Pacific/Chatham",  # +12:45 / +13:45
    "Pacific/Kiritimati",  # +14
    "Etc/GMT+12",  # -12
)


def working(moment: datetime, tz: str) -> bool:
    """The oracle: a weekday, START <= local hour < END, in that zone's wall time."""
    local = moment.astimezone(ZoneInfo(tz))
    return local.weekday() < 5 and START <= local.hour < END


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- add_months / add_cycles -------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "months", "expected"),
    [
        (utc(2027, 1, 31, 10), 1, utc(2027, 2, 28, 10)),
        (utc(2028, 1, 31, 10), 1, utc(2028, 2, 29, 10)),  # leap year
        (utc(2027, 10, 31), 4, utc(2028, 2, 29)),
        (utc(2027, 3, 31), -1, utc(2027, 2, 28)),
        (utc(2027, 5, 31), 1, utc(2027, 6, 30)),
        (utc(2027, 12, 15), 1, utc(2028, 1, 15)),
        (utc(2027, 1, 15), -1, utc(2026, 12, 15)),
        (utc(2027, 1, 15), 0, utc(2027, 1, 15)),
        (utc(2027, 1, 15), 24, utc(2029, 1, 15)),
    ],
)
def test_add_months_clamps_to_the_last_day_of_the_month(
    moment: datetime, months: int, expected: datetime
) -> None:
    assert add_months(moment, months) == expected


@given(
    moment=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 12, 31)),
    months=st.integers(min_value=-60, max_value=60),
)
def test_add_months_keeps_the_day_when_it_exists_and_otherwise_takes_the_last(
    moment: datetime, months: int
) -> None:
    moment = moment.replace(tzinfo=UTC)
    result = add_months(moment, months)
    assert (result.year * 12 + result.month) - (moment.year * 12 + moment.month) == months
    assert result.day == min(moment.day, calendar.monthrange(result.year, result.month)[1])
    assert (result.time(), result.tzinfo) == (moment.time(), moment.tzinfo)


def test_add_months_keeps_the_zone_of_an_aware_moment() -> None:
    london = ZoneInfo("Europe/London")
    moment = datetime(2027, 1, 31, 9, 0, tzinfo=london)
    assert add_months(moment, 1) == datetime(2027, 2, 28, 9, 0, tzinfo=london)


@pytest.mark.parametrize(
    ("cadence", "cycles", "expected"),
    [
        ("weekly", 1, utc(2027, 1, 11, 9)),
        ("weekly", 3, utc(2027, 1, 25, 9)),
        ("biweekly", 1, utc(2027, 1, 18, 9)),
        ("biweekly", 2, utc(2027, 2, 1, 9)),
        ("monthly", 1, utc(2027, 2, 4, 9)),
        ("monthly", 6, utc(2027, 7, 4, 9)),
        ("weekly", 0, utc(2027, 1, 4, 9)),
    ],
)
def test_add_cycles(cadence: str, cycles: int, expected: datetime) -> None:
    assert add_cycles(utc(2027, 1, 4, 9), cadence, cycles) == expected


def test_monthly_cycles_clamp_like_add_months() -> None:
    assert add_cycles(utc(2027, 1, 31), "monthly", 1) == utc(2027, 2, 28)


@pytest.mark.parametrize("cadence", ["daily", "Monthly", "", "fortnightly"])
def test_unknown_cadence_raises_and_names_it(cadence: str) -> None:
    with pytest.raises(ValueError, match="unknown cadence") as raised:
        add_cycles(utc(2027, 1, 4), cadence, 1)
    assert repr(cadence) in str(raised.value)


# --- next_working_time: single zone -------------------------------------------------------


def test_inside_working_hours_on_a_quarter_hour_is_kept() -> None:
    moment = utc(2027, 1, 4, 10, 30)  # Monday, London = UTC in winter
    assert next_working_time(moment, ["Europe/London"]) == moment


def test_before_working_hours_waits_for_nine_local() -> None:
    assert next_working_time(utc(2027, 1, 4, 6, 10), ["Europe/London"]) == utc(2027, 1, 4, 9)


def test_after_working_hours_waits_for_the_next_morning() -> None:
    assert next_working_time(utc(2027, 1, 5, 17, 0), ["UTC"]) == utc(2027, 1, 6, 9)


@pytest.mark.parametrize(
    "moment",
    [
        utc(2027, 1, 8, 17, 0),  # Friday evening
        utc(2027, 1, 9, 10, 0),  # Saturday morning
        utc(2027, 1, 10, 23, 59),  # Sunday night
    ],
)
def test_weekend_is_pushed_to_monday_nine_local(moment: datetime) -> None:
    result = next_working_time(moment, ["Europe/Berlin"])
    local = result.astimezone(ZoneInfo("Europe/Berlin"))
    assert (local.date().isoformat(), local.hour, local.minute) == ("2027-01-11", 9, 0)
    assert result == utc(2027, 1, 11, 8)  # CET is UTC+1


@pytest.mark.parametrize(
    ("tz", "after", "monday", "expected_utc"),
    [
        # Europe/London springs forward on Sunday 28 March 2027: Monday 09:00 BST = 08:00 UTC.
        ("Europe/London", utc(2027, 3, 27, 12), "2027-03-29", utc(2027, 3, 29, 8)),
        ("Europe/London", utc(2027, 3, 28, 0, 30), "2027-03-29", utc(2027, 3, 29, 8)),
        # ...and falls back on Sunday 31 October 2027: Monday 09:00 GMT = 09:00 UTC.
        ("Europe/London", utc(2027, 10, 30, 12), "2027-11-01", utc(2027, 11, 1, 9)),
        # America/New_York springs forward on Sunday 14 March 2027: 09:00 EDT = 13:00 UTC.
        ("America/New_York", utc(2027, 3, 13, 12), "2027-03-15", utc(2027, 3, 15, 13)),
        ("America/New_York", utc(2027, 3, 14, 6, 59), "2027-03-15", utc(2027, 3, 15, 13)),
        # ...the week before, still EST: 09:00 EST = 14:00 UTC.
        ("America/New_York", utc(2027, 3, 6, 12), "2027-03-08", utc(2027, 3, 8, 14)),
    ],
)
def test_across_a_dst_change_the_result_is_nine_local_wall_time(
    tz: str, after: datetime, monday: str, expected_utc: datetime
) -> None:
    result = next_working_time(after, [tz])
    local = result.astimezone(ZoneInfo(tz))
    assert (local.date().isoformat(), local.hour, local.minute) == (monday, 9, 0)
    assert result == expected_utc


@pytest.mark.parametrize(
    ("tz", "after", "expected"),
    [
        # Monday 09:00 UTC is Monday 23:00 in Kiritimati (UTC+14): Tuesday 09:00 local.
        ("Pacific/Kiritimati", utc(2027, 1, 4, 9), utc(2027, 1, 4, 19)),
        # Thursday 20:00 UTC is already Friday 10:00 in Kiritimati: inside.
        ("Pacific/Kiritimati", utc(2027, 1, 7, 20), utc(2027, 1, 7, 20)),
        # Friday 04:00 UTC is Friday 18:00 local: the next window is Monday 09:00 local.
        ("Pacific/Kiritimati", utc(2027, 1, 8, 4), utc(2027, 1, 10, 19)),
        # Monday 09:00 UTC is Sunday 21:00 in Etc/GMT+12 (UTC-12): Monday 09:00 local.
        ("Etc/GMT+12", utc(2027, 1, 4, 9), utc(2027, 1, 4, 21)),
        # Saturday 04:00 UTC is still Friday 16:00 in Etc/GMT+12: inside.
        ("Etc/GMT+12", utc(2027, 1, 9, 4), utc(2027, 1, 9, 4)),
    ],
)
def test_extreme_zones_land_inside_their_windows(
    tz: str, after: datetime, expected: datetime
) -> None:
    result = next_working_time(after, [tz])
    assert working(result, tz)
    assert result == expected


# --- next_working_time: several zones -------------------------------------------------------


def test_two_zones_that_overlap_land_inside_both() -> None:
    # London 09-17 UTC and New York 14-22 UTC in January overlap 14:00-17:00 UTC.
    zones = ["Europe/London", "America/New_York"]
    result = next_working_time(utc(2027, 1, 4, 9), zones)
    assert result == utc(2027, 1, 4, 14)
    assert all(working(result, tz) for tz in zones)


def test_two_zones_that_overlap_pick_the_overlap_whatever_the_order() -> None:
    after = utc(2027, 1, 4, 9)
    assert next_working_time(after, ["Asia/Kolkata", "Europe/Berlin"]) == next_working_time(
        after, ["Europe/Berlin", "Asia/Kolkata"]
    )


def test_two_zones_that_never_overlap_fall_back_to_the_first_persons_window() -> None:
    # In July, Tokyo's 09-17 JST is 00-08 UTC and Los Angeles' 09-17 PDT is 16-24 UTC.
    after = utc(2027, 7, 5, 12)  # Monday
    tokyo_first = next_working_time(after, ["Asia/Tokyo", "America/Los_Angeles"])
    assert working(tokyo_first, "Asia/Tokyo")
    assert not working(tokyo_first, "America/Los_Angeles")
    assert tokyo_first == next_working_time(after, ["Asia/Tokyo"])

    los_angeles_first = next_working_time(after, ["America/Los_Angeles", "Asia/Tokyo"])
    assert working(los_angeles_first, "America/Los_Angeles")
    assert los_angeles_first == next_working_time(after, ["America/Los_Angeles"])


def test_no_zones_means_no_wait() -> None:
    moment = utc(2027, 1, 9, 3, 7)  # Saturday night
    assert next_working_time(moment, []) == moment


def test_custom_hours_are_honoured() -> None:
    result = next_working_time(utc(2027, 1, 4, 6), ["UTC"], start_hour=7, end_hour=15)
    assert result == utc(2027, 1, 4, 7)


# --- next_working_time: properties ------------------------------------------------------------

MOMENTS = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2030, 12, 31, 23, 59), timezones=st.just(UTC)
)


@given(after=MOMENTS, tz=st.sampled_from(ZONES))
def test_result_is_soon_not_earlier_and_inside_working_hours(after: datetime, tz: str) -> None:
    result = next_working_time(after, [tz])
    assert after <= result < after + timedelta(days=8)
    assert working(result, tz)


@given(after=MOMENTS, tz=st.sampled_from(ZONES))
@example(after=utc(2027, 1, 4, 16, 50), tz="UTC")
def test_a_moment_already_inside_working_hours_is_kept(after: datetime, tz: str) -> None:
    if working(after, tz):
        assert next_working_time(after, [tz]) == after
