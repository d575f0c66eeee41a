"""issue 11: account scopes (view and data entry), two-level review notes, auto-approval rules per channel,
the append-only audit log

``app_user.view_unit_id`` / ``entry_unit_id``: the unit subtrees an account may view and enter or review data
for (None: the whole tree). ``review_note``: each review step with its comment. ``review_rule``: auto-approval of
unflagged responses per channel (no row: on). ``audit_event``: append-only; on PostgreSQL a trigger refuses
UPDATE and DELETE (TRUNCATE, a database owner's act, stays possible). The new review statuses and the
supervisor role are plain strings (the enums have no CHECK constraint).

Plain ADD COLUMN on app_user (no table rebuild on SQLite).

Revision ID: s11a
Revises: c11b
Create Date: 2026-12-01 12:20:00
"""

from alembic import op
import sqlalchemy as sa


revision = 's11a'
down_revision = 'c11b'
branch_labels = None
depends_on = None

_STATUSES = ('received', 'has_issues', 'supervisor_approved', 'supervisor_rejected', 'approved', 'rejected')


def upgrade() -> None:
    for column in ('view_unit_id', 'entry_unit_id'):  # on SQLite an inline REFERENCES (no ALTER ... ADD CONSTRAINT)
        op.add_column('app_user', sa.Column(column, sa.Integer(), sa.ForeignKey('unit.id'),
                                            nullable=True),
                      inline_references=op.get_bind().dialect.name == 'sqlite')
    op.create_table('review_note',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('from_status', sa.Enum(*_STATUSES, name='review_status', native_enum=False, length=20), nullable=False),
    sa.Column('to_status', sa.Enum(*_STATUSES, name='review_status', native_enum=False, length=20), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['response_id'], ['response.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_review_note_response_id', 'review_note', ['response_id'], unique=False)
    op.create_table('review_rule',
    sa.Column('channel', sa.Enum('kiosk', 'enumerator', 'web', name='channel', native_enum=False, length=20),
              nullable=False),
    sa.Column('auto_approve', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('channel')
    )
    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('target', sa.String(length=120), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('address', sa.String(length=45), nullable=False),
    sa.Column('details', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_audit_event_at', 'audit_event', ['at'], unique=False)
    op.create_index('ix_audit_event_action', 'audit_event', ['action'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("""
            CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'the audit log is append-only: % refused', TG_OP;
            END $$""")
        op.execute("""
            CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
            FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()""")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")
    op.drop_index('ix_audit_event_action', table_name='audit_event')
    op.drop_index('ix_audit_event_at', table_name='audit_event')
    op.drop_table('audit_event')
    op.drop_table('review_rule')
    op.drop_index('ix_review_note_response_id', table_name='review_note')
    op.drop_table('review_note')
    op.drop_column('app_user', 'entry_unit_id')  # (its foreign key goes with it)
    op.drop_column('app_user', 'view_unit_id')
