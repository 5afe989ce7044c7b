"""Re-encrypting every stored secret under the newest key, a batch at a time, while the
service keeps running (`upward keys rotate`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select, update

from storage.crypto import Cipher, DecryptionError
from storage.db import Database
from storage.models import (
    AcceptedForm,
    CheckIn,
    Concern,
    PairAgreement,
    Participant,
    ReadinessTally,
    Review,
    ThankYou,
)

# Every sealed column (`*_enc`); `tests/unit/test_crypto.py` checks none is missing.
SECRETS = (
    (CheckIn, "note_enc"),
    (CheckIn, "answers_enc"),
    (Review, "changed_enc"),
    (Review, "answers_enc"),
    (ReadinessTally, "counts_enc"),
    (Participant, "exclusions_enc"),
    (Concern, "text_enc"),
    (ThankYou, "text_enc"),
    (PairAgreement, "answers_enc"),
    (AcceptedForm, "answers_enc"),
)


@dataclass
class RotationReport:
    rotated: int = 0
    unreadable: int = 0  # rows no configured key opens (e.g. a key was dropped too early)
    changed_meanwhile: int = 0  # rewritten by the service during the run: already current


async def rotate_all(db: Database, cipher: Cipher, *, batch: int = 200) -> RotationReport:
    """Each row is updated only if it still holds the ciphertext that was read, so a
    check-in saved by the running service at the same moment is never overwritten."""
    report = RotationReport()
    for model, name in SECRETS:
        column = getattr(model, name)
        [key] = model.__table__.primary_key.columns  # type: ignore[attr-defined]
        last: object = None
        while True:
            async with db.session() as session:
                query = select(key, column).where(col(column).is_not(None))  # type: ignore[call-overload]
                if last is not None:
                    query = query.where(key > last)
                rows = list((await session.exec(query.order_by(key).limit(batch))).all())
                for row_key, token in rows:
                    try:
                        fresh = cipher.rotate(token)
                    except DecryptionError:
                        report.unreadable += 1
                        continue
                    result = await session.exec(
                        update(model)
                        .where(key == row_key, col(column) == token)
                        .values({column: fresh})
                    )
                    if result.rowcount:
                        report.rotated += 1
                    else:
                        report.changed_meanwhile += 1
                await session.commit()
            if len(rows) < batch:
                break
            last = rows[-1][0]
    return report
