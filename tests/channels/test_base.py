"""The pieces every channel shares (bot/channels/{split,order,ingest,base}.py), the channel
registry as configuration sees it, and structured log extras."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from bot.channels import texts
from bot.channels.base import wait_for
from bot.channels.ingest import PhotoRefused, ingest_photo
from bot.channels.order import KeyedLocks
from bot.channels.registry import CHANNELS, NAMES
from bot.channels.split import split_bytes, split_chars, too_long
from bot.config import ConfigError, load_config
from bot.logs import JsonFormatter
from core.messages import MAX_TEXT
from services.media_store.local import LocalStore
from tests.fakes.harness import jpeg_bytes


def test_the_length_check_allows_exactly_the_limit():
    assert not too_long("长" * MAX_TEXT)
    assert too_long("长" * (MAX_TEXT + 1))
    assert str(MAX_TEXT) in texts.TOO_LONG


def test_byte_splitting_keeps_every_piece_within_the_limit_and_prefers_line_breaks():
    text = "\n".join(f"第{i}行：村务公开" for i in range(200))
    pieces = split_bytes(text, 256)
    assert len(pieces) > 1
    assert all(len(p.encode()) <= 256 for p in pieces)
    # Cut at line breaks: no line is broken in two, and nothing is lost.
    assert "\n".join(pieces).split("\n") == text.split("\n")


def test_byte_splitting_cuts_one_very_long_line_by_characters():
    line = "长" * 1000  # 3 bytes each
    pieces = split_bytes(line, 100)
    assert all(0 < len(p.encode()) <= 100 for p in pieces)
    assert "".join(pieces) == line


def test_splitting_a_short_or_empty_text_gives_one_piece():
    assert split_bytes("", 10) == [""]
    assert split_bytes("好", 10) == ["好"]
    assert split_chars("abc", 3) == ["abc"]
    assert split_chars("abcdefg", 3) == ["abc", "def", "g"]


async def test_one_keys_holders_run_in_arrival_order_and_others_do_not_wait():
    locks = KeyedLocks()
    order: list[str] = []
    release = asyncio.Event()

    async def first() -> None:
        async with locks.hold("u1"):
            order.append("first start")
            await release.wait()
            order.append("first end")

    async def later(name: str, key: str) -> None:
        async with locks.hold(key):
            order.append(name)

    tasks = [asyncio.create_task(first())]
    await asyncio.sleep(0)
    tasks += [asyncio.create_task(later("second", "u1")), asyncio.create_task(later("other", "u2"))]
    await asyncio.sleep(0.01)
    assert order == ["first start", "other"]  # u2 did not wait for u1
    release.set()
    # A newcomer while "second" is still queued must queue behind it, not get a fresh lock.
    await asyncio.sleep(0)
    tasks.append(asyncio.create_task(later("third", "u1")))
    await asyncio.gather(*tasks)
    assert order == ["first start", "other", "first end", "second", "third"]
    assert len(locks) == 0  # nobody holds or waits: the map is empty again


async def test_the_shutdown_wait_waits_for_quick_work_and_cancels_slow_work_when_asked():
    quick = asyncio.create_task(asyncio.sleep(0.01))
    slow = asyncio.create_task(asyncio.sleep(30))
    assert await wait_for({quick, slow}, 0.2) == 1
    assert quick.done() and not slow.done()  # without cancel, the slow one keeps running
    assert await wait_for({slow}, 0.01, cancel=True) == 1
    await asyncio.sleep(0)
    assert slow.cancelled()
    assert await wait_for(set(), 1.0) == 0


async def test_photo_ingest_refuses_an_announced_oversize_photo_without_downloading(tmp_path):
    calls = []

    async def download() -> bytes:
        calls.append(1)
        return jpeg_bytes()

    with pytest.raises(PhotoRefused) as refused:
        await ingest_photo(LocalStore(tmp_path), download, size=11 * 1024 * 1024)
    assert refused.value.text == texts.PHOTO_TOO_BIG and refused.value.status == 413
    assert calls == []


async def test_photo_ingest_maps_listed_download_errors_to_a_notice_and_lets_others_through(
    tmp_path,
):
    async def broken() -> bytes:
        raise ConnectionError("reset")

    with pytest.raises(PhotoRefused) as refused:
        await ingest_photo(LocalStore(tmp_path), broken, notice_on=(ConnectionError,))
    assert refused.value.text == texts.PHOTO_DOWNLOAD_FAILED
    with pytest.raises(ConnectionError):  # WeCom: the callback answers 503 and is retried
        await ingest_photo(LocalStore(tmp_path), broken)


async def test_photo_ingest_stores_a_real_photo_and_refuses_other_bytes(tmp_path):
    async def photo() -> bytes:
        return jpeg_bytes()

    async def not_a_photo() -> bytes:
        return b"GIF89a not accepted"

    stored = await ingest_photo(LocalStore(tmp_path), photo)
    assert (tmp_path / stored.path).is_file() and stored.mime == "image/jpeg"
    with pytest.raises(PhotoRefused) as refused:
        await ingest_photo(LocalStore(tmp_path), not_a_photo)
    assert refused.value.status == 415 and "JPG" in refused.value.text


def test_the_registry_names_each_channel_once_with_its_environment_prefix():
    assert NAMES == ("webchat", "wecom", "telegram", "dingtalk")
    assert {e.name: e.env_prefix for e in CHANNELS} == {
        "webchat": "CUNBOT_",
        "wecom": "CUNBOT_WECOM_",
        "telegram": "CUNBOT_TELEGRAM_",
        "dingtalk": "CUNBOT_DINGTALK_",
    }


def test_config_errors_name_the_variable_of_a_channel_section(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.setenv("CUNBOT_TELEGRAM_MODE", "carrier-pigeon")
    with pytest.raises(ConfigError, match=r"^配置错误 CUNBOT_TELEGRAM_MODE: "):
        load_config()
    monkeypatch.delenv("CUNBOT_TELEGRAM_MODE")
    monkeypatch.setenv("CUNBOT_WECOM_CORP_ID", "ww1")
    monkeypatch.setenv("CUNBOT_WECOM_AES_KEY", "short")
    with pytest.raises(ConfigError, match=r"^配置错误 CUNBOT_WECOM_AES_KEY: "):
        load_config()


def test_push_channel_accepts_the_registered_channels_only(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name in ("last", *NAMES):
        assert load_config(push_channel=name).rules.push_channel == name
    with pytest.raises(ConfigError, match=r"^配置错误 CUNBOT_PUSH_CHANNEL: .*telegram"):
        load_config(push_channel="fax")


def test_unconfigured_channels_are_disabled(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for var in ("CUNBOT_WECOM_CORP_ID", "CUNBOT_TELEGRAM_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    config = load_config()
    assert [n for n in NAMES if config.enabled(n)] == ["webchat"]


def test_json_logs_carry_extra_fields():
    record = logging.LogRecord("cunbot", logging.INFO, __file__, 1, "handled msg=%s", ("m1",), None)
    record.person_id = 7
    record.msg_id = "m1"
    out = json.loads(JsonFormatter().format(record))
    assert out["msg"] == "handled msg=m1"
    assert out["person_id"] == 7 and out["msg_id"] == "m1"
    assert "args" not in out and "lineno" not in out  # standard attributes stay out


def test_an_unconfigured_channel_is_not_even_imported(tmp_path):
    """aiogram takes seconds to import: the app loads the Telegram channel only when a token
    is set (a fresh interpreter, since this test process may have imported it already)."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from bot.app import create_app\n"
        "from tests.fakes.harness import make_config\n"
        f"config = make_config('sqlite+aiosqlite:///{tmp_path}/x.sqlite3', Path({str(tmp_path)!r}))\n"
        "app = create_app(config, run_workers=False)\n"
        "print(sorted(m for m in ('aiogram', 'bot.channels.telegram.channel',"
        " 'bot.channels.wecom.channel', 'bot.channels.webchat.channel') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "['bot.channels.webchat.channel']"
