"""Run the real aiohttp app on 127.0.0.1 (ephemeral port) with a given configuration."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from PIL import Image

from bot.app import create_app
from bot.appkeys import BACKGROUND
from bot.channels.dingtalk.settings import DingTalkSettings
from bot.channels.telegram.settings import TelegramSettings
from bot.channels.wecom.settings import WeComSettings
from bot.config import Config, CoreSettings
from core.clock import Clock

CORP_ID = "ww1234567890abcdef"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
TOKEN = "cbtoken"
SECRET = "corpsecret"
TG_TOKEN = "123456:TEST-token"
DT_APP_KEY = "dingappkey123"
DT_APP_SECRET = "dt-app-secret-XYZ"
DT_ROBOT = "dingrobot123"


def make_config(
    database_url: str,
    tmp_path: Path,
    *,
    wecom_base: str | None = None,
    telegram_base: str | None = None,
    telegram_mode: str = "polling",
    webhook_secret: str = "",
    dingtalk_base: str | None = None,
    **core_settings: Any,
) -> Config:
    """``core_settings``: further CoreSettings fields (the inbound bench uses this too)."""
    core = CoreSettings(
        database_url=database_url,
        media_dir=tmp_path / "media",
        var_dir=tmp_path / "var",
        **core_settings,
    )
    wecom = (
        WeComSettings(
            corp_id=CORP_ID,
            agent_id=1000002,
            secret=SECRET,
            token=TOKEN,
            aes_key=AES_KEY,
            api_base=wecom_base,
        )
        if wecom_base
        else WeComSettings(corp_id="")
    )
    telegram = (
        TelegramSettings(
            token=TG_TOKEN,
            api_base=telegram_base,
            mode=telegram_mode,
            webhook_secret=webhook_secret,
        )
        if telegram_base
        else TelegramSettings(token="")
    )
    dingtalk = (
        DingTalkSettings(
            app_key=DT_APP_KEY,
            app_secret=DT_APP_SECRET,
            robot_code=DT_ROBOT,
            api_base=dingtalk_base,
        )
        if dingtalk_base
        else DingTalkSettings(app_key="")
    )
    return Config(core=core, channels={"wecom": wecom, "telegram": telegram, "dingtalk": dingtalk})


async def start_app(config: Config, clock: Clock) -> TestServer:
    app = create_app(config, clock=clock, auto_upgrade=False, run_workers=False)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    return server


async def drain(app: web.Application) -> None:
    """Wait until the work the app started in the background (handling, replies) is done."""
    while app[BACKGROUND]:
        await asyncio.gather(*list(app[BACKGROUND]), return_exceptions=True)


def jpeg_bytes(color: str = "red", size: tuple[int, int] = (64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG")
    return buf.getvalue()


def amr_bytes(tag: bytes = b"a") -> bytes:
    """A small AMR voice note: the magic, then frames (never decoded, only stored)."""
    return b"#!AMR\n" + tag * 64 + bytes(200)


def ogg_bytes(tag: bytes = b"o") -> bytes:
    """A small OGG/Opus voice note (Telegram's voice format, browsers' MediaRecorder)."""
    return b"OggS\x00\x02" + bytes(20) + b"OpusHead" + tag * 64
