"""Encryption at rest: bound to its row, tamper-evident, rotatable while readable."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from hypothesis import given
from hypothesis import strategies as st

from storage.crypto import Cipher, DecryptionError
from storage.db import Database
from storage.models import CheckIn
from storage.rotation import SECRETS, rotate_all

SECRET = "my manager never listens"


def keys(n: int) -> list[str]:
    return [Fernet.generate_key().decode() for _ in range(n)]


TEXT = st.characters(blacklist_categories=("Cs",))  # what arrives from a platform is UTF-8


@given(
    st.text(alphabet=TEXT),
    st.text(
        min_size=1, alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n")
    ),
)
def test_round_trip(text: str, context: str) -> None:
    cipher = Cipher(keys(1))
    assert cipher.decrypt(cipher.encrypt(text, context), context) == text


def test_a_ciphertext_copied_to_another_row_or_column_fails() -> None:
    cipher = Cipher(keys(1))
    token = cipher.encrypt(SECRET, "checkin.note:1:2:1")
    for elsewhere in ("checkin.note:1:3:1", "checkin.note:1:2:2", "review.changed:1:2:final"):
        with pytest.raises(DecryptionError) as caught:
            cipher.decrypt(token, elsewhere)
        assert SECRET not in str(caught.value)


def test_a_tampered_ciphertext_fails_cleanly_without_the_text() -> None:
    cipher = Cipher(keys(1))
    raw = bytearray(base64.urlsafe_b64decode(cipher.encrypt(SECRET, "row:1")))
    raw[40] ^= 1
    with pytest.raises(DecryptionError) as caught:
        cipher.decrypt(base64.urlsafe_b64encode(bytes(raw)).decode(), "row:1")
    assert SECRET not in str(caught.value) and caught.value.__cause__ is None
    with pytest.raises(DecryptionError):
        cipher.decrypt("not a token at all", "row:1")


def test_rotation_keeps_every_row_readable_before_during_and_after() -> None:
    old, new = keys(2)
    token = Cipher([old]).encrypt(SECRET, "row:1")
    during = Cipher([new, old])
    assert during.decrypt(token, "row:1") == SECRET
    rotated = during.rotate(token)
    assert Cipher([new]).decrypt(rotated, "row:1") == SECRET
    with pytest.raises(DecryptionError):
        Cipher([old]).decrypt(rotated, "row:1")


async def test_rotate_all_reencrypts_every_row_in_batches(tmp_path: Path) -> None:
    old, new = keys(2)
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'r.db'}")
    await db.create_all()
    from datetime import UTC, datetime

    from storage.models import Pair, Participant, Program

    async with db.session() as s:
        program = Program(slug="p", name="P", focus="technology")
        s.add(program)
        await s.flush()
        people = [
            Participant(
                program_id=program.id,
                platform="console",
                tenant="t",
                user_id=u,
                role="mentor",
                joined_at=datetime.now(UTC),
                agreed_at=datetime.now(UTC),
            )  # type: ignore[arg-type]
            for u in ("a", "b")
        ]
        s.add_all(people)
        await s.flush()
        pair = Pair(
            program_id=program.id,
            mentor_id=people[0].id,
            mentee_id=people[1].id,
            explanation="",
            started_at=datetime.now(UTC),
        )  # type: ignore[arg-type]
        s.add(pair)
        await s.flush()
        for cycle in range(1, 451):  # more than one batch
            checkin = CheckIn(
                pair_id=pair.id,
                participant_id=people[0].id,
                cycle=cycle,
                answers_enc="",
                submitted_at=datetime.now(UTC),
            )  # type: ignore[arg-type]
            checkin.note_enc = Cipher([old]).encrypt(f"{SECRET} {cycle}", checkin.note_context)
            checkin.answers_enc = Cipher([old]).encrypt_json({"met": True}, checkin.answers_context)
            s.add(checkin)
        await s.commit()
    report = await rotate_all(db, Cipher([new, old]), batch=200)
    assert (report.rotated, report.unreadable) == (900, 0)  # each row's note and answers
    async with db.session() as s:
        from sqlmodel import select

        stored = (await s.exec(select(CheckIn))).all()
    only_new = Cipher([new])
    assert all(only_new.decrypt(c.note_enc, c.note_context).startswith(SECRET) for c in stored)  # type: ignore[arg-type]
    assert all(only_new.decrypt_json(c.answers_enc, c.answers_context) for c in stored)
    await db.dispose()


def test_rotation_covers_every_sealed_column() -> None:
    from sqlmodel import SQLModel

    sealed = {
        (table.name, column.name)
        for table in SQLModel.metadata.tables.values()
        for column in table.columns
        if column.name.endswith("_enc")
    }
    rotated = {(model.__tablename__, name) for model, name in SECRETS}
    assert sealed == rotated


async def test_rotate_all_reseals_rows_keyed_by_text_and_by_number(tmp_path: Path) -> None:
    """A kept form (its key is text) and a concern (an id): both readable with the new key
    alone once rotated."""
    from datetime import UTC, datetime

    from sqlmodel import select

    from storage.models import AcceptedForm, Concern, Program
    from storage.repositories.accepted import AcceptedForms

    old, new = keys(2)
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'r.db'}")
    await db.create_all()
    try:
        async with db.session() as s:
            program = Program(slug="p", name="P", focus="technology")
            s.add(program)
            await s.flush()
            for key in ("slack:view:V2", "slack:view:V1", "teams:view:V3"):
                await AcceptedForms(s, Cipher([old])).add(
                    key, f'{{"{SECRET}": 1}}', datetime.now(UTC)
                )
            concern = Concern(program_id=program.id, text_enc="", created_at=datetime.now(UTC))  # type: ignore[arg-type]
            s.add(concern)
            await s.flush()  # its context names its id
            concern.text_enc = Cipher([old]).encrypt(SECRET, concern.text_context)
            await s.commit()

        report = await rotate_all(db, Cipher([new, old]), batch=2)

        assert (report.rotated, report.unreadable) == (4, 0)
        only_new = Cipher([new])
        async with db.session() as s:
            kept = await AcceptedForms(s, only_new).waiting_since(datetime.now(UTC), 10)
            [stored] = (await s.exec(select(Concern))).all()
            assert len((await s.exec(select(AcceptedForm))).all()) == 3
        assert sorted(key for key, _ in kept) == ["slack:view:V1", "slack:view:V2", "teams:view:V3"]
        assert only_new.decrypt(stored.text_enc, stored.text_context) == SECRET
    finally:
        await db.dispose()


def test_a_sealed_document_is_as_long_whatever_was_answered() -> None:
    """The length of a check-in's sealed answers says nothing about how many themes were
    chosen, nor whether the optional answers were given."""
    from flows.checkins import LEADS, THEMES
    from storage.answers import CheckInAnswers, open_checkin, seal_checkin

    cipher = Cipher(keys(1))
    least = CheckInAnswers(met=False, rating=1)
    most = CheckInAnswers(
        met=True, rating=5, themes=sorted(THEMES), energy=5, lead=max(LEADS, key=len)
    )
    sealed = [seal_checkin(cipher, answers, "checkin.answers:1:2:3") for answers in (least, most)]
    assert len(sealed[0]) == len(sealed[1])
    assert open_checkin(cipher, sealed[1], "checkin.answers:1:2:3") == most
    with pytest.raises(DecryptionError):
        open_checkin(cipher, sealed[1], "checkin.answers:1:2:4")  # another row's
