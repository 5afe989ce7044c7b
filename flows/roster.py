"""The optional roster CSV: seniority, department and reporting lines for matching."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from bot.timing import is_known_zone
from flows.answers import whole_number
from flows.context import FlowContext
from storage.models import Person

COLUMNS = ("user_id", "email", "name", "job_level", "department", "manager", "timezone")


def person_ref(text: str) -> str:
    """A person as someone types them: `@ann`, a Slack mention `<@U123|ann>`, an id, an
    email or a name; lower case, to look up in `roster_lookup`."""
    text = text.strip().removeprefix("<").removesuffix(">").lstrip("@")
    return text.split("|", 1)[0].strip().lower()


async def roster_lookup(ctx: FlowContext, platform: str, tenant: str) -> dict[str, Person]:
    """The workspace's roster by every name a person goes by (user id, email, display
    name), lower case."""
    lookup: dict[str, Person] = {}
    for person in await ctx.repos.people.in_tenant(platform, tenant):
        for alias in (person.user_id, person.email, person.display_name):
            if alias:
                lookup[alias.lower()] = person
    return lookup


@dataclass
class RosterReport:
    imported: int = 0
    problems: list[str] = field(default_factory=list)


async def import_roster(ctx: FlowContext, text: str, *, platform: str, tenant: str) -> RosterReport:
    """Upsert one person per row. A row needs a user id or an email; `manager` is the
    manager's user id or email. Bad rows are reported by line number and skipped."""
    report = RosterReport()
    reader = csv.DictReader(io.StringIO(text))
    headers = {h.strip().lower() for h in reader.fieldnames or ()}
    if not headers & {"user_id", "email"}:
        report.problems.append("the header needs a user_id or an email column")
        return report
    for line, row in enumerate(reader, start=2):
        row = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
        user_id = row.get("user_id") or row.get("email", "")
        if not user_id:
            report.problems.append(f"line {line}: no user_id or email")
            continue
        level = row.get("job_level", "")
        if level and whole_number(level.removeprefix("-")) is None:
            report.problems.append(f"line {line}: job_level must be a whole number")
            continue
        timezone = row.get("timezone") or None
        if timezone and not is_known_zone(timezone):
            report.problems.append(f"line {line}: unknown time zone {timezone!r}")
            continue
        await ctx.repos.people.upsert(
            platform,
            tenant,
            user_id,
            email=row.get("email") or None,
            display_name=row.get("name", ""),
            job_level=int(level) if level else None,
            department=row.get("department") or None,
            manager_user_id=row.get("manager") or None,
            timezone=timezone,
        )
        report.imported += 1
    return report
