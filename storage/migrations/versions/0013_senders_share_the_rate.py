"""senders: the dispatchers sending now, which share each platform's overall rate

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 08:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'sender',
        sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('platforms', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('sender', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sender_seen_at'), ['seen_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sender', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sender_seen_at'))
    op.drop_table('sender')
