"""issue 15 point 1: rollups of sufficient statistics per questionnaire version × unit × service × day

``rollup``: one row per cell of counted responses (``grain`` d: a day, q: the sum of a quarter's days)
— their number and their packed sums (``scoring.sums``) for the layout named in ``layout``; ``rollup_state``: per questionnaire, the layout
its rollups were built for and whether they are current. Empty after the upgrade: the pages score
the microdata until ``hailong rollups rebuild`` (or the ``rebuild_rollups`` job) has run.

Revision ID: r15a
Revises: e15a
Create Date: 2026-12-01 16:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = 'r15a'
down_revision = 'e15a'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rollup',
    sa.Column('questionnaire_version_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('grain', sa.String(length=1), nullable=False),
    sa.Column('questionnaire_id', sa.String(length=80), nullable=False),
    sa.Column('layout', sa.String(length=64), nullable=False),
    sa.Column('n_responses', sa.Integer(), nullable=False),
    sa.Column('sums', sa.LargeBinary(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['questionnaire_version_id'], ['questionnaire_version.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('questionnaire_version_id', 'unit_id', 'service_id', 'day', 'grain'),
    )
    op.create_index('ix_rollup_scope', 'rollup', ['questionnaire_id', 'service_id', 'day'])
    op.create_table('rollup_state',
    sa.Column('questionnaire_id', sa.String(length=80), nullable=False),
    sa.Column('layout', sa.String(length=64), nullable=False),
    sa.Column('stale', sa.Boolean(), nullable=False),
    sa.Column('rebuilt_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('questionnaire_id'),
    )


def downgrade() -> None:
    op.drop_table('rollup_state')
    op.drop_index('ix_rollup_scope', table_name='rollup')
    op.drop_table('rollup')
