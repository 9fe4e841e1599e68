"""Settings come from the environment, are checked once, and a wrong one is named in one line."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from aurum.settings import Environment, Settings, SettingsError, load_settings

OWN_VARIABLES = ("DATABASE_URL", "REDIS_URL")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No setting leaks in from the environment the tests run in; the data directory is a fresh one."""
    for name in list(os.environ):
        if name.startswith("AURUM_") or name in OWN_VARIABLES:
            monkeypatch.delenv(name)
    monkeypatch.setenv("AURUM_DATA_DIR", str(tmp_path / "data"))


def names(message: str, setting: str) -> bool:
    """Whether ``message`` names ``setting`` as a whole word (not as part of a longer name)."""
    return re.search(rf"(?<![A-Za-z0-9_]){setting}(?![A-Za-z0-9_])", message) is not None


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings()
    assert settings.env is Environment.DEVELOPMENT
    assert settings.is_development
    assert settings.database_url is None
    assert settings.redis_url is None
    assert settings.data_dir == tmp_path / "data"


@pytest.mark.parametrize("variable", ["AURUM_DATABASE_URL", "DATABASE_URL"])
@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            "postgres://me:pw@db.example.com:5432/aurum",
            "postgresql+asyncpg://me:pw@db.example.com:5432/aurum",
        ),
        ("postgresql://me@db/aurum?sslmode=require", "postgresql+asyncpg://me@db/aurum?sslmode=require"),
        ("postgresql+asyncpg://me@db/aurum", "postgresql+asyncpg://me@db/aurum"),
    ],
)
def test_database_url_is_read_and_normalised(
    monkeypatch: pytest.MonkeyPatch, variable: str, given: str, expected: str
) -> None:
    monkeypatch.setenv(variable, given)
    assert load_settings().database_url == expected


def test_aurum_variable_wins_over_the_plain_alias(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://plain/db")
    monkeypatch.setenv("AURUM_DATABASE_URL", "postgresql://aurum/db")
    assert load_settings().database_url == "postgresql+asyncpg://aurum/db"


@pytest.mark.parametrize("variable", ["AURUM_REDIS_URL", "REDIS_URL"])
def test_redis_url_is_read(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.setenv(variable, "redis://cache:6379/2")
    assert load_settings().redis_url == "redis://cache:6379/2"


@pytest.mark.parametrize("variable", ["AURUM_DATABASE_URL", "DATABASE_URL"])
def test_a_database_url_of_another_kind_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "mysql://me@db/aurum")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    message = str(raised.value)
    assert "\n" not in message
    assert names(message, "AURUM_DATABASE_URL"), message


@pytest.mark.parametrize(
    ("variable", "value"),
    [("AURUM_REDIS_URL", "http://cache"), ("AURUM_MAX_QUERY_DEPTH", "1"), ("AURUM_LOG_LEVEL", "LOUD")],
)
def test_other_bad_settings_are_named(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert names(str(raised.value), variable), str(raised.value)


def test_production_needs_a_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AURUM_ENV", "production")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert str(raised.value).startswith("invalid setting AURUM_SECRET_KEY: is required"), str(raised.value)
    key = secrets.token_urlsafe(48)
    monkeypatch.setenv("AURUM_SECRET_KEY", key)
    settings = load_settings()
    assert not settings.is_development
    assert settings.signing_key == key


@pytest.mark.parametrize(
    "key",
    [" " * 32, "s" * 40, "abcd" * 8, "passwordpasswordpasswordpassword", "correct horse battery staple 1234"],
)
def test_a_secret_key_easy_to_guess_is_refused(monkeypatch: pytest.MonkeyPatch, key: str) -> None:
    monkeypatch.setenv("AURUM_SECRET_KEY", key)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    message = str(raised.value)
    assert message.startswith("invalid setting AURUM_SECRET_KEY: is too easy to guess"), message
    assert "secrets.token_urlsafe" in message


@pytest.mark.parametrize("key", [secrets.token_hex(16), secrets.token_urlsafe(32), secrets.token_urlsafe(64)])
def test_a_random_secret_key_is_taken(monkeypatch: pytest.MonkeyPatch, key: str) -> None:
    monkeypatch.setenv("AURUM_SECRET_KEY", key)
    assert load_settings().signing_key == key


def test_a_short_secret_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AURUM_SECRET_KEY", "too-short")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert names(str(raised.value), "AURUM_SECRET_KEY"), str(raised.value)


def test_development_generates_the_secret_key_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    key_file = data_dir / "secret_key"
    assert not key_file.exists()
    first = load_settings().signing_key
    assert len(first) >= 32
    assert key_file.read_text().strip() == first
    assert key_file.stat().st_mode & 0o077 == 0, "the key file must be private"
    assert load_settings().signing_key == first, "a second start must reuse the stored key"
    assert Settings(data_dir=tmp_path / "elsewhere").signing_key != first


def test_cli_reports_a_bad_setting_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AURUM_") and k not in OWN_VARIABLES}
    env |= {"AURUM_ENV": "bogus", "AURUM_DATA_DIR": str(tmp_path / "data")}
    aurum = Path(sys.executable).with_name("aurum")
    result = subprocess.run(
        [str(aurum), "export-schema"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert names(lines[0], "AURUM_ENV"), lines[0]
    assert "Traceback" not in result.stderr
