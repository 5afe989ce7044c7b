"""The tables. Confidential free text and every answer a participant gives are stored only
as ciphertext (`*_enc` columns)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, Text, UniqueConstraint, text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every database (SQLite hands back naive ones otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ts(**kw: Any) -> Any:
    return Field(sa_column=Column(UTCDateTime(), **kw))


def _json(**kw: Any) -> Any:
    return Field(default_factory=list, sa_column=Column(JSON, nullable=False, **kw))


class Program(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(unique=True, max_length=80)
    name: str = Field(max_length=200)
    focus: str = Field(max_length=40)
    topics: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    cadence: str = Field(default="monthly", max_length=20)
    duration_months: int = 6
    pilot: bool = False
    mentor_capacity: int = 1
    anonymity_threshold: int = 5
    support: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    # Pairs are introduced only once both partners have read their role preparation.
    preparation: bool = True
    active: bool = True
    created_at: datetime = _ts(nullable=False, default=utcnow)


class Person(SQLModel, table=True):
    """Roster facts about an employee, independent of any program."""

    __table_args__ = (UniqueConstraint("platform", "tenant", "user_id"),)
    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=20)
    tenant: str = Field(max_length=100)
    user_id: str = Field(max_length=200)  # Teams ids ("29:…") run to about 100 characters
    email: str | None = Field(default=None, max_length=254, index=True)
    display_name: str = Field(default="", max_length=200)
    job_level: int | None = None
    department: str | None = Field(default=None, max_length=120)
    manager_user_id: str | None = Field(default=None, max_length=254)
    timezone: str | None = Field(default=None, max_length=64)


class Participant(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("program_id", "platform", "tenant", "user_id"),)
    id: int | None = Field(default=None, primary_key=True)
    program_id: int = Field(foreign_key="program.id", index=True)
    platform: str = Field(max_length=20)
    tenant: str = Field(max_length=100)
    user_id: str = Field(max_length=200)
    display_name: str = Field(default="", max_length=200)
    role: str = Field(max_length=10)  # mentor | mentee | two_way
    offers: list[str] = _json()
    wants: list[str] = _json()
    off_limits: list[str] = _json()
    exclusions_enc: str | None = Field(default=None, sa_column=Column(Text))
    timezone: str = Field(default="UTC", max_length=64)

    @property
    def exclusions_context(self) -> str:
        return (
            f"participant.exclusions:{self.program_id}:{self.platform}:{self.tenant}:{self.user_id}"
        )

    status: str = Field(default="active", max_length=10)  # active | paused | left
    paused_until: date | None = None
    priority: bool = False  # unmatched last round or re-match requested: goes first next time
    agreed_at: datetime = _ts(nullable=False)
    joined_at: datetime = _ts(nullable=False)
    left_at: datetime | None = _ts(nullable=True)


class MatchRound(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    program_id: int = Field(foreign_key="program.id", index=True)
    seed: int
    status: str = Field(default="proposed", max_length=12)  # proposed | approved | discarded
    unmatched: list[int] = _json()
    created_at: datetime = _ts(nullable=False)
    decided_at: datetime | None = _ts(nullable=True)


class ProposedPair(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="matchround.id", index=True)
    position: int
    mentor_id: int = Field(foreign_key="participant.id")
    mentee_id: int = Field(foreign_key="participant.id")
    score: float
    two_way: bool = False
    explanation: str = Field(sa_column=Column(Text, nullable=False))
    shared_topics: list[str] = _json()
    dropped: bool = False


class Pair(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    program_id: int = Field(foreign_key="program.id", index=True)
    mentor_id: int = Field(foreign_key="participant.id", index=True)
    mentee_id: int = Field(foreign_key="participant.id", index=True)
    two_way: bool = False
    explanation: str = Field(sa_column=Column(Text, nullable=False))
    shared_topics: list[str] = _json()
    # waiting (approved, not introduced until both are prepared) | active | ended | completed
    status: str = Field(default="active", max_length=12)
    started_at: datetime = _ts(nullable=False)
    ended_at: datetime | None = _ts(nullable=True)
    # Neutral on purpose: never records which partner ended it or why.
    end_kind: str | None = Field(default=None, max_length=20)


class CardRead(SQLModel, table=True):
    """A preparation card a participant marked "got it" (see flows/data/preparation.yaml)."""

    __table_args__ = (UniqueConstraint("participant_id", "card_id"),)
    id: int | None = Field(default=None, primary_key=True)
    participant_id: int = Field(foreign_key="participant.id", index=True)
    card_id: str = Field(max_length=80)
    read_at: datetime = _ts(nullable=False)


class PairPrompt(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("pair_id", "cycle"),
        UniqueConstraint("pair_id", "prompt_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    # No index of its own: both unique constraints begin with pair_id (migration 0011). No
    # foreign keys either: a tick records a prompt per pair in bulk, PostgreSQL would check
    # each key with a trigger per row, and pairs and participants are never deleted
    # (migration 0012).
    pair_id: int  # a Pair's id
    cycle: int
    prompt_id: str = Field(max_length=80)
    lead_id: int  # the Participant who leads the conversation


def checkin_answers_context(pair_id: int, participant_id: int, cycle: int) -> str:
    """What a check-in's sealed answers are bound to (its row and column)."""
    return f"checkin.answers:{pair_id}:{participant_id}:{cycle}"


