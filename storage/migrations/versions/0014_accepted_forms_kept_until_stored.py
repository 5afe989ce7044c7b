"""acceptedform: forms acked but not stored yet, kept so that a crash doesn't lose them

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 08:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'acceptedform',
        sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=240), nullable=False),
        sa.Column('answers_enc', sa.Text(), nullable=False),
        sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('key'),
    )
    with op.batch_alter_table('acceptedform', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_acceptedform_accepted_at'), ['accepted_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('acceptedform', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_acceptedform_accepted_at'))
    op.drop_table('acceptedform')
