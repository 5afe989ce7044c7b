"""every answer sealed at rest: check-in and review answers, readiness tallies

Check-in answers (met, rating, themes, energy, lead) and review scores (confidence before
and now, again) become one sealed JSON document per row (`answers_enc`), and a readiness
pulse's counts one sealed document per pulse (`readinesstally.counts_enc`). Existing rows are
sealed in place, then the plaintext columns (and the old per-answer tally rows) go.

Sealing needs the key: `upward db upgrade` (and `serve`, `shell`, `demo`) hands this
migration the configured cipher through alembic's `config.attributes["cipher"]`. Run
without one (plain `alembic upgrade`), it refuses when there is anything to seal, before
changing anything; an empty database needs no key.

Nothing of the plaintext is left in the database files afterwards: on SQLite the work is
done with `secure_delete` (freed pages are zeroed), the tables are rebuilt, and the WAL is
checkpointed and truncated; on PostgreSQL the two tables are rewritten (CLUSTER, which also
nulls the dropped columns) and the old tally table's file is removed with it. Backups taken
before the upgrade, and PostgreSQL WAL segments not yet recycled, still hold the plaintext.

The downgrade refuses: it would put every answer back in the clear. Restore the backup
taken before upgrading instead.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08 01:40:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import context, op


revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEEDS_KEY = (
    "migration 0015 seals the answers already stored and needs the encryption key: run "
    "`upward db upgrade` with UPWARD_ENCRYPTION_KEYS (or the SQLite key file) configured"
)

_checkin = sa.table(
    'checkin',
    sa.column('id', sa.Integer()),
    sa.column('pair_id', sa.Integer()),
    sa.column('participant_id', sa.Integer()),
    sa.column('cycle', sa.Integer()),
    sa.column('met', sa.Boolean()),
    sa.column('rating', sa.Integer()),
    sa.column('themes', sa.JSON()),
    sa.column('energy', sa.Integer()),
    sa.column('lead', sa.String()),
    sa.column('answers_enc', sa.Text()),
)
_review = sa.table(
    'review',
    sa.column('id', sa.Integer()),
    sa.column('pair_id', sa.Integer()),
    sa.column('participant_id', sa.Integer()),
    sa.column('stage', sa.String()),
    sa.column('confidence_before', sa.Integer()),
    sa.column('confidence_now', sa.Integer()),
    sa.column('again', sa.Boolean()),
    sa.column('answers_enc', sa.Text()),
)
_old_tally = sa.table(
    'readinesstally',
    sa.column('pulse_id', sa.Integer()),
    sa.column('question', sa.String()),
    sa.column('answer', sa.String()),
    sa.column('count', sa.Integer()),
)
CHECKIN_ANSWERS = ('met', 'rating', 'themes', 'energy', 'lead')
REVIEW_ANSWERS = ('confidence_before', 'confidence_now', 'again')
BATCH = 1000


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == 'sqlite'
    cipher = context.config.attributes.get('cipher')
    keys = ('id', 'pair_id', 'participant_id')
    checkins = bind.execute(
        sa.select(*(_checkin.c[n] for n in (*keys, 'cycle', *CHECKIN_ANSWERS)))
    ).all()
    reviews = bind.execute(
        sa.select(*(_review.c[n] for n in (*keys, 'stage', *REVIEW_ANSWERS)))
    ).all()
    tallies: dict[int, dict[str, dict[str, int]]] = {}
    for pulse_id, question, answer, count in bind.execute(sa.select(_old_tally)).all():
        tallies.setdefault(pulse_id, {}).setdefault(question, {})[answer] = int(count or 0)
    if (checkins or reviews or tallies) and cipher is None:
        raise RuntimeError(NEEDS_KEY)
    if sqlite:
        op.execute('PRAGMA secure_delete = ON')  # what is deleted or moved is zeroed

    for name in ('checkin', 'review'):
        with op.batch_alter_table(name) as batch:
            batch.add_column(sa.Column('answers_enc', sa.Text(), nullable=True))
    _seal(bind, _checkin, cipher, [
        (row.id, f'checkin.answers:{row.pair_id}:{row.participant_id}:{row.cycle}', _checkin_document(row))
        for row in checkins
    ])
    _seal(bind, _review, cipher, [
        (row.id, f'review.answers:{row.pair_id}:{row.participant_id}:{row.stage}', _review_document(row))
        for row in reviews
    ])
    for name, columns in (('checkin', CHECKIN_ANSWERS), ('review', REVIEW_ANSWERS)):
        with op.batch_alter_table(name, recreate='always' if sqlite else 'auto') as batch:
            for column in columns:
                batch.drop_column(column)
            batch.alter_column('answers_enc', existing_type=sa.Text(), nullable=False)
        if not sqlite:  # DROP COLUMN leaves the values in the pages: rewrite the table
            op.execute(f'CLUSTER {name} USING {name}_pkey')
            op.execute(f'ALTER TABLE {name} SET WITHOUT CLUSTER')

    with op.batch_alter_table('readinesstally') as batch:
        batch.drop_index('ix_readinesstally_pulse_id')
    op.drop_table('readinesstally')
    op.create_table(
        'readinesstally',
        sa.Column('pulse_id', sa.Integer(), nullable=False),
        sa.Column('counts_enc', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['pulse_id'], ['readinesspulse.id']),
        sa.PrimaryKeyConstraint('pulse_id'),
    )
    if tallies:
        new = sa.table(
            'readinesstally', sa.column('pulse_id', sa.Integer()), sa.column('counts_enc', sa.Text())
        )
        op.bulk_insert(new, [
            {'pulse_id': pulse, 'counts_enc': cipher.encrypt_json(counts, f'readiness.tally:{pulse}')}
            for pulse, counts in tallies.items()
        ])
    if sqlite:  # the WAL still holds pages written before: fold it in and empty it
        with context.get_context().autocommit_block():
            op.execute('PRAGMA wal_checkpoint(TRUNCATE)')


def downgrade() -> None:
    raise RuntimeError(
        "migration 0015 is not reversed: it would store every answer in the clear again. "
        "Restore the backup taken before upgrading."
    )


def _checkin_document(row: Any) -> dict[str, Any]:
    """The document `storage.answers.CheckInAnswers` reads, as it was at this revision."""
    return {
        'met': bool(row.met),
        'rating': int(row.rating),
        'themes': sorted(row.themes or []),
        'energy': None if row.energy is None else int(row.energy),
        'lead': row.lead,
    }


def _review_document(row: Any) -> dict[str, Any]:
    return {
        'confidence_before': int(row.confidence_before),
        'confidence_now': int(row.confidence_now),
        'again': bool(row.again),
    }


def _seal(bind: Any, table: Any, cipher: Any, rows: list[tuple[int, str, dict[str, Any]]]) -> None:
    statement = (
        sa.update(table)
        .where(table.c.id == sa.bindparam('row_id'))
        .values(answers_enc=sa.bindparam('sealed'))
    )
    for start in range(0, len(rows), BATCH):
        bind.execute(
            statement,
            [
                {'row_id': row_id, 'sealed': cipher.encrypt_json(document, context_)}
                for row_id, context_, document in rows[start : start + BATCH]
            ],
        )
