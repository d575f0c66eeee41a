"""releases: published snapshots of results (versioned, immutable once published) and the
units each one shows

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 09:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('release',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('series', sa.String(length=80), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'ready', 'failed', 'published', 'withdrawn', name='release_status', native_enum=False, length=20), nullable=False),
    sa.Column('period_code', sa.String(length=10), nullable=False),
    sa.Column('period_kind', sa.String(length=10), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('scope_unit_id', sa.Integer(), nullable=False),
    sa.Column('scope_code', sa.String(length=40), nullable=False),
    sa.Column('questionnaires', sa.JSON(), nullable=False),
    sa.Column('overall_rule', sa.String(length=20), nullable=True),
    sa.Column('methodology_version', sa.String(length=20), nullable=False),
    sa.Column('weighting', sa.String(length=10), nullable=False),
    sa.Column('confidence_level', sa.Float(), nullable=False),
    sa.Column('min_publish_n', sa.Integer(), nullable=False),
    sa.Column('min_effective_n', sa.Float(), nullable=False),
    sa.Column('changelog', sa.Text(), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=True),
    sa.Column('progress', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('job_id', sa.String(length=64), nullable=True),
    sa.Column('error_code', sa.String(length=40), nullable=True),
    sa.Column('error_detail', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('built_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_by_id', sa.Integer(), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawal_notice', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['published_by_id'], ['app_user.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['scope_unit_id'], ['unit.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['withdrawn_by_id'], ['app_user.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('series', 'version', name='uq_release_version')
    )
    op.create_index(op.f('ix_release_series'), 'release', ['series'], unique=False)
    op.create_table('release_unit',
    sa.Column('release_id', sa.Integer(), nullable=False),
    sa.Column('unit_code', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['release_id'], ['release.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('release_id', 'unit_code')
    )
    op.create_index(op.f('ix_release_unit_unit_code'), 'release_unit', ['unit_code'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_release_unit_unit_code'), table_name='release_unit')
    op.drop_table('release_unit')
    op.drop_index(op.f('ix_release_series'), table_name='release')
    op.drop_table('release')
