"""admin_index_figure: Decision 766 figures per unit, period and indicator (numerator, denominator)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 09:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('admin_index_figure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=10), nullable=False),
    sa.Column('indicator', sa.String(length=40), nullable=False),
    sa.Column('numerator', sa.Integer(), nullable=False),
    sa.Column('denominator', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('unit_id', 'period', 'indicator', name='uq_admin_index_figure')
    )
    op.create_index('ix_admin_index_figure_unit_id', 'admin_index_figure', ['unit_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_admin_index_figure_unit_id', table_name='admin_index_figure')
    op.drop_table('admin_index_figure')
