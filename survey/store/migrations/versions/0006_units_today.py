"""units on today's map: kind, official code, English name, validity; old → new correspondence; sample design columns

Viet Nam's local government is two-tier since 1 July 2025. Existing districts become historical
(valid to 2025-06-30); their communes keep their place in the tree and their responses. Every
unit gets a kind from its level (a province ``tinh``, a district ``huyen``, a commune ``xa``, a
village ``thon``, a department ``so_ban_nganh``) that ``hailong units import`` refines from the
official list. Responses and assignments get the stratum and PSU of the survey's sample design.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 09:30:00
"""

from datetime import date

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

KINDS = ('tinh', 'thanh_pho_tw', 'huyen', 'quan', 'thi_xa', 'thanh_pho', 'xa', 'phuong', 'dac_khu', 'thi_tran',
         'thon', 'ap', 'ban', 'to_dan_pho', 'khu_pho', 'so_ban_nganh')
DEFAULT_KINDS = {'province': 'tinh', 'district': 'huyen', 'commune': 'xa', 'hamlet': 'thon',
                 'department': 'so_ban_nganh'}


def upgrade() -> None:
    with op.batch_alter_table('unit') as batch:
        batch.add_column(sa.Column('kind', sa.Enum(*KINDS, name='unit_kind', native_enum=False, length=20),
                                   nullable=True))
        batch.add_column(sa.Column('official_code', sa.String(length=10), nullable=True))
        batch.add_column(sa.Column('name_en', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('valid_from', sa.Date(), nullable=True))
        batch.add_column(sa.Column('valid_to', sa.Date(), nullable=True))
        batch.create_index('ix_unit_official_code', ['official_code'])
    unit = sa.table('unit', sa.column('level', sa.String), sa.column('kind', sa.String),
                    sa.column('valid_to', sa.Date))
    for level, kind in DEFAULT_KINDS.items():
        op.execute(unit.update().where(unit.c.level == level).values(kind=kind))
    op.execute(unit.update().where(unit.c.level == 'district').values(valid_to=date(2025, 6, 30)))
    with op.batch_alter_table('unit') as batch:
        batch.alter_column('kind', existing_type=sa.Enum(*KINDS, name='unit_kind', native_enum=False, length=20),
                           nullable=False)
    op.create_table('unit_correspondence',
    sa.Column('old_unit_id', sa.Integer(), nullable=False),
    sa.Column('new_unit_id', sa.Integer(), nullable=False),
    sa.Column('share', sa.Float(), nullable=True),
    sa.Column('partly', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['new_unit_id'], ['unit.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['old_unit_id'], ['unit.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('old_unit_id', 'new_unit_id')
    )
    op.create_index('ix_unit_correspondence_new_unit_id', 'unit_correspondence', ['new_unit_id'])
    with op.batch_alter_table('response') as batch:
        batch.add_column(sa.Column('stratum', sa.String(length=80), nullable=True))
        batch.add_column(sa.Column('psu', sa.String(length=80), nullable=True))
    with op.batch_alter_table('assignment') as batch:
        batch.add_column(sa.Column('stratum', sa.String(length=80), nullable=True))
        batch.add_column(sa.Column('psu', sa.String(length=80), nullable=True))
        batch.add_column(sa.Column('starts_on', sa.Date(), nullable=True))
        batch.add_column(sa.Column('ends_on', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('assignment') as batch:
        batch.drop_column('ends_on')
        batch.drop_column('starts_on')
        batch.drop_column('psu')
        batch.drop_column('stratum')
    with op.batch_alter_table('response') as batch:
        batch.drop_column('psu')
        batch.drop_column('stratum')
    op.drop_index('ix_unit_correspondence_new_unit_id', table_name='unit_correspondence')
    op.drop_table('unit_correspondence')
    with op.batch_alter_table('unit') as batch:
        batch.drop_index('ix_unit_official_code')
        batch.drop_column('valid_to')
        batch.drop_column('valid_from')
        batch.drop_column('name_en')
        batch.drop_column('official_code')
        batch.drop_column('kind')
