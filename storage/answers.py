"""What a participant answered in a check-in or a review, as flows read it.

At rest the answers of a row are one sealed JSON document (`answers_enc`, bound to the
row and column like every other sealed value): a database reader sees who answered and
when, never what. The repositories open them into these frozen objects, in memory only,
with the attribute names and types the rows used to have (`.met`, `.rating`, …).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from storage.crypto import Cipher


@dataclass(frozen=True)
class CheckInAnswers:
    met: bool
    rating: int  # 1..5
    themes: list[str] = field(default_factory=list)
    energy: int | None = None  # 1..5, mentors only
    lead: str | None = None  # junior | shared | senior

    def document(self) -> dict[str, Any]:
        return {
            "met": self.met,
            "rating": self.rating,
            "themes": sorted(self.themes),
            "energy": self.energy,
            "lead": self.lead,
        }

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> CheckInAnswers:
        return cls(
            met=bool(doc["met"]),
            rating=int(doc["rating"]),
            themes=[str(t) for t in doc.get("themes") or []],
            energy=None if doc.get("energy") is None else int(doc["energy"]),
            lead=doc.get("lead"),
        )


@dataclass(frozen=True)
class ReviewAnswers:
    confidence_before: int  # 1..5
    confidence_now: int  # 1..5
    again: bool

    def document(self) -> dict[str, Any]:
        return {
            "confidence_before": self.confidence_before,
            "confidence_now": self.confidence_now,
            "again": self.again,
        }

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> ReviewAnswers:
        return cls(
            confidence_before=int(doc["confidence_before"]),
            confidence_now=int(doc["confidence_now"]),
            again=bool(doc["again"]),
        )


def seal_checkin(cipher: Cipher, answers: CheckInAnswers, context: str) -> str:
    return cipher.encrypt_json(answers.document(), context)


def open_checkin(cipher: Cipher, token: str, context: str) -> CheckInAnswers:
    return CheckInAnswers.from_document(cipher.decrypt_json(token, context))


def seal_review(cipher: Cipher, answers: ReviewAnswers, context: str) -> str:
    return cipher.encrypt_json(answers.document(), context)


def open_review(cipher: Cipher, token: str, context: str) -> ReviewAnswers:
    return ReviewAnswers.from_document(cipher.decrypt_json(token, context))


@dataclass(frozen=True)
class CheckInView:
    """A stored check-in with its answers opened. `note_enc` stays sealed: only the
    author's own view (`my-data`) opens it."""

    id: int
    pair_id: int
    participant_id: int
    cycle: int
    submitted_at: datetime
    note_enc: str | None
    met: bool
    rating: int
    themes: list[str]
    energy: int | None
    lead: str | None

    @property
    def note_context(self) -> str:
        return f"checkin.note:{self.pair_id}:{self.participant_id}:{self.cycle}"


@dataclass(frozen=True)
class ReviewView:
    """A stored review with its scores opened; `changed_enc` (free text) stays sealed."""

    id: int
    pair_id: int
    participant_id: int
    stage: str
    submitted_at: datetime
    changed_enc: str | None
    confidence_before: int
    confidence_now: int
    again: bool

    @property
    def changed_context(self) -> str:
        return f"review.changed:{self.pair_id}:{self.participant_id}:{self.stage}"