def review_answers_context(pair_id: int, participant_id: int, stage: str) -> str:
    return f"review.answers:{pair_id}:{participant_id}:{stage}"


class CheckIn(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("pair_id", "participant_id", "cycle"),)
    id: int | None = Field(default=None, primary_key=True)
    pair_id: int = Field(foreign_key="pair.id", index=True)
    participant_id: int = Field(foreign_key="participant.id", index=True)
    cycle: int
    # met, rating, themes, energy and who led (storage/answers.py), one sealed document.
    answers_enc: str = Field(sa_column=Column(Text, nullable=False))
    note_enc: str | None = Field(default=None, sa_column=Column(Text))
    submitted_at: datetime = _ts(nullable=False)

    @property
    def answers_context(self) -> str:
        return checkin_answers_context(self.pair_id, self.participant_id, self.cycle)

    @property
    def note_context(self) -> str:
        return f"checkin.note:{self.pair_id}:{self.participant_id}:{self.cycle}"


class Goal(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    pair_id: int = Field(foreign_key="pair.id", index=True)
    owner_id: int = Field(foreign_key="participant.id", index=True)
    created_by_id: int = Field(foreign_key="participant.id")
    kind: str = Field(default="goal", max_length=12)  # goal | commitment
    text: str = Field(sa_column=Column(Text, nullable=False))
    due_on: date | None = None
    done_at: datetime | None = _ts(nullable=True)
    created_at: datetime = _ts(nullable=False)


class Review(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("pair_id", "participant_id", "stage"),)
    id: int | None = Field(default=None, primary_key=True)
    pair_id: int = Field(foreign_key="pair.id", index=True)
    participant_id: int = Field(foreign_key="participant.id", index=True)
    stage: str = Field(max_length=10)  # midpoint | final
    changed_enc: str | None = Field(default=None, sa_column=Column(Text))
    # confidence before and now, would do it again (storage/answers.py), one sealed document.
    answers_enc: str = Field(sa_column=Column(Text, nullable=False))
    submitted_at: datetime = _ts(nullable=False)

    @property
    def answers_context(self) -> str:
        return review_answers_context(self.pair_id, self.participant_id, self.stage)

    @property
    def changed_context(self) -> str:
        return f"review.changed:{self.pair_id}:{self.participant_id}:{self.stage}"


class Digest(SQLModel, table=True):
    """A frozen snapshot of what was published, so an old digest is never recomputed."""

    __table_args__ = (UniqueConstraint("program_id", "period"),)
    id: int | None = Field(default=None, primary_key=True)
    program_id: int = Field(foreign_key="program.id", index=True)
    period: str = Field(max_length=40)
    figures: list[dict[str, Any]] = _json()
    # The ledger: ids of the answers this period counted ({"checkins": [...], "reviews":
    # [...], "goals": [...]}), so that no answer is counted in a second published period.
    covered: dict[str, list[int]] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}")
    )
    created_at: datetime = _ts(nullable=False)


# The items a dispatcher may claim, in the order it claims them: a partial index, so that
# finding the oldest few due items stays as cheap with 200,000 sent rows as with none.
OUTBOX_WAITING = text("status IN ('pending', 'ambiguous')")


