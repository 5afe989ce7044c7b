"""The digest's figures over many pairs with sealed answers, and what sealing costs.

One program with P pairs (default 100,000; 2P participants), each partner with one check-in
submitted in February 2027, is written in bulk into two migrated SQLite files in a temporary
directory: one with the answers sealed by the real cipher (Fernet, bound to row and column,
padded), one with the same documents stored unsealed by a cipher that only encodes JSON.
Both go through the project's own schema and repositories; the answers are drawn from a
fixed seed, so the two files hold the same facts.

Timed, best of `--repeat` runs each, in one process: `gather` (flows/digests.py: the
repositories read the period's check-ins and open each one) plus `compute_figures`
(flows/anonymity.py) for February, as the monthly digest does. The floors, in the same run:
the same path over the unsealed file (everything but the cryptography), and a raw SELECT of
the rows it reads. Printed: the seconds, per check-in, and the ratios. The two runs must
produce the same figures.

    .venv/bin/python bench/digest.py [--size 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import text

from bot.app import build_app
from bot.settings import load_settings
from flows.anonymity import Figure, compute_figures
from flows.checkins import LEADS, THEMES
from flows.context import FlowContext
from flows.digests import gather
from storage.answers import CheckInAnswers
from storage.crypto import Cipher
from storage.db import Database
from storage.migrate import upgrade_async
from storage.models import CheckIn, Pair, Participant, Program, checkin_answers_context
from storage.repositories import Repositories

SINCE = datetime(2027, 2, 1, tzinfo=UTC)
UNTIL = datetime(2027, 3, 1, tzinfo=UTC)
BATCH = 5_000
SEED = 7


class UnsealedCipher(Cipher):
    """The floor: the same JSON documents, not encrypted. Never used outside this script."""

    def encrypt_json(self, value: Any, context: str, *, pad: int = 0) -> str:
        return json.dumps(value, separators=(",", ":"), sort_keys=True)

    def decrypt_json(self, token: str, context: str) -> Any:
        return json.loads(token)


# ---- the bulk load


def answers_for(rng: random.Random, mentor: bool) -> CheckInAnswers:
    return CheckInAnswers(
        met=rng.random() < 0.8,
        rating=rng.randint(1, 5),
        themes=sorted(rng.sample(list(THEMES), rng.randint(0, 3))),
        energy=rng.randint(1, 5) if mentor and rng.random() < 0.7 else None,
        lead=rng.choice([*LEADS, None]),
    )


def people_and_pairs(pairs: range) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    joined = SINCE - timedelta(days=40)
    person = Participant(
        program_id=1, platform="slack", tenant="T1", user_id="", role="mentor", status="active",
        agreed_at=joined, joined_at=joined,
    ).model_dump()  # fmt: skip
    pair = Pair(program_id=1, mentor_id=1, mentee_id=2, explanation="bench").model_dump()
    people, couples = [], []
    for number in pairs:
        for member, role in ((2 * number - 1, "mentor"), (2 * number, "mentee")):
            people.append({**person, "id": member, "user_id": f"U{member:08d}", "role": role})
        couples.append(
            {
                **pair,
                "id": number,
                "mentor_id": 2 * number - 1,
                "mentee_id": 2 * number,
                "status": "active",
                "started_at": joined + timedelta(days=1),
                "ended_at": None,
                "end_kind": None,
            }
        )
    return people, couples


def checkin_rows(cipher: Cipher, pairs: range, rng: random.Random) -> list[dict[str, Any]]:
    rows = []
    for number in pairs:
        for member, mentor in ((2 * number - 1, True), (2 * number, False)):
            context = checkin_answers_context(number, member, 1)
            answers = answers_for(rng, mentor).document()
            rows.append(
                {
                    "pair_id": number,
                    "participant_id": member,
                    "cycle": 1,
                    "answers_enc": cipher.encrypt_json(answers, context),
                    "note_enc": None,
                    "submitted_at": SINCE + timedelta(days=3, seconds=number % 86_400),
                }
            )
    return rows


async def load(url: str, size: int, cipher: Cipher) -> float:
    """Migrate, then insert the program, participants, pairs and check-ins; seconds taken."""
    await upgrade_async(url)
    started = time.perf_counter()
    rng = random.Random(SEED)
    db = Database(url)
    program = Program(
        id=1, slug="bench", name="Bench", focus="technology", created_at=SINCE - timedelta(days=60)
    )
    try:
        async with db.engine.begin() as conn:
            await conn.execute(Program.__table__.insert(), [program.model_dump()])  # type: ignore[attr-defined]
        for first in range(1, size + 1, BATCH):
            chunk = range(first, min(first + BATCH, size + 1))
            people, couples = people_and_pairs(chunk)
            async with db.engine.begin() as conn:
                await conn.execute(Participant.__table__.insert(), people)  # type: ignore[attr-defined]
                await conn.execute(Pair.__table__.insert(), couples)  # type: ignore[attr-defined]
                await conn.execute(CheckIn.__table__.insert(), checkin_rows(cipher, chunk, rng))  # type: ignore[attr-defined]
    finally:
        await db.dispose()
    return time.perf_counter() - started


# ---- the measurements


async def best_of(repeat: int, work: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = await work()
        times.append(time.perf_counter() - started)
    return min(times), result


async def digest_figures(url: str, key: str, cipher: Cipher | None, repeat: int) -> tuple:
    """(best seconds for gather + compute_figures, best for gather alone, the figures)."""
    app = build_app(
        load_settings(
            database_url=url, encryption_keys=[key], slack_bot_token=None, microsoft_app_id=None
        )
    )
    if cipher is not None:
        app.engine.cipher = cipher
    try:
        cipher, policy = app.engine.cipher, app.engine.policy
        async with app.db.read_session() as session:  # connect before measuring
            await session.get(Program, 1)

        async def figures(compute: bool) -> Any:
            async with app.db.read_session() as session:
                program = await session.get(Program, 1)
                assert program is not None
                ctx = FlowContext(Repositories(session, cipher), UNTIL, policy)
                facts, _covered = await gather(ctx, program, SINCE, UNTIL)
                return compute_figures(facts) if compute else facts

        gathered, facts = await best_of(repeat, lambda: figures(False))
        whole, result = await best_of(repeat, lambda: figures(True))
        assert len(facts.checkins) == 2 * facts.active_pairs
        return whole, gathered, result
    finally:
        await app.close()


async def raw_select(url: str, repeat: int) -> float:
    db = Database(url)
    query = text(
        "SELECT id, pair_id, participant_id, cycle, submitted_at, note_enc, answers_enc "
        "FROM checkin WHERE submitted_at >= :since AND submitted_at < :until ORDER BY id"
    )
    window = {"since": SINCE.strftime("%Y-%m-%d"), "until": UNTIL.strftime("%Y-%m-%d")}
    try:

        async def select_all() -> int:
            async with db.engine.connect() as conn:
                return len((await conn.execute(query, window)).all())

        seconds, _ = await best_of(repeat, select_all)
        return seconds
    finally:
        await db.dispose()


def show(figures: list[Figure]) -> str:
    return "; ".join(f"{f.label}: {f.value}" for f in figures[:6])


async def main(size: int, repeat: int) -> None:
    key = Fernet.generate_key().decode()
    with tempfile.TemporaryDirectory() as directory:
        sealed_url = f"sqlite+aiosqlite:///{Path(directory) / 'sealed.db'}"
        plain_url = f"sqlite+aiosqlite:///{Path(directory) / 'plain.db'}"
        plain = UnsealedCipher([key])
        sealed_load = await load(sealed_url, size, Cipher([key]))
        plain_load = await load(plain_url, size, plain)
        checkins = 2 * size
        print(
            f"{size:,} pairs, {checkins:,} check-ins in the month; loaded in "
            f"{sealed_load:.1f} s (sealed), {plain_load:.1f} s (unsealed)"
        )
        whole, gathered, sealed_figures = await digest_figures(sealed_url, key, None, repeat)
        plain_whole, plain_gathered, plain_figures = await digest_figures(
            plain_url, key, plain, repeat
        )
        assert sealed_figures == plain_figures, "the two files must give the same figures"
        select_seconds = await raw_select(sealed_url, repeat)
    per = 1e6 / checkins
    print(f"figures: {show(sealed_figures)}")
    print(f"best of {repeat}:")
    print(
        f"  sealed:   gather + compute_figures {whole:.2f} s ({whole * per:.1f} µs/check-in); "
        f"gather alone {gathered:.2f} s"
    )
    print(
        f"  unsealed: gather + compute_figures {plain_whole:.2f} s "
        f"({plain_whole * per:.1f} µs/check-in); gather alone {plain_gathered:.2f} s"
    )
    print(f"  raw SELECT of the month's check-in rows: {select_seconds:.2f} s")
    print(
        f"ratio sealed / unsealed: {whole / plain_whole:.2f}x; "
        f"sealed / raw SELECT: {whole / select_seconds:.1f}x; "
        f"opening the answers: {(whole - plain_whole) * per:.1f} µs/check-in"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="pairs")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.size, args.repeat)))
