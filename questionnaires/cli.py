"""``hailong questionnaires ...``: list, validate, export to and import from XLSForm.

Registered on the ``hailong`` command by ``survey/commands.py``. Needs no database and no app.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

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
            raise click.ClickException(f"no questionnaire {questionnaire_id!r} version {version!r} in the library")
        return found
    latest = latest_versions(library).get(questionnaire_id)
    if latest is None:
        known = ", ".join(sorted({q.id for q in library.values()}))
        raise click.ClickException(f"no questionnaire {questionnaire_id!r} in the library (known: {known})")
    return latest


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
        raise click.ClickException(str(exc)) from None
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
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--version", default=None, help="Version to export (default: the newest).")
def export_command(questionnaire_id: str, out: Path, version: str | None) -> None:
    """Write a questionnaire as an XLSForm workbook for ODK Collect or KoboToolbox."""
    from questionnaires.xlsform import export_xlsform

    q = _find(questionnaire_id, version)
    export_xlsform(q, out)
    click.echo(f"{q.id} {q.version} → {out}")


@questionnaires_group.command("import-xlsform")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the YAML definition here (default: print it).")
def import_command(source: Path, output: Path | None) -> None:
    """Read an XLSForm workbook into a YAML definition; report what cannot be represented."""
    from questionnaires.xlsform import import_xlsform

    try:
        result = import_xlsform(source)
    except (QuestionnaireError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    text = yaml.safe_dump(result.definition, allow_unicode=True, sort_keys=False, width=100)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"{result.questionnaire.id} {result.questionnaire.version} → {output}", err=True)
    for line in result.report:
        click.echo(f"not kept: {line}", err=True)
    if not result.report:
        click.echo("everything in the workbook was kept", err=True)


def main() -> None:  # pragma: no cover - ``python -m questionnaires.cli``
    questionnaires_group(prog_name="questionnaires", args=sys.argv[1:])


if __name__ == "__main__":  # pragma: no cover
    main()
