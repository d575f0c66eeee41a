"""issue 15 point 2: numeric answers packed one byte per slot in ``response.codes``

``answer_slot``: per questionnaire version, which question each byte of ``response.codes`` answers
(the version's questions with numeric answers, in definition order); ``response.codes``: the packed
numeric answers (255: not answered), NULL for a response kept as rows; view ``answer_value``: the
rows of ``answer`` and the decoded bytes, read as one table. The upgrade packs every response whose
numeric answers are all whole numbers 0..254 and deletes their rows; the downgrade writes them back
as rows. Both run as a few set-based statements on PostgreSQL; on SQLite (no ``get_byte``, no
``unhex`` before 3.41) packing runs in chunks of responses.

What else a rating cost without need: ``ix_response_scope`` is led by the unit (the questionnaire
was a filter on few rows) and so also serves the unit's foreign key, whose own index goes; and on
PostgreSQL the digests ``payload_hash`` and ``dossier_key`` are stored as their 32 bytes instead of
64 hexadecimal characters, in the row and in the index of the one-rating-per-dossier rule (SQLite
keeps the text: changing a column's type there copies the table, and dropping the old one would
delete every answer by cascade).

Revision ID: c15c
Revises: r15a
Create Date: 2026-12-01 18:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = 'c15c'
down_revision = 'r15a'
branch_labels = None
depends_on = None

# The question types whose answers are numbers (questionnaires.types when this revision was written):
# frozen here so that the revision packs the same way whatever the registry becomes.
NUMERIC_TYPES = ('scale5', 'rating', 'single', 'yesno', 'integer', 'decimal', 'consent')
NO_ANSWER = 255
CHUNK = 2000

# byte ``s.position`` of ``r.codes`` in SQL: PostgreSQL's get_byte; SQLite reads it as two hex digits
BYTE = {
    'postgresql': "get_byte(r.codes, s.position)",
    'sqlite': ("((instr('0123456789ABCDEF', substr(hex(substr(r.codes, s.position + 1, 1)), 1, 1)) - 1) * 16"
               " + instr('0123456789ABCDEF', substr(hex(substr(r.codes, s.position + 1, 1)), 2, 1)) - 1)"),
}

# the packed answers as rows: one per slot answered
DECODED = """
SELECT r.id AS response_id, s.question_id AS question_id, CAST({byte} AS {real}) AS value_num,
       CAST(NULL AS TEXT) AS value_text
