"""enumerator teams (team, team_member, team_assignment); the basis of a split commune's share

A team is a supervisor and enumerators working in one unit's area; an assignment given to a team
is one assignment row per member, each linked to the team in ``team_assignment``. ``unit_correspondence.basis`` says what a
split commune's ``share`` is (population, villages, area or an estimate).

No existing table is rebuilt (on SQLite a rebuilt assignment table would null the responses'
``assignment_id``): the link is a table of its own, the basis a plain ADD COLUMN.

Revision ID: 0009
Revises: i14a
Create Date: 2026-12-01 12:15:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = 'i14a'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('team',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('supervisor_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['supervisor_id'], ['app_user.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_index('ix_team_unit_id', 'team', ['unit_id'], unique=False)
    op.create_index('ix_team_supervisor_id', 'team', ['supervisor_id'], unique=False)
    op.create_table('team_member',
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('team_id', 'user_id')
    )
    op.create_index('ix_team_member_user_id', 'team_member', ['user_id'], unique=False)
    op.create_table('team_assignment',
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignment.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('assignment_id')
    )
    op.create_index('ix_team_assignment_team_id', 'team_assignment', ['team_id'], unique=False)
    op.add_column('unit_correspondence', sa.Column('basis', sa.String(length=20), nullable=True))


def downgrade() -> None:
    op.drop_column('unit_correspondence', 'basis')
    op.drop_index('ix_team_assignment_team_id', table_name='team_assignment')
    op.drop_table('team_assignment')
    op.drop_index('ix_team_member_user_id', table_name='team_member')
    op.drop_table('team_member')
    op.drop_index('ix_team_supervisor_id', table_name='team')
    op.drop_index('ix_team_unit_id', table_name='team')
    op.drop_table('team')
