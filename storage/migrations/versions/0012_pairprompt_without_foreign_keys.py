"""pairprompt without foreign keys

A tick records a prompt for every active pair (100,000 rows at a time in a large company),
and PostgreSQL checks each foreign key with a trigger per row: the two checks cost it about
as much as the insert itself. Nothing can leave a row dangling: a row is written for a pair
the same transaction has just read, and pairs and participants are never deleted (erasure
keeps the participant's row as a tombstone). `tests/unit/test_architecture.py` checks that no
code path deletes either.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 08:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REFERENCES = (('pair_id', 'pair'), ('lead_id', 'participant'))


def _pairprompt(*, with_foreign_keys: bool) -> sa.Table:
    """The table as SQLite's batch mode rebuilds it (its constraints have no names to drop
    them by): the rows are copied into a new table made from this definition."""
    keys = [sa.ForeignKeyConstraint([column], [f'{table}.id']) for column, table in REFERENCES]
    return sa.Table(
        'pairprompt',
        sa.MetaData(),
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('pair_id', sa.Integer(), nullable=False),
        sa.Column('cycle', sa.Integer(), nullable=False),
        sa.Column('prompt_id', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column('lead_id', sa.Integer(), nullable=False),
        *(keys if with_foreign_keys else []),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('pair_id', 'cycle'),
        sa.UniqueConstraint('pair_id', 'prompt_id'),
    )


def _rebuild(*, with_foreign_keys: bool) -> None:
    table = _pairprompt(with_foreign_keys=with_foreign_keys)
    with op.batch_alter_table('pairprompt', copy_from=table, recreate='always'):
        pass


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite':
        _rebuild(with_foreign_keys=False)
        return
    for key in sa.inspect(bind).get_foreign_keys('pairprompt'):
        op.drop_constraint(key['name'], 'pairprompt', type_='foreignkey')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        _rebuild(with_foreign_keys=True)
        return
    for column, target in REFERENCES:
        op.create_foreign_key(f'pairprompt_{column}_fkey', 'pairprompt', target, [column], ['id'])
