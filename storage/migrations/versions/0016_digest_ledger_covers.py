"""digest.covered: which answers each published period counted, so none counts twice

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08 02:40:00.000000
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op


revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('digest', schema=None) as batch_op:
        batch_op.add_column(sa.Column('covered', sa.JSON(), nullable=False, server_default='{}'))
    _backfill()


def _backfill() -> None:
    """Monthly digests published before this revision counted the answers given in their
    month (as those answers stand now: an edit since may have moved one); record those,
    so that no later period counts them again."""
    bind = op.get_bind()
    digests = bind.execute(sa.text("SELECT id, program_id, period FROM digest")).all()
    for digest_id, program_id, period in digests:
        if len(period) != 7 or period[4] != '-':
            continue
        since = datetime(int(period[:4]), int(period[5:]), 1, tzinfo=UTC)
        until = (since + timedelta(days=32)).replace(day=1)
        covered = {}
        for kind, table in (('checkins', 'checkin'), ('reviews', 'review')):
            rows = bind.execute(
                sa.text(
                    f"SELECT t.id FROM {table} t JOIN pair p ON p.id = t.pair_id "
                    "WHERE p.program_id = :program AND t.submitted_at >= :since "
                    "AND t.submitted_at < :until ORDER BY t.id"
                ),
                {'program': program_id, 'since': since, 'until': until},
            )
            covered[kind] = [row[0] for row in rows]
        bind.execute(
            sa.text("UPDATE digest SET covered = :covered WHERE id = :id"),
            {'covered': json.dumps(covered), 'id': digest_id},
        )


def downgrade() -> None:
    with op.batch_alter_table('digest', schema=None) as batch_op:
        batch_op.drop_column('covered')
