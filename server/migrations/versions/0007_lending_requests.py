"""lending by request: requests and their boxes, holds, loan reminders, disposal holds

Also: loans know their request, renewals and when they were marked overdue; a person may
have an e-mail address (for reminders); box statuses may be 20 characters (being_retrieved).

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = '0007'
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('lending_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('borrower', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('mode', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('purpose', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('wanted_on', sa.Date(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('lending_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lending_requests_borrower'), ['borrower'], unique=False)
        batch_op.create_index(batch_op.f('ix_lending_requests_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_lending_requests_state'), ['state'], unique=False)

    op.create_table('disposal_holds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('box_id', sa.Integer(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('placed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('placed_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('released_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.ForeignKeyConstraint(['box_id'], ['boxes.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('disposal_holds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_disposal_holds_box_id'), ['box_id'], unique=False)

    op.create_table('holds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('box_id', sa.Integer(), nullable=False),
    sa.Column('borrower', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=True),
    sa.Column('placed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ready_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_reason', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True),
    sa.ForeignKeyConstraint(['box_id'], ['boxes.id'], ),
    sa.ForeignKeyConstraint(['record_id'], ['records.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('holds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_holds_borrower'), ['borrower'], unique=False)
        batch_op.create_index(batch_op.f('ix_holds_box_id'), ['box_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_holds_ended_at'), ['ended_at'], unique=False)

    op.create_table('loan_reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('email_to', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('emailed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('loan_id', 'stage', name='uq_loan_reminders_stage')
    )
    with op.batch_alter_table('loan_reminders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_loan_reminders_loan_id'), ['loan_id'], unique=False)

    op.create_table('request_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('box_id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=True),
    sa.Column('picked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('picked_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('loan_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['box_id'], ['boxes.id'], ),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], ),
    sa.ForeignKeyConstraint(['record_id'], ['records.id'], ),
    sa.ForeignKeyConstraint(['request_id'], ['lending_requests.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('request_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_request_items_box_id'), ['box_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_request_items_loan_id'), ['loan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_request_items_request_id'), ['request_id'], unique=False)

    with op.batch_alter_table('boxes', schema=None) as batch_op:
        batch_op.alter_column('status',
               existing_type=sa.VARCHAR(length=12),
               type_=sqlmodel.sql.sqltypes.AutoString(length=20),
               existing_nullable=False)

    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('renewals', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('overdue_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_loans_request_id'), ['request_id'], unique=False)
        batch_op.create_foreign_key('fk_loans_request_id', 'lending_requests', ['request_id'], ['id'])

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('email')

    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.drop_constraint('fk_loans_request_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_loans_request_id'))
        batch_op.drop_column('overdue_at')
        batch_op.drop_column('renewals')
        batch_op.drop_column('request_id')

    with op.batch_alter_table('boxes', schema=None) as batch_op:
        batch_op.alter_column('status',
               existing_type=sqlmodel.sql.sqltypes.AutoString(length=20),
               type_=sa.VARCHAR(length=12),
               existing_nullable=False)

    with op.batch_alter_table('request_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_request_items_request_id'))
        batch_op.drop_index(batch_op.f('ix_request_items_loan_id'))
        batch_op.drop_index(batch_op.f('ix_request_items_box_id'))

    op.drop_table('request_items')
    with op.batch_alter_table('loan_reminders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_loan_reminders_loan_id'))

    op.drop_table('loan_reminders')
    with op.batch_alter_table('holds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_holds_ended_at'))
        batch_op.drop_index(batch_op.f('ix_holds_box_id'))
        batch_op.drop_index(batch_op.f('ix_holds_borrower'))

    op.drop_table('holds')
    with op.batch_alter_table('disposal_holds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_disposal_holds_box_id'))

    op.drop_table('disposal_holds')
    with op.batch_alter_table('lending_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lending_requests_state'))
        batch_op.drop_index(batch_op.f('ix_lending_requests_created_at'))
        batch_op.drop_index(batch_op.f('ix_lending_requests_borrower'))

    op.drop_table('lending_requests')
