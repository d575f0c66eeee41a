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
    # Plain ADD COLUMN (no table rebuild: on SQLite a rebuilt unit table would break the foreign
    # keys of the rows that reference it); ``kind`` gets each unit's level's usual kind.
    op.add_column('unit', sa.Column('kind', sa.Enum(*KINDS, name='unit_kind', native_enum=False, length=20),
                                    nullable=False, server_default='xa'))
    op.add_column('unit', sa.Column('official_code', sa.String(length=10), nullable=True))
    op.add_column('unit', sa.Column('name_en', sa.String(length=200), nullable=True))
    op.add_column('unit', sa.Column('valid_from', sa.Date(), nullable=True))
    op.add_column('unit', sa.Column('valid_to', sa.Date(), nullable=True))
    op.create_index('ix_unit_official_code', 'unit', ['official_code'])
    unit = sa.table('unit', sa.column('level', sa.String), sa.column('kind', sa.String),
                    sa.column('valid_to', sa.Date))
    for level, kind in DEFAULT_KINDS.items():
        op.execute(unit.update().where(unit.c.level == level).values(kind=kind))
    op.execute(unit.update().where(unit.c.level == 'district').values(valid_to=date(2025, 6, 30)))
    if op.get_bind().dialect.name != 'sqlite':  # SQLite cannot drop a default without a rebuild
        op.alter_column('unit', 'kind', server_default=None)
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
    for table in ('response', 'assignment'):
        op.add_column(table, sa.Column('stratum', sa.String(length=80), nullable=True))
        op.add_column(table, sa.Column('psu', sa.String(length=80), nullable=True))
    op.add_column('assignment', sa.Column('starts_on', sa.Date(), nullable=True))
    op.add_column('assignment', sa.Column('ends_on', sa.Date(), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite ≥ 3.35 has it): a rebuilt unit table would break the foreign keys
    # of the rows that reference it.
    for column in ('ends_on', 'starts_on', 'psu', 'stratum'):
        op.drop_column('assignment', column)
    for column in ('psu', 'stratum'):
        op.drop_column('response', column)
    op.drop_index('ix_unit_correspondence_new_unit_id', table_name='unit_correspondence')
    op.drop_table('unit_correspondence')
    op.drop_index('ix_unit_official_code', table_name='unit')
    for column in ('valid_to', 'valid_from', 'name_en', 'official_code', 'kind'):
        op.drop_column('unit', column)
