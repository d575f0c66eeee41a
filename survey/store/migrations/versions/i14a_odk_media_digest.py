"""response_attachment and digest_secret: media files of OpenRosa submissions and the sealed
HTTP Digest secret of an account (issue 14)

Revision ID: i14a
Revises: 0010
Create Date: 2026-12-01 12:10:00
"""

from alembic import op
import sqlalchemy as sa


revision = 'i14a'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('response_attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['response_id'], ['response.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('response_id', 'name', name='uq_response_attachment_name')
    )
    op.create_index(op.f('ix_response_attachment_response_id'), 'response_attachment', ['response_id'], unique=False)
    op.create_table('digest_secret',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('sealed_ha1', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id')
    )


def downgrade() -> None:
    op.drop_table('digest_secret')
    op.drop_index(op.f('ix_response_attachment_response_id'), table_name='response_attachment')
    op.drop_table('response_attachment')
