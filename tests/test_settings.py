"""Typed settings, checked once at start-up (survey/config.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from survey import create_app
from survey.config import SETTINGS, ConfigError, finalize, from_environment, parse_value

BIN = Path(sys.executable).parent
SECRET = "0123456789" * 4  # production wants at least 32 bytes


def _env_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **env: str):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HAILONG_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("HAILONG_SECRET_KEY", SECRET)
    for name, value in env.items():
        monkeypatch.setenv(f"HAILONG_{name}", value)
    return create_app()


@pytest.mark.parametrize(("text", "expected"), [("False", False), ("false", False), ("0", False), ("no", False),
                                                ("True", True), ("on", True), ("1", True)])
def test_a_boolean_from_the_environment_means_what_it_says(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          text: str, expected: bool) -> None:
    app = _env_app(tmp_path, monkeypatch, KIOSK_REQUIRE_DEVICE=text)
    assert app.config["KIOSK_REQUIRE_DEVICE"] is expected


def test_numbers_and_lists_are_parsed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = _env_app(tmp_path, monkeypatch, KIOSK_BURST_COUNT="7", CONFIDENCE_LEVEL="0.9", LANGUAGES="vi, en",
                   SECRET_KEY=SECRET)
    assert app.config["KIOSK_BURST_COUNT"] == 7
    assert app.config["CONFIDENCE_LEVEL"] == 0.9
    assert app.config["LANGUAGES"] == ["vi", "en"]
    assert app.config["SECRET_KEY"] == SECRET  # text stays text, even when it looks like a number


@pytest.mark.parametrize(("name", "value", "message"), [
    ("KIOSK_BURST_COUNT", "five", "HAILONG_KIOSK_BURST_COUNT='five' is not a whole number (default: 5)."),
    ("KIOSK_BURST_COUNT", "-3", "HAILONG_KIOSK_BURST_COUNT='-3' is negative (default: 5)."),
    ("KIOSK_REQUIRE_DEVICE", "maybe", "HAILONG_KIOSK_REQUIRE_DEVICE='maybe' is not true or false (default: false)."),
    ("CONFIDENCE_LEVEL", "95", "HAILONG_CONFIDENCE_LEVEL='95' is not strictly between 0 and 1 (default: 0.95)."),
    ("DEFAULT_LANGUAGE", "fr", "HAILONG_DEFAULT_LANGUAGE='fr' is not one of vi, en (default: vi)."),
])
def test_an_ill_typed_value_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        _env_app(tmp_path, monkeypatch, **{name: value})
    assert str(refused.value) == message


def test_a_misspelt_setting_is_refused_with_the_likely_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="HAILONG_KIOSK_BURST_CONT is not a Hài Lòng setting; did you mean "
                                          "HAILONG_KIOSK_BURST_COUNT\\?"):
        _env_app(tmp_path, monkeypatch, KIOSK_BURST_CONT="5")
    assert from_environment({"HAILONG_TEST_PG": "x", "HAILONG_INSTANCE_PATH": "instance", "PATH": "/bin"}) == {}


def test_the_instance_file_and_test_config_are_checked_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAILONG_INSTANCE_PATH", str(tmp_path))
    (tmp_path / "hailong.cfg").write_text(f"SECRET_KEY = '{SECRET}'\nKIOSK_REQUIRE_DEVICE = 'true'\n", encoding="utf-8")
    assert create_app().config["KIOSK_REQUIRE_DEVICE"] is True
    with pytest.raises(ConfigError, match="HAILONG_API_BATCH_MAX='lots' is not a whole number"):
        create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite", "API_BATCH_MAX": "lots"})


def test_every_default_is_a_value_of_its_own_type(tmp_path: Path) -> None:
    config = {s.name: s.default for s in SETTINGS} | {"TESTING": True}
    finalize(config, tmp_path)
    for setting in SETTINGS:
        if setting.default is not None:
            assert parse_value(setting, config[setting.name]) == config[setting.name], setting.name
            assert isinstance(config[setting.name], setting.type), setting.name


@pytest.mark.parametrize("command", ["init-db", "serve"])
@pytest.mark.parametrize(("name", "value", "line"), [
    ("KIOSK_BURST_COUNT", "five", "Error: HAILONG_KIOSK_BURST_COUNT='five' is not a whole number (default: 5)."),
    ("KIOSK_REQUIRE_DEVICES", "true", "Error: HAILONG_KIOSK_REQUIRE_DEVICES is not a Hài Lòng setting; "
                                      "did you mean HAILONG_KIOSK_REQUIRE_DEVICE?"),
])
def test_serve_and_init_db_stop_with_one_clear_line(tmp_path: Path, command: str, name: str, value: str,
                                                   line: str) -> None:
    env = {"PATH": str(BIN), "HAILONG_INSTANCE_PATH": str(tmp_path), "HAILONG_ENV": "demo", f"HAILONG_{name}": value,
           **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"}}
    out = subprocess.run([BIN / "hailong", command, *(["--port", "0"] if command == "serve" else [])],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [line]
    assert not (tmp_path / "hailong.sqlite").exists()  # stopped before touching the database
