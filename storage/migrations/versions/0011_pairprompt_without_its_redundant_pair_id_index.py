"""pairprompt without its redundant pair_id index

The unique (pair_id, cycle) and (pair_id, prompt_id) indexes both begin with pair_id and
answer every lookup by pair; the single-column index only cost a write per recorded prompt
(a tick records one per pair). The table's foreign keys stay.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 03:45:00.000000
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('pairprompt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pairprompt_pair_id'))


def downgrade() -> None:
    with op.batch_alter_table('pairprompt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pairprompt_pair_id'), ['pair_id'], unique=False)
