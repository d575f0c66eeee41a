"""collection channels: device/enumerator credentials, assignments, desk services, response paradata and flags

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:45:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('desk_service',
    sa.Column('desk_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['desk_id'], ['desk.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('desk_id', 'service_id')
    )
    op.create_table('credential',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('desk_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['desk_id'], ['desk.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('credential', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credential_desk_id'), ['desk_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_credential_user_id'), ['user_id'], unique=False)

    op.create_table('assignment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('questionnaire_id', sa.String(length=80), nullable=False),
    sa.Column('quota', sa.Integer(), nullable=False),
    sa.Column('households', sa.JSON(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assignment_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credential_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('assignment_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('paradata', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('flag', sa.String(length=40), nullable=True))
        batch_op.create_index('ix_response_credential_submitted', ['credential_id', 'submitted_at'], unique=False)
        batch_op.create_foreign_key('fk_response_credential', 'credential', ['credential_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key('fk_response_user', 'app_user', ['user_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key('fk_response_assignment', 'assignment', ['assignment_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.drop_constraint('fk_response_assignment', type_='foreignkey')
        batch_op.drop_constraint('fk_response_user', type_='foreignkey')
        batch_op.drop_constraint('fk_response_credential', type_='foreignkey')
        batch_op.drop_index('ix_response_credential_submitted')
        batch_op.drop_column('flag')
        batch_op.drop_column('paradata')
        batch_op.drop_column('assignment_id')
        batch_op.drop_column('user_id')
        batch_op.drop_column('credential_id')
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assignment_user_id'))
    op.drop_table('assignment')
    with op.batch_alter_table('credential', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credential_user_id'))
        batch_op.drop_index(batch_op.f('ix_credential_desk_id'))
    op.drop_table('credential')
    op.drop_table('desk_service')