FROM response r JOIN answer_slot s ON s.questionnaire_version_id = r.questionnaire_version_id
WHERE r.codes IS NOT NULL AND s.position < length(r.codes) AND {byte} <> 255
"""


def _decoded(dialect: str) -> str:
    return DECODED.format(byte=BYTE[dialect], real='DOUBLE PRECISION' if dialect == 'postgresql' else 'REAL')


def upgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    op.add_column('response', sa.Column('codes', sa.LargeBinary(), nullable=True))
    op.create_table('answer_slot',
    sa.Column('questionnaire_version_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('question_id', sa.String(length=80), nullable=False),
    sa.ForeignKeyConstraint(['questionnaire_version_id'], ['questionnaire_version.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('questionnaire_version_id', 'position'),
    sa.UniqueConstraint('questionnaire_version_id', 'question_id', name='uq_answer_slot_question'),
    )
    _write_slots(bind)
    op.drop_index('ix_response_scope', table_name='response')
    op.drop_index('ix_response_unit_id', table_name='response')
    if dialect == 'postgresql':
        _pack_postgresql(bind)
        for column in ('payload_hash', 'dossier_key'):  # rewrites the table: the packing's dead rows go too
            op.alter_column('response', column, type_=sa.LargeBinary(), existing_type=sa.String(length=64),
                            postgresql_using=f"decode({column}, 'hex')")
    else:
        _pack_in_chunks(bind)
    op.create_index('ix_response_scope', 'response', ['unit_id', 'service_id', 'submitted_at'])
    op.execute(f"CREATE VIEW answer_value AS SELECT response_id, question_id, value_num, value_text FROM answer"
               f" UNION ALL {_decoded(dialect)}")


def _write_slots(bind: sa.Connection) -> None:
    versions = sa.table('questionnaire_version', sa.column('id', sa.Integer), sa.column('definition', sa.JSON))
    slot = sa.table('answer_slot', sa.column('questionnaire_version_id', sa.Integer),
                    sa.column('position', sa.Integer), sa.column('question_id', sa.String))
    rows: list[dict[str, object]] = []
    for version_id, definition in bind.execute(sa.select(versions.c.id, versions.c.definition)):
        numeric = [q['id'] for q in (definition or {}).get('questions', ()) if q.get('type') in NUMERIC_TYPES]
        rows.extend({'questionnaire_version_id': version_id, 'position': n, 'question_id': q}
                    for n, q in enumerate(numeric))
    if rows:
        bind.execute(slot.insert(), rows)


# Rows that can be packed: a number in a slot of the response's version, no text beside it.
_SLOTTED = """answer a JOIN response r ON r.id = a.response_id
  JOIN answer_slot s ON s.questionnaire_version_id = r.questionnaire_version_id AND s.question_id = a.question_id
  WHERE a.value_num IS NOT NULL AND a.value_text IS NULL"""
_MISFIT = "(a.value_num <> floor(a.value_num) OR a.value_num < 0 OR a.value_num > 254)"


def _pack_postgresql(bind: sa.Connection) -> None:
    """Pack in three statements: the responses that fit, their codes, the rows they replace."""
    bind.execute(sa.text(f"""
        CREATE TEMPORARY TABLE packable AS
        SELECT a.response_id AS id FROM {_SLOTTED} GROUP BY a.response_id HAVING NOT bool_or({_MISFIT})"""))
    bind.execute(sa.text("ALTER TABLE packable ADD PRIMARY KEY (id)"))
    bind.execute(sa.text("""
        UPDATE response SET codes = packed.codes FROM (
          SELECT p.id, string_agg(set_byte('\\x00'::bytea, 0, coalesce(a.value_num::int, 255)), ''::bytea
                                  ORDER BY s.position) AS codes
          FROM packable p JOIN response r ON r.id = p.id
          JOIN answer_slot s ON s.questionnaire_version_id = r.questionnaire_version_id
          LEFT JOIN answer a ON a.response_id = p.id AND a.question_id = s.question_id
                             AND a.value_num IS NOT NULL AND a.value_text IS NULL
          GROUP BY p.id) AS packed
        WHERE response.id = packed.id"""))
    bind.execute(sa.text("""
        DELETE FROM answer a USING packable p, response r, answer_slot s
        WHERE a.response_id = p.id AND r.id = p.id AND s.questionnaire_version_id = r.questionnaire_version_id
          AND s.question_id = a.question_id AND a.value_num IS NOT NULL AND a.value_text IS NULL"""))
    bind.execute(sa.text("DROP TABLE packable"))


def _pack_in_chunks(bind: sa.Connection) -> None:
    """Pack CHUNK responses at a time: read their slotted rows, write codes, delete the rows."""
    slots: dict[int, dict[str, int]] = {}
    for version_id, position, question_id in bind.execute(sa.text(
            "SELECT questionnaire_version_id, position, question_id FROM answer_slot")):
        slots.setdefault(version_id, {})[question_id] = position
    last = None
    while True:
        page = sa.text("SELECT DISTINCT a.response_id FROM " + _SLOTTED
                       + (" AND a.response_id > :last" if last is not None else "")
                       + " ORDER BY a.response_id LIMIT :n")
        ids = [row[0] for row in bind.execute(page, {'last': last, 'n': CHUNK})]
        if not ids:
            return
        last = ids[-1]
        found: dict[object, tuple[int, list[tuple[str, float]]]] = {}
        rows = bind.execute(sa.text("SELECT a.response_id, r.questionnaire_version_id, a.question_id, a.value_num FROM "
                                    + _SLOTTED + " AND a.response_id IN :ids").bindparams(
                                        sa.bindparam('ids', expanding=True)), {'ids': ids})
        for response_id, version_id, question_id, value in rows:
            found.setdefault(response_id, (version_id, []))[1].append((question_id, value))
        packed = []
        for response_id, (version_id, answers) in found.items():
            if not all(float(v).is_integer() and 0 <= v < NO_ANSWER for _q, v in answers):
                continue
            codes = bytearray([NO_ANSWER]) * len(slots[version_id])
            for question_id, value in answers:
                codes[slots[version_id][question_id]] = int(value)
            packed.append({'id': response_id, 'codes': bytes(codes)})
        if packed:
            bind.execute(sa.text("UPDATE response SET codes = :codes WHERE id = :id"), packed)
            bind.execute(sa.text(
                "DELETE FROM answer WHERE response_id IN :ids AND value_num IS NOT NULL AND value_text IS NULL"
                " AND question_id IN (SELECT s.question_id FROM answer_slot s JOIN response r"
                " ON r.questionnaire_version_id = s.questionnaire_version_id WHERE r.id = answer.response_id)"
            ).bindparams(sa.bindparam('ids', expanding=True)), {'ids': [p['id'] for p in packed]})


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.execute("DROP VIEW answer_value")
    op.execute(f"INSERT INTO answer (response_id, question_id, value_num, value_text) {_decoded(dialect)}")
    op.drop_table('answer_slot')
    op.drop_index('ix_response_scope', table_name='response')
    if dialect == 'postgresql':
        for column in ('payload_hash', 'dossier_key'):
            op.alter_column('response', column, type_=sa.String(length=64), existing_type=sa.LargeBinary(),
                            postgresql_using=f"encode({column}, 'hex')")
    op.create_index('ix_response_unit_id', 'response', ['unit_id'])
    op.create_index('ix_response_scope', 'response', ['questionnaire_id', 'unit_id', 'service_id', 'submitted_at'])
    # a plain ALTER on SQLite too (3.35+): a batch copy would drop the old table, and with it (foreign
    # keys on) every answer by cascade
    op.execute("ALTER TABLE response DROP COLUMN codes")
