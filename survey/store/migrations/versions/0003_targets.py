"""targets: goals per unit, questionnaire score and year (absolute or percent over a base year)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 12:40:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('target',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('questionnaire_id', sa.String(length=80), nullable=False),
    sa.Column('score_id', sa.String(length=80), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('score', 'increase_pct', name='target_kind', native_enum=False, length=20), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('base_year', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('unit_id', 'questionnaire_id', 'score_id', 'year', name='uq_target')
    )


def downgrade() -> None:
    op.drop_table('target')
