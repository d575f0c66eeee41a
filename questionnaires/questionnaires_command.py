"""``hailong questionnaires ...``: list, validate, export to and import from XLSForm.

Registered on the ``hailong`` command by ``survey/commands.py``. Needs no database and no app.
Bad input (an unreadable or refused workbook, an unknown questionnaire) is one clear line per
problem and exit status 2, never a traceback; ``import-xlsform`` exits 1 without writing anything
when the import would leave something out, unless ``--allow-partial`` is given. Messages are in
Vietnamese unless ``--language en`` (or ``HAILONG_DEFAULT_LANGUAGE=en``).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import click
import yaml

from questionnaires.loader import QuestionnaireError, load_file, load_library
from questionnaires.model import Questionnaire


def _find(questionnaire_id: str, version: str | None) -> Questionnaire:
    from questionnaires.loader import latest_versions

    library = load_library()
    if version is not None:
        found = library.get((questionnaire_id, version))
        if found is None:
            _fail(f"no questionnaire {questionnaire_id!r} version {version!r} in the library")
        return found
    latest = latest_versions(library).get(questionnaire_id)
    if latest is None:
        known = ", ".join(sorted({q.id for q in library.values()}))
        _fail(f"no questionnaire {questionnaire_id!r} in the library (known: {known})")
    return latest


def _fail(*lines: str) -> NoReturn:
    """Bad input: one line per problem on standard error, exit status 2."""
    for line in lines:
        click.echo(f"error: {line}", err=True)
    raise SystemExit(2)


def _default_language() -> str:
    language = os.environ.get("HAILONG_DEFAULT_LANGUAGE", "vi")
    return language if language in {"vi", "en"} else "vi"


_LANGUAGE = click.option("--language", type=click.Choice(["vi", "en"]), default=_default_language, show_default="vi",
                         help="Language of the messages (default: HAILONG_DEFAULT_LANGUAGE, else Vietnamese).")


@click.group("questionnaires")
def questionnaires_group() -> None:
    """Questionnaire library: list, validate, XLSForm export and import."""


@questionnaires_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array instead of a table.")
def list_command(as_json: bool) -> None:
    """List every questionnaire version: id, version, languages, number of items."""
    try:
        library = load_library()
    except QuestionnaireError as exc:
        _fail(str(exc))
    rows: list[dict[str, Any]] = [
        {
            "id": q.id,
            "version": q.version,
            "title": q.title.get("vi"),
            "title_en": q.title.get("en"),
            "kind": q.kind,
            "languages": list(q.languages),
            "items": len(q.active_questions()),
            "scored_items": len(q.scored_questions()),
            "content_hash": q.content_hash,
            "based_on": q.based_on,
        }
        for q in sorted(library.values(), key=lambda q: q.key)
    ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    click.echo(f"{'id':<24} {'version':<9} {'languages':<10} {'items':>5} {'scored':>6}  title")
    for r in rows:
        click.echo(f"{r['id']:<24} {r['version']:<9} {','.join(r['languages']):<10} {r['items']:>5} "
                   f"{r['scored_items']:>6}  {r['title']}")


@questionnaires_group.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def validate_command(paths: tuple[Path, ...]) -> None:
    """Check questionnaire files (or every .yaml in a folder); exit 1 naming each problem."""
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.glob("*.yaml")) if path.is_dir() else [path])
    failed = 0
    for path in files:
        try:
            q = load_file(path)
        except QuestionnaireError as exc:
            failed += 1
            click.echo(f"error: {exc}", err=True)
            continue
        click.echo(f"ok: {path.name}: {q.id} {q.version}, {len(q.active_questions())} items, hash {q.content_hash[:12]}")
    if failed:
        raise SystemExit(1)


@questionnaires_group.command("export-xlsform")
@click.argument("questionnaire_id")
@click.argument("out", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@click.option("--version", default=None, help="Version to export (default: the newest).")
def export_command(questionnaire_id: str, out: Path, version: str | None) -> None:
    """Write a questionnaire as an XLSForm workbook for ODK Collect or KoboToolbox (OUT '-' is
    standard output). Sections become XLSForm groups."""
    from questionnaires.xlsform import to_xlsx_bytes

    q = _find(questionnaire_id, version)
    data = to_xlsx_bytes(q)
    if str(out) == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        out.write_bytes(data)
    except OSError as exc:
        _fail(f"{out}: cannot be written: {exc.strerror}")
    click.echo(f"{q.id} {q.version} → {out}", err=True)


@questionnaires_group.command("import-xlsform")
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--out", "--output", "output", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
              default=None, help="Write the YAML definition here ('-' or nothing: standard output).")
@click.option("--allow-partial", is_flag=True,
              help="Write the definition even when something of the workbook is left out (listed on stderr).")
@_LANGUAGE
def import_command(source: Path, output: Path | None, allow_partial: bool, language: str) -> None:
    """Read an XLSForm (.xlsx, .xls or .csv) into a YAML definition; list, row by row, what was
    changed or left out. Exit 2 if the workbook is refused, 1 if something would be left out."""
    from questionnaires.xlsform import XLSFormError, import_xlsform

    try:
        data = source.read_bytes()
    except OSError as exc:
        _fail(f"{source}: {exc.strerror}")
    try:
        result = import_xlsform(data, name=source.name)
    except XLSFormError as exc:
        _fail(*(f"{source.name}: {m}" for m in exc.messages(language)))
    for problem in result.report:
        tag = {"left_out": ("bỏ", "left out"), "changed": ("đổi", "changed")}[problem.kind][language == "en"]
        click.echo(f"{tag}: {problem.message(language)}", err=True)
    if result.left_out and not allow_partial:
        click.echo(("{n} mục không giữ được; không ghi gì. Chạy lại với --allow-partial để vẫn ghi."
                    if language == "vi" else
                    "{n} thing(s) would be left out; nothing written. Run again with --allow-partial to write anyway."
                    ).format(n=len(result.left_out)), err=True)
        raise SystemExit(1)
    text = yaml.safe_dump(result.definition, allow_unicode=True, sort_keys=False, width=100)
    if output is None or str(output) == "-":
        click.echo(text, nl=False)
    else:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            _fail(f"{output}: cannot be written: {exc.strerror}")
        click.echo(f"{result.questionnaire.id} {result.questionnaire.version} → {output}", err=True)
    if not result.report:
        click.echo("đã giữ mọi thứ trong tệp" if language == "vi" else "everything in the workbook was kept", err=True)


def main() -> None:  # pragma: no cover - ``python -m questionnaires.questionnaires_command``
    questionnaires_group(prog_name="questionnaires", args=sys.argv[1:])


if __name__ == "__main__":  # pragma: no cover
    main()
