"""cases (feedback_case, case_event), day_off, sample_target, response_flag, dossier_attempt, back_check (issue 11)

Revision ID: c11b
Revises: 0009
Create Date: 2026-12-01 12:10:00
"""

from alembic import op
import sqlalchemy as sa


revision = 'c11b'
down_revision = '0009'
branch_labels = None
depends_on = None


def _enum(name, *values):
    return sa.Enum(*values, name=name, native_enum=False, length=20)


def upgrade() -> None:
    op.create_table('feedback_case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('response_id', sa.Uuid(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('kind', _enum('case_kind', 'complaint', 'suggestion'), nullable=False),
    sa.Column('source', _enum('case_source', 'citizen', 'staff'), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('status', _enum('case_status', 'received', 'in_progress', 'info_requested', 'answered',
                              'rejected', 'closed'), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reply_due', sa.Date(), nullable=False),
    sa.Column('reject_due', sa.Date(), nullable=False),
    sa.Column('info_due', sa.Date(), nullable=False),
    sa.Column('publish_due', sa.Date(), nullable=True),
    sa.Column('info_requested_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('info_request', sa.Text(), nullable=True),
    sa.Column('rejected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_late', sa.Boolean(), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rating', sa.String(length=10), nullable=True),
    sa.Column('rated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reopened_count', sa.Integer(), nullable=False),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['answered_by_id'], ['app_user.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['response_id'], ['response.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code'),
    sa.UniqueConstraint('response_id')
    )
    op.create_index('ix_feedback_case_unit_received', 'feedback_case', ['unit_id', 'received_at'], unique=False)
    op.create_table('case_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=30), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['feedback_case.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_case_event_case_id', 'case_event', ['case_id'], unique=False)
    op.create_table('day_off',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('working', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('day')
    )
    op.create_table('sample_target',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('questionnaire_id', sa.String(length=80), nullable=False),
    sa.Column('period', sa.String(length=10), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('desk_id', sa.Integer(), nullable=True),
    sa.Column('target', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['desk_id'], ['desk.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('questionnaire_id', 'period', 'unit_id', 'desk_id', name='uq_sample_target')
    )
    op.create_index('ix_sample_target_desk_id', 'sample_target', ['desk_id'], unique=False)
    op.create_index('ix_sample_target_unit_id', 'sample_target', ['unit_id'], unique=False)
    op.create_table('response_flag',
    sa.Column('response_id', sa.Uuid(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['response_id'], ['response.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('response_id', 'code')
    )
    op.create_index('ix_response_flag_code', 'response_flag', ['code'], unique=False)
    op.create_table('dossier_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('desk_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['desk_id'], ['desk.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_dossier_attempt_desk_at', 'dossier_attempt', ['desk_id', 'at'], unique=False)
    op.create_table('back_check',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Uuid(), nullable=False),
    sa.Column('selected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('checker_id', sa.Integer(), nullable=True),
    sa.Column('answers', sa.JSON(), nullable=True),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('compared', sa.Integer(), nullable=True),
    sa.Column('agreement', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['checker_id'], ['app_user.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['response_id'], ['response.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('response_id')
    )


def downgrade() -> None:
    op.drop_table('back_check')
    op.drop_index('ix_dossier_attempt_desk_at', table_name='dossier_attempt')
    op.drop_table('dossier_attempt')
    op.drop_index('ix_response_flag_code', table_name='response_flag')
    op.drop_table('response_flag')
    op.drop_index('ix_sample_target_unit_id', table_name='sample_target')
    op.drop_index('ix_sample_target_desk_id', table_name='sample_target')
    op.drop_table('sample_target')
    op.drop_table('day_off')
    op.drop_index('ix_case_event_case_id', table_name='case_event')
    op.drop_table('case_event')
    op.drop_index('ix_feedback_case_unit_received', table_name='feedback_case')
    op.drop_table('feedback_case')
