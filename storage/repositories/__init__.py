"""Repositories: one per question area, all sharing the caller's session (one transaction)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.crypto import Cipher
from storage.repositories.accepted import AcceptedForms
from storage.repositories.activity import CheckIns, Goals, PairPrompts, Reviews
from storage.repositories.agreements import Agreements
from storage.repositories.audit import Audit
from storage.repositories.circles import Circles
from storage.repositories.concerns import Concerns
from storage.repositories.contacts import AdminChannels, Contacts
from storage.repositories.digests import Digests
from storage.repositories.erasure import Erasure
from storage.repositories.events import ProcessedEvents
from storage.repositories.outbox import Outbox
from storage.repositories.pairs import Pairs
from storage.repositories.participants import Participants
from storage.repositories.people import People
from storage.repositories.preparation import CardReads
from storage.repositories.programs import Programs
from storage.repositories.readiness import Readiness
from storage.repositories.senders import Senders
from storage.repositories.thanks import Thanks


@dataclass
class Repositories:
    session: AsyncSession
    cipher: Cipher

    def __post_init__(self) -> None:
        s = self.session
        self.programs = Programs(s)
        self.people = People(s)
        self.participants = Participants(s)
        self.pairs = Pairs(s)
        self.checkins = CheckIns(s, self.cipher)
        self.goals = Goals(s)
        self.reviews = Reviews(s, self.cipher)
        self.pair_prompts = PairPrompts(s)
        self.outbox = Outbox(s)
        self.audit = Audit(s)
        self.digests = Digests(s)
        self.events = ProcessedEvents(s)
        self.contacts = Contacts(s)
        self.admin_channels = AdminChannels(s)
        self.erasure = Erasure(s)
        self.concerns = Concerns(s, self.cipher)
        self.card_reads = CardReads(s)
        self.readiness = Readiness(s, self.cipher)
        self.thanks = Thanks(s, self.cipher)
        self.circles = Circles(s)
        self.agreements = Agreements(s, self.cipher)
        self.senders = Senders(s)
        self.accepted_forms = AcceptedForms(s, self.cipher)

    @property
    def writes_in_background(self) -> bool:
        """Whether a bulk write should run while the tick builds its next chunk: a database
        server does the work in its own process. SQLite's would run in this process and
        contend with the build for the interpreter."""
        bind = self.session.bind
        return bind is not None and bind.dialect.name == "postgresql"

    async def flush(self) -> None:
        await self.session.flush()


__all__ = ["Repositories"]
