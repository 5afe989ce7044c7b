"""digest.covered: which answers each published period counted, so none counts twice

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08 02:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Digests published before this revision recorded nothing; the answers they counted
    # are those given in their month, which is what the ledger assumes for them.
    with op.batch_alter_table('digest', schema=None) as batch_op:
        batch_op.add_column(sa.Column('covered', sa.JSON(), nullable=False, server_default='{}'))


def downgrade() -> None:
    with op.batch_alter_table('digest', schema=None) as batch_op:
        batch_op.drop_column('covered')
