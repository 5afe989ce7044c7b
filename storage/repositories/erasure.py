"""Erasure of one person's own records (the right to be forgotten)."""

from __future__ import annotations

from sqlmodel import col, delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    CardRead,
    CheckIn,
    CircleMember,
    Concern,
    ContactAddress,
    Goal,
    Pair,
    PairAgreement,
    Participant,
    Person,
    Review,
    ThankYou,
)


class Erasure:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def participant(self, participant: Participant, tombstone: str) -> None:
        """What they answered goes; the row stays as a tombstone so the pairs it took part
        in (and the digests already published over them) still add up."""
        pid = participant.id
        await self._s.exec(delete(CheckIn).where(col(CheckIn.participant_id) == pid))
        await self._s.exec(delete(Review).where(col(Review.participant_id) == pid))
        await self._s.exec(delete(Goal).where(col(Goal.owner_id) == pid))
        await self._s.exec(delete(Concern).where(col(Concern.author_id) == pid))
        await self._s.exec(delete(CardRead).where(col(CardRead.participant_id) == pid))
        await self._s.exec(delete(CircleMember).where(col(CircleMember.participant_id) == pid))
        mine = (col(ThankYou.author_id) == pid) | (col(ThankYou.recipient_id) == pid)
        await self._s.exec(delete(ThankYou).where(mine))
        theirs = select(Pair.id).where((col(Pair.mentor_id) == pid) | (col(Pair.mentee_id) == pid))
        await self._s.exec(delete(PairAgreement).where(col(PairAgreement.pair_id).in_(theirs)))
        participant.user_id, participant.display_name = tombstone, ""
        participant.offers, participant.wants, participant.off_limits = [], [], []
        participant.exclusions_enc, participant.timezone = None, "UTC"
        participant.status, participant.priority = "left", False
        self._s.add(participant)
        await self._s.flush()

    async def person(self, platform: str, tenant: str, user_id: str) -> None:
        """Their roster row, their contact address, and any reporting line naming them."""
        query = select(Person).where(
            Person.platform == platform, Person.tenant == tenant, Person.user_id == user_id
        )
        person = (await self._s.exec(query)).first()
        names = {user_id} | ({person.email} if person is not None and person.email else set())
        await self._s.exec(
            update(Person)
            .where(
                col(Person.platform) == platform,
                col(Person.tenant) == tenant,
                col(Person.manager_user_id).in_(names),
            )
            .values(manager_user_id=None)
        )
        await self._s.exec(
            delete(Person).where(
                col(Person.platform) == platform,
                col(Person.tenant) == tenant,
                col(Person.user_id) == user_id,
            )
        )
        await self._s.exec(
            delete(ContactAddress).where(
                col(ContactAddress.platform) == platform,
                col(ContactAddress.tenant) == tenant,
                col(ContactAddress.user_id) == user_id,
            )
        )
        await self._s.flush()
