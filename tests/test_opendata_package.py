"""The Frictionless Data Package of a release, from a hand-built snapshot (SNAPSHOT.md's sketch).

Checked with the real ``frictionless validate`` (PyPI frictionless), pinned by golden files,
and read back cell by cell against the snapshot it came from.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from survey.portal.datapackage import data_package, index_id

FIXTURES = Path(__file__).parent / "fixtures" / "opendata"
GOLDEN = FIXTURES / "golden"
UPDATE = os.environ.get("HAILONG_UPDATE_GOLDEN") == "1"  # regenerate on purpose, then review the diff


def snapshot() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / "snapshot.json").read_text(encoding="utf-8"))
    return loaded


def frictionless_validate(descriptor: Path) -> dict[str, Any]:
    """Run the ``frictionless validate`` command (as a user would) and return its JSON report."""
    done = subprocess.run(  # noqa: S603 - our own interpreter and a path we wrote
        [sys.executable, "-m", "frictionless", "validate", "--json", str(descriptor)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    report: dict[str, Any] = json.loads(done.stdout)
    assert (done.returncode == 0) == report["valid"], done.stderr
    return report


def write(files: dict[str, bytes], root: Path) -> Path:
    for path, body in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(body)
    return root / "datapackage.json"


def rows(body: bytes) -> list[dict[str, str]]:
    assert body.startswith("\ufeff".encode()), "CSV files start with a byte-order mark, for Excel"
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def test_the_package_passes_frictionless_validate(tmp_path: Path) -> None:
    package = data_package(snapshot())
    report = frictionless_validate(write(dict(package.files), tmp_path))
    assert report["valid"], json.dumps(report["tasks"], ensure_ascii=False)[:2000]
    names = {task["name"] for task in report["tasks"]}
    assert names == {"units", "services", "indices", "elements", "distribution", "rankings", "trend", "admin_index"}


def test_frictionless_catches_a_broken_package(tmp_path: Path) -> None:
    """The validation above can fail: a unit code that is not in units.csv breaks a foreign key."""
    files = dict(data_package(snapshot()).files)
    files["data/indices.csv"] = files["data/indices.csv"].replace(b",sipas-kiosk,96-01-03,", b",sipas-kiosk,96-99-99,")
    report = frictionless_validate(write(files, tmp_path))
    assert not report["valid"]
    assert any(e["type"] == "foreign-key" for task in report["tasks"] for e in task["errors"])


def test_the_descriptor_names_licence_sources_and_methodology() -> None:
    descriptor = data_package(snapshot(), license_name="CC-BY-4.0", publisher="Sở Nội vụ tỉnh Cà Mau").descriptor
    assert descriptor["name"] == "hailong-96-2026-q3-v2"
    assert descriptor["licenses"] == [{"name": "CC-BY-4.0", "title": "Creative Commons Attribution 4.0",
                                       "path": "https://creativecommons.org/licenses/by/4.0/"}]
    assert descriptor["methodology_version"] == "2026.1"
    assert descriptor["sources"] and "sipas-kiosk" in descriptor["sources"][0]["title"]
    assert descriptor["contributors"] == [{"title": "Sở Nội vụ tỉnh Cà Mau", "role": "publisher"}]
    assert descriptor["hailong"]["changelog"][-1]["text"].startswith("Phiên bản 2")
    indices = next(r for r in descriptor["resources"] if r["name"] == "indices")
    fields = {f["name"]: f for f in indices["schema"]["fields"]}
    assert fields["estimate"]["type"] == "number" and fields["estimate"]["constraints"] == {"minimum": 0, "maximum": 1}
    assert fields["suppressed"]["type"] == "boolean"
    assert indices["schema"]["primaryKey"] == ["id"]


def test_every_number_is_the_snapshots_and_small_cells_are_empty() -> None:
    snap = snapshot()
    package = data_package(snap)
    indices = {row["id"]: row for row in rows(package.files["data/indices.csv"])}
    assert len(indices) == len(snap["indices"])
    for index in snap["indices"]:
        row = indices[index_id(snap, index)]
        assert row["n"] == str(index["n"])
        if index["suppressed"]:
            assert row["suppressed"] == "true"
            assert row["estimate"] == row["ci_low"] == row["ci_high"] == row["n_eff"] == ""
        else:
            assert row["suppressed"] == "false"
            assert float(row["estimate"]) == index["overall"]["estimate"]
            assert float(row["ci_low"]) == index["overall"]["ci_low"]
    province = indices["96-2026-Q3:sipas-kiosk:96:all"]
    assert (province["previous_period"], province["change_significant"], province["target"]) == ("2026-Q2", "true", "0.9")
    counts = [r for r in rows(package.files["data/distribution.csv"]) if r["index_id"].endswith(":96-02-01:all")]
    assert [r["count"] for r in counts] == [""] * 5 and {r["suppressed"] for r in counts} == {"true"}
    ranks = {r["unit"]: r for r in rows(package.files["data/rankings.csv"])}
    assert (ranks["96-01-02"]["rank"], ranks["96-01-02"]["rank_low"], ranks["96-01-02"]["rank_high"]) == ("1", "1", "2")
    assert ranks["96-02-01"]["rank"] == "" and ranks["96-02-01"]["suppressed"] == "true"
    units = rows(package.files["data/units.csv"])
    assert units[4]["name"] == "Xã Tắc Vân"  # UTF-8 Vietnamese, NFC


def test_stable_ids_do_not_change_between_versions() -> None:
    first, second = snapshot(), snapshot()
    first["release"] = {**first["release"], "id": 11, "version": 1}
    ids = [[r["id"] for r in rows(data_package(s).files["data/indices.csv"])] for s in (first, second)]
    assert ids[0] == ids[1]
    assert data_package(first).name != data_package(second).name


@pytest.mark.parametrize("path", ["datapackage.json", "data/indices.csv", "data/rankings.csv", "data/admin_index.csv"])
def test_golden_files(path: str) -> None:
    """The published bytes must not change without a reviewed golden file."""
    body = data_package(snapshot(), publisher="Sở Nội vụ tỉnh Cà Mau").files[path]
    golden = GOLDEN / path.replace("/", "__")
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_bytes(body)
    assert body == golden.read_bytes()


def test_the_zip_holds_the_same_files_and_is_reproducible() -> None:
    package = data_package(snapshot())
    archive = zipfile.ZipFile(io.BytesIO(package.zip()))
    assert sorted(archive.namelist()) == sorted(f"{package.name}/{p}" for p in package.files)
    assert archive.read(f"{package.name}/data/indices.csv") == package.files["data/indices.csv"]
    assert package.zip() == data_package(snapshot()).zip()