class OutboxItem(SQLModel, table=True):
    __table_args__ = (
        Index("ix_outbox_due", "status", "not_before"),
        Index(
            "ix_outbox_claimable",
            "not_before",
            "id",
            postgresql_where=OUTBOX_WAITING,
            sqlite_where=OUTBOX_WAITING,
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=200)
    platform: str = Field(max_length=20)
    address: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    message: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    recipient: str | None = Field(default=None, max_length=240, index=True)
    pair_id: int | None = Field(default=None, index=True)  # cancelled together if the pair ends
    # pending | sending (claimed by a dispatcher until `claimed_until`) | ambiguous (its
    # dispatcher died mid-send) | sent | failed (permanent, reason in last_error) | cancelled
    # | expired (its `expires_at` passed before it could go)
    status: str = Field(default="pending", max_length=10)
    attempts: int = 0
    not_before: datetime = _ts(nullable=False)
    # When the message stops making sense (an invitation's close, a cycle's end): still
    # pending then, it is never sent (status `expired`) rather than delivered late.
    expires_at: datetime | None = _ts(nullable=True)
    claimed_until: datetime | None = _ts(nullable=True)
    last_error: str | None = Field(default=None, max_length=300)
    platform_id: str | None = Field(default=None, max_length=120)
    created_at: datetime = _ts(nullable=False)
    sent_at: datetime | None = _ts(nullable=True)


class AuditEntry(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts(nullable=False)
    actor: str = Field(max_length=240)
    action: str = Field(max_length=80)
    target: str = Field(default="", max_length=200)
    outcome: str = Field(max_length=20)  # ok | refused | invalid | error


class AcceptedForm(SQLModel, table=True):
    """A form the platform was told is accepted (acked) and that is not stored yet: kept
    so that a process dying before it stores the form doesn't lose it (`bot.engine`).
    The answers are sealed at rest: they may name people the author won't be matched with."""

    key: str = Field(primary_key=True, max_length=240)  # platform:event id
    answers_enc: str = Field(sa_column=Column(Text, nullable=False))
    accepted_at: datetime = _ts(nullable=False, index=True)


class Sender(SQLModel, table=True):
    """A dispatcher that is sending now, seen at `seen_at`: the replicas sending at once
    split each platform's overall rate between them (see `bot.outbox`)."""

    id: str = Field(primary_key=True, max_length=64)  # random, per process
    platforms: str = Field(max_length=200)  # comma-separated, e.g. "slack,teams"
    seen_at: datetime = _ts(nullable=False, index=True)


class ProcessedEvent(SQLModel, table=True):
    """Inbound event ids already handled (platform retries and double clicks)."""

    key: str = Field(primary_key=True, max_length=240)
    at: datetime = _ts(nullable=False)


class ContactAddress(SQLModel, table=True):
    """How to reach a person (or a channel) proactively on platforms that need a stored
    reference, e.g. a Teams conversation reference. `user_id` is the person's id, or the
    channel's conversation id. A person whose platform said the bot can no longer reach
    them (app uninstalled, conversation gone) is marked unreachable until they are back."""

    __table_args__ = (UniqueConstraint("platform", "tenant", "user_id"),)
    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=20)
    tenant: str = Field(max_length=100)
    user_id: str = Field(max_length=200)
    address: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    updated_at: datetime = _ts(nullable=False)
    unreachable_since: datetime | None = _ts(nullable=True)
    unreachable_reason: str | None = Field(default=None, max_length=300)


class Concern(SQLModel, table=True):
    """A concern a participant raised with the program lead. The text is encrypted; who
    raised it is kept only if they chose to be named (`author_id` is None otherwise)."""

    id: int | None = Field(default=None, primary_key=True)
    program_id: int = Field(foreign_key="program.id", index=True)
    author_id: int | None = Field(default=None, foreign_key="participant.id")
    text_enc: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = _ts(nullable=False)
    seen_at: datetime | None = _ts(nullable=True)

    @property
    def text_context(self) -> str:
        return f"concern.text:{self.id}"


class AdminChannel(SQLModel, table=True):
    """A channel an admin chose for digests (`admin channel here`, said in it)."""

    __table_args__ = (UniqueConstraint("platform", "tenant", "channel_id"),)
    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=20)
    tenant: str = Field(max_length=100)
    channel_id: str = Field(max_length=200)
    added_by: str = Field(max_length=240)
    added_at: datetime = _ts(nullable=False)


