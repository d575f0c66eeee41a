"""Reading questionnaire files: YAML with line numbers, and ``extends`` / ``include``.

Every error names the file and the line (:class:`QuestionnaireError`). Sharing without
copy-paste:

* ``extends: other.yaml`` starts from another questionnaire file of the library and changes only
  what differs: top-level fields given here replace the base's, ``choice_lists`` and ``sections``
  are merged by name, and each entry of ``questions`` either changes the base question with the
  same id (only the fields given), removes it (``remove: true``), or adds a new question after
  ``after:`` (or at the end).
* ``include: [shared/demographics.yaml]`` appends the choice lists, sections and questions of a
  fragment file (a fragment is not a questionnaire by itself; fragments live in ``library/shared``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from questionnaires.schema import EXTENDS_QUESTION_FIELDS, FRAGMENT_FIELDS, QUESTION_FIELDS

__all__ = ["QuestionnaireError", "at", "resolve_file"]


class QuestionnaireError(ValueError):
    """A questionnaire definition is invalid; the message names the file and the question."""


# -- YAML with line numbers -----------------------------------------------------------------


class _Located(dict[str, Any]):
    """A mapping that remembers the line it started on in its file."""

    line: int = 0


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _Located:
    loader.flatten_mapping(node)
    out = _Located()
    out.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in out:
            raise QuestionnaireError(
                f"{Path(node.start_mark.name).name}:{key_node.start_mark.line + 1}: duplicate key {key!r}"
            )
        out[key] = loader.construct_object(value_node, deep=True)
    return out


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise QuestionnaireError(f"{path.name}: cannot be read: {exc.strerror}") from exc
    except UnicodeDecodeError:
        raise QuestionnaireError(f"{path.name}: is not UTF-8 text") from None
    try:
        loader = _LineLoader(text)
        loader.name = str(path)
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise QuestionnaireError(f"{path.name}{line}: not valid YAML: {problem}") from exc


def _at(name: str, node: Any) -> str:
    line = getattr(node, "line", 0)
    return f"{name}:{line}" if line else name


# -- extends / include ----------------------------------------------------------------------


def _resolve(path: Path, data: Any, seen: tuple[Path, ...] = ()) -> Any:
    """Apply ``include`` and ``extends`` so that ``data`` is one self-contained definition."""
    name = path.name
    if not isinstance(data, Mapping):
        raise QuestionnaireError(f"{name}: the file must contain a mapping")
    if path.resolve() in seen:
        chain = " → ".join(p.name for p in (*seen, path))
        raise QuestionnaireError(f"{name}: 'extends'/'include' form a cycle: {chain}")
    seen = (*seen, path.resolve())
    data = _Located(data) if not isinstance(data, _Located) else data
    lists = dict(data.get("choice_lists") or {})
    sections = list(data.get("sections") or [])
    questions: list[Any] = []
    items = list(data.get("questions") or [])
    items += [_Located({"include": f}) for f in _as_list(data.get("include"), f"{_at(name, data)}: include")]
    for item in items:
        if not (isinstance(item, Mapping) and "include" in item):
            questions.append(item)
            continue
        if set(item) != {"include"}:
            raise QuestionnaireError(f"{_at(name, item)}: an 'include' entry takes no other field")
        for fragment_name in _as_list(item["include"], f"{_at(name, item)}: include"):
            fragment_path = _sibling(path, fragment_name, name)
            fragment = _read_yaml(fragment_path)
            if not isinstance(fragment, Mapping):
                raise QuestionnaireError(f"{fragment_path.name}: a fragment must contain a mapping")
            unknown = set(fragment) - FRAGMENT_FIELDS
            if unknown:
                raise QuestionnaireError(
                    f"{fragment_path.name}: unknown field(s) {', '.join(sorted(map(str, unknown)))} "
                    f"(a fragment may have {', '.join(sorted(FRAGMENT_FIELDS))})"
                )
            fragment = _resolve(fragment_path, fragment, seen)
            for list_name, choices in (fragment.get("choice_lists") or {}).items():
                lists.setdefault(list_name, choices)
            known = {s.get("id") for s in sections if isinstance(s, Mapping)}
            sections += [s for s in fragment.get("sections") or [] if not (isinstance(s, Mapping) and s.get("id") in known)]
            questions += _tag(list(fragment.get("questions") or []), fragment_path)
    line = data.line
    data = _Located({k: v for k, v in data.items() if k != "include"})
    data.line = line
    if lists:
        data["choice_lists"] = lists
    if sections:
        data["sections"] = sections
    if "questions" in data or questions:
        data["questions"] = questions
    base_name = data.get("extends")
    if base_name is None:
        return data
    base_path = _sibling(path, base_name, name)
    base = _resolve(base_path, _read_yaml(base_path), seen)
    return _merge(base, data, name, base_path.name)


def _tag(questions: list[Any], path: Path) -> list[Any]:
    """Remember which fragment a question came from, for error messages."""
    for q in questions:
        if isinstance(q, _Located) and not hasattr(q, "origin"):
            q.origin = path.name  # type: ignore[attr-defined]
    return questions


def _as_list(raw: Any, where: str) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list) and all(isinstance(x, str) for x in raw):
        return list(raw)
    raise QuestionnaireError(f"{where}: expected a file name or a list of file names, got {raw!r}")


def _sibling(path: Path, other: Any, name: str) -> Path:
    if not isinstance(other, str) or not other.endswith((".yaml", ".yml")):
        raise QuestionnaireError(f"{name}: expected a .yaml file name, got {other!r}")
    target = (path.parent / other).resolve()
    if not target.is_file():
        raise QuestionnaireError(f"{name}: {other!r} does not exist next to this file")
    return target


def _merge(base: Mapping[str, Any], child: Mapping[str, Any], name: str, base_name: str) -> _Located:
    out = _Located({k: v for k, v in base.items()})
    out.line = getattr(child, "line", 0)
    for key, value in child.items():
        if key in {"extends", "questions", "choice_lists", "sections"}:
            continue
        out[key] = value
    out["choice_lists"] = {**(base.get("choice_lists") or {}), **(child.get("choice_lists") or {})}
    sections = {s["id"]: s for s in base.get("sections") or [] if isinstance(s, Mapping) and "id" in s}
    for s in child.get("sections") or []:
        if isinstance(s, Mapping) and "id" in s:
            sections[s["id"]] = s
    out["sections"] = list(sections.values())
    questions: list[Any] = list(base.get("questions") or [])
    index = {q.get("id"): i for i, q in enumerate(questions) if isinstance(q, Mapping)}
    for change in child.get("questions") or []:
        where = f"{_at(name, change)}: question {change.get('id') if isinstance(change, Mapping) else change!r}"
        if not isinstance(change, Mapping) or "id" not in change:
            raise QuestionnaireError(f"{where}: each entry needs an 'id'")
        qid = change["id"]
        unknown = sorted(str(k) for k in change if k not in QUESTION_FIELDS | EXTENDS_QUESTION_FIELDS)
        if unknown:
            raise QuestionnaireError(f"{where}: unknown field(s) {', '.join(unknown)}")
        if change.get("remove"):
            if qid not in index:
                raise QuestionnaireError(f"{where}: cannot remove it, {base_name} has no such question")
            questions = [q for q in questions if not (isinstance(q, Mapping) and q.get("id") == qid)]
        elif qid in index and "after" not in change and "before" not in change:
            i = next(i for i, q in enumerate(questions) if isinstance(q, Mapping) and q.get("id") == qid)
            merged = _Located({**questions[i], **dict(change.items())})
            merged.line = getattr(change, "line", 0)
            questions[i] = merged
        else:
            if qid in index:
                raise QuestionnaireError(f"{where}: {base_name} already has this question; leave out 'after'/'before' to change it")
            new = _Located({k: v for k, v in change.items() if k not in EXTENDS_QUESTION_FIELDS})
            new.line = getattr(change, "line", 0)
            anchor = change.get("after", change.get("before"))
            if anchor is None:
                questions.append(new)
            else:
                pos = next((i for i, q in enumerate(questions) if isinstance(q, Mapping) and q.get("id") == anchor), None)
                if pos is None:
                    raise QuestionnaireError(f"{where}: '{'after' if 'after' in change else 'before'}: {anchor}' names no question of the questionnaire")
                questions.insert(pos + (1 if "after" in change else 0), new)
        index = {q.get("id"): i for i, q in enumerate(questions) if isinstance(q, Mapping)}
    out["questions"] = questions
    out["based_on"] = base_name
    return out


def resolve_file(path: Path) -> Any:
    """The definition in ``path`` with ``extends``/``include`` applied (plain data)."""
    path = Path(path)
    return _resolve(path, _read_yaml(path))


at = _at
