"""export_job: microdata exports prepared in the background, their progress and their file (issue 15)

Revision ID: e15a
Revises: s11a
Create Date: 2026-12-01 16:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = 'e15a'
down_revision = 's11a'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('export_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('questionnaire_id', sa.String(length=80), nullable=False),
    sa.Column('fmt', sa.String(length=12), nullable=False),
    sa.Column('choice', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('rows_done', sa.Integer(), nullable=False),
    sa.Column('rows_total', sa.Integer(), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.Column('download_name', sa.String(length=200), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('job_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_export_job_user_id'), 'export_job', ['user_id'], unique=False)
    op.create_index(op.f('ix_export_job_expires_at'), 'export_job', ['expires_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_export_job_expires_at'), table_name='export_job')
    op.drop_index(op.f('ix_export_job_user_id'), table_name='export_job')
    op.drop_table('export_job')