class ReadinessPulse(SQLModel, table=True):
    """An anonymous readiness pulse sent to a pilot group before enrolment opens."""

    id: int | None = Field(default=None, primary_key=True)
    program_id: int | None = Field(default=None, foreign_key="program.id")
    platform: str = Field(max_length=20)
    tenant: str = Field(max_length=100)
    created_by: str = Field(max_length=240)
    created_at: datetime = _ts(nullable=False)
    closes_at: datetime = _ts(nullable=False)
    k: int = 5
    published_at: datetime | None = _ts(nullable=True)
    # Frozen at the close: {"asked", "answered", "tallies"}; shown ever after, never recomputed.
    results: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class ReadinessInvite(SQLModel, table=True):
    """Who was asked and whether they answered: never what they answered."""

    __table_args__ = (UniqueConstraint("pulse_id", "platform", "tenant", "user_id"),)
    id: int | None = Field(default=None, primary_key=True)
    pulse_id: int = Field(foreign_key="readinesspulse.id", index=True)
    platform: str = Field(max_length=20)
    tenant: str = Field(max_length=100)
    user_id: str = Field(max_length=200)
    answered: bool = False


class ReadinessTally(SQLModel, table=True):
    """How many people gave each answer, {question: {answer: count}}, one sealed document
    per pulse: the only record of what was answered. Sealed, the document that changes when
    an invite is marked answered says nothing about which answers it counted."""

    pulse_id: int = Field(foreign_key="readinesspulse.id", primary_key=True)
    counts_enc: str = Field(sa_column=Column(Text, nullable=False))

    @property
    def counts_context(self) -> str:
        return tally_context(self.pulse_id)


def tally_context(pulse_id: int) -> str:
    return f"readiness.tally:{pulse_id}"


class ThankYou(SQLModel, table=True):
    """A thank-you written at the end of a pairing, to the partner who mentored. Sealed like
    other free text; the recipient alone decides whether it is shared further."""

    __table_args__ = (UniqueConstraint("pair_id", "author_id"),)
    id: int | None = Field(default=None, primary_key=True)
    pair_id: int = Field(foreign_key="pair.id", index=True)
    author_id: int = Field(foreign_key="participant.id")
    recipient_id: int = Field(foreign_key="participant.id", index=True)
    text_enc: str = Field(sa_column=Column(Text, nullable=False))
    written_at: datetime = _ts(nullable=False)
    shared_at: datetime | None = _ts(nullable=True)

    @property
    def text_context(self) -> str:
        return f"thanks.text:{self.id}"


class CircleRound(SQLModel, table=True):
    """A month's mentor circles for a program: invited once, formed once (across replicas,
    the unique constraint and conditional updates decide)."""

    __table_args__ = (UniqueConstraint("program_id", "period"),)
    id: int | None = Field(default=None, primary_key=True)
    program_id: int = Field(foreign_key="program.id")
    period: str = Field(max_length=7)  # YYYY-MM
    invited_at: datetime = _ts(nullable=False)
    formed_at: datetime | None = _ts(nullable=True)


class CircleMember(SQLModel, table=True):
    """A junior mentor who opted into a month's peer circle; `circle` is the group they were
    put in when the circles formed (0: nobody else joined that month)."""

    __table_args__ = (UniqueConstraint("program_id", "period", "participant_id"),)
    id: int | None = Field(default=None, primary_key=True)
    program_id: int = Field(foreign_key="program.id", index=True)
    period: str = Field(max_length=7)  # YYYY-MM
    participant_id: int = Field(foreign_key="participant.id", index=True)
    joined_at: datetime = _ts(nullable=False)
    circle: int | None = None


class PairAgreement(SQLModel, table=True):
    """What a pair agreed at their first meeting (focus, off-limits, feedback, how often
    to meet), sealed: it belongs to the two of them and no admin view reads it."""

    id: int | None = Field(default=None, primary_key=True)
    pair_id: int = Field(foreign_key="pair.id", unique=True)
    answers_enc: str = Field(sa_column=Column(Text, nullable=False))
    updated_by: int = Field(foreign_key="participant.id")
    updated_at: datetime = _ts(nullable=False)

    @property
    def answers_context(self) -> str:
        return f"pair.agreement:{self.pair_id}"
