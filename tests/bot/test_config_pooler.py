"""CUNBOT_DB_POOLER: the setting that makes the engine safe behind PgBouncer."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_config

PG = "postgresql+asyncpg://cunbot@127.0.0.1:6432/cunbot"


def test_no_pooler_is_assumed_unless_the_setting_names_one(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.delenv("CUNBOT_DB_POOLER", raising=False)
    config = load_config(database_url=PG)
    assert config.core.db_pooler == "none"
    assert config.core.behind_pooler is False


def test_pgbouncer_from_the_environment_marks_the_database_as_behind_a_pooler(
    monkeypatch, tmp_path
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CUNBOT_DB_POOLER", "pgbouncer")
    assert load_config(database_url=PG).core.behind_pooler is True


def test_an_unknown_pooler_is_refused_naming_the_setting(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CUNBOT_DB_POOLER", "pgpool")
    with pytest.raises(ConfigError, match=r"^配置错误 CUNBOT_DB_POOLER: "):
        load_config(database_url=PG)


def test_a_pooler_in_front_of_sqlite_is_refused_naming_the_setting(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CUNBOT_DB_POOLER", "pgbouncer")
    with pytest.raises(ConfigError, match=r"^配置错误 CUNBOT_DB_POOLER: .*PostgreSQL"):
        load_config(database_url="sqlite+aiosqlite:///./var/cunbot.sqlite3")
