"""Service configuration: environment variables prefixed ``CUNBOT_`` and an optional ``.env``.

The variable names are a public interface (see README "Configuration"); keep them stable.
Each section is its own settings class: the core one here, one per channel next to the
channel (``bot/channels/<name>/settings.py``, listed in ``bot.channels.registry``);
:func:`load_config` composes them into one object.
"""

from __future__ import annotations

import importlib.util
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.channels.registry import CHANNELS, NAMES
from bot.channels.settings import COMMON, ChannelSettings
from core.rules import (
    DEFAULT_VISIT_QUOTAS,
    HOUSEHOLD_CATEGORIES,
    QUOTA_MAX,
    Rules,
    VisitCount,
    parse_hhmm,
    parse_quiet_hours,
)
from services.media_store import MediaStore
from services.media_store.local import LocalStore
from services.media_store.s3 import S3Location, S3Settings, S3Store

S = TypeVar("S", bound=ChannelSettings)


class CoreSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CUNBOT_", **COMMON)

    database_url: str = "sqlite+aiosqlite:///./var/cunbot.sqlite3"
    # PostgreSQL connections each process keeps open (work beyond them waits for one).
    db_pool_size: int = Field(20, ge=1, le=500)
    # "pgbouncer": PostgreSQL is reached through PgBouncer (or another pooler) in transaction
    # mode, so no prepared statement may outlive its transaction (storage.db.make_engine).
    db_pooler: Literal["none", "pgbouncer"] = "none"
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    public_url: str = ""
    timezone: str = "Asia/Shanghai"
    var_dir: Path = Path("./var")
    media_dir: Path = Path("./var/media")
    # Media in S3-compatible object storage instead of media_dir: s3://bucket or
    # s3://bucket/prefix (needs the s3 extra: pip install 'cunbot[s3]'). Empty: the folder.
    media_url: str = ""
    s3_endpoint_url: str = ""  # e.g. http://minio:9000, https://oss-cn-hangzhou.aliyuncs.com
    s3_access_key_id: str = ""
    s3_secret_access_key: SecretStr | None = None
    s3_region: str = ""
    # How the bucket is named in requests: "auto" (botocore's choice: path-style with a custom
    # endpoint, as MinIO wants), "path", or "virtual" (bucket.host: Aliyun OSS, Tencent COS).
    s3_addressing_style: Literal["auto", "path", "virtual"] = "auto"
    # Photos and attachments answered by a redirect to a short-lived signed link to the store
    # (after the same scope check), instead of streamed through this service.
    s3_presign: bool = False
    s3_presign_seconds: int = Field(300, ge=10, le=3600)
    secret_key: SecretStr | None = None
    # How long the signed photo links in an exported ledger stay valid.
    photo_link_hours: int = Field(72, ge=1, le=24 * 30)
    # The largest task attachment (附件) the console accepts, in bytes; the default and the
    # ceiling are services.attachments.MAX_FILE_BYTES (20 MB).
    attachment_max_bytes: int = Field(20 * 1024 * 1024, ge=1024, le=20 * 1024 * 1024)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "text"] = "json"
    quiet_hours: str = "21:30-07:30"
    morning_digest: str = "07:30"
    evening_digest: str = "20:00"
    visit_quotas: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_VISIT_QUOTAS))
    # What counts toward the monthly quota: each day with a visit ("day"), or each visit.
    visit_count: VisitCount = VisitCount.DAY
    rectify_days: int = Field(15, ge=1, le=365)
    escalate_after_hours: int = Field(24, ge=1, le=24 * 30)
    delivery_max_attempts: int = Field(8, ge=1, le=100)
    # A county with more bulk pushes than this due and waiting has its bulk paused (not sent;
    # replies and other counties go on) until the backlog is back to it; its console says so.
    county_backlog_pause: int = Field(50_000, ge=100, le=100_000_000)
    # A delivery worker's claim on its rows, extended every third of it while it sends.
    delivery_lease_seconds: int = Field(30, ge=5, le=3600)
    # PostgreSQL: where the delivery worker LISTENs for new outbox rows. "" = the database
    # itself, unless it is reached through a pooler (LISTEN needs a session of its own: give
    # the server's direct address then); "none" = poll only.
    delivery_listen_url: SecretStr = SecretStr("")
    run_scheduler: bool = True
    push_channel: str = "last"  # "last" or a channel's name (bot.channels.registry)
    # Flood guard of one web chat page: frames per second, and how many may come at once.
    webchat_rate: float = Field(5.0, gt=0, le=10_000)
    webchat_burst: int = Field(20, ge=1, le=10_000)
    # A map tile server for the console's visit map, e.g. https://tiles.example/{z}/{x}/{y}.png
    # (web-mercator tiles); empty: the map draws on a plain background with village labels.
    map_tile_url: str = ""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str) -> str:
        parse_quiet_hours(value)
        return value

    @field_validator("morning_digest", "evening_digest")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        parse_hhmm(value)
        return value

    @field_validator("push_channel")
    @classmethod
    def _push_channel(cls, value: str) -> str:
        if value != "last" and value not in NAMES:
            raise ValueError("must be one of " + ", ".join(("last", *NAMES)))
        return value

    @field_validator("map_tile_url")
    @classmethod
    def _tile_url(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return value
        bare = value.replace("{z}", "0").replace("{x}", "0").replace("{y}", "0")
        parts = urlsplit(bare)
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or any(p not in value for p in ("{z}", "{x}", "{y}"))
            or "{" in bare
            or "}" in bare
        ):
            raise ValueError("must be an http(s) URL with {z}, {x} and {y} (and no other {…})")
        return value

    @field_validator("media_url")
    @classmethod
    def _media_url(cls, value: str) -> str:
        value = value.strip()
        if value:
            S3Location.parse(value)
            if importlib.util.find_spec("aiobotocore") is None:
                raise ValueError("s3:// needs the s3 extra (pip install 'cunbot[s3]')")
        return value

    @field_validator("s3_endpoint_url")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        value = value.strip()
        parts = urlsplit(value)
        if value and (parts.scheme not in ("http", "https") or not parts.hostname):
            raise ValueError("must be an http(s) URL, e.g. http://127.0.0.1:9000")
        return value

    @field_validator("database_url")
    @classmethod
    def _db_url(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @field_validator("db_pooler")
    @classmethod
    def _pooler(cls, value: str, info: ValidationInfo) -> str:
        if value != "none" and str(info.data.get("database_url", "")).startswith("sqlite"):
            raise ValueError("a pooler only stands in front of PostgreSQL (CUNBOT_DATABASE_URL)")
        return value

    @property
    def behind_pooler(self) -> bool:
        return self.db_pooler != "none"

    @field_validator("visit_quotas")
    @classmethod
    def _quotas(cls, value: dict[str, int]) -> dict[str, int]:
        if any(v < 0 or v > QUOTA_MAX for v in value.values()):
            raise ValueError(f"each monthly quota must be between 0 and {QUOTA_MAX}")
        unknown = set(value) - set(HOUSEHOLD_CATEGORIES)
        if unknown:
            raise ValueError(
                f"unknown household category {sorted(unknown)[0]!r} (known: "
                + ", ".join(HOUSEHOLD_CATEGORIES)
                + ")"
            )
        return value


@dataclass(frozen=True)
class Config:
    core: CoreSettings
    # Each channel's settings section by channel name (channels without one are absent).
    channels: Mapping[str, ChannelSettings] = field(default_factory=dict)

    def section(self, kind: type[S]) -> S:
        """A channel's settings section, by its class."""
        for settings in self.channels.values():
            if isinstance(settings, kind):
                return settings
        raise KeyError(kind.__name__)

    def enabled(self, channel: str) -> bool:
        """Whether a channel runs: it has no section, or its section says so."""
        settings = self.channels.get(channel)
        return settings is None or settings.enabled

    @property
    def rules(self) -> Rules:
        quiet_start, quiet_end = parse_quiet_hours(self.core.quiet_hours)
        return Rules(
            timezone=ZoneInfo(self.core.timezone),
            quiet_start=quiet_start,
            quiet_end=quiet_end,
            morning_digest=parse_hhmm(self.core.morning_digest),
            evening_digest=parse_hhmm(self.core.evening_digest),
            visit_quotas=dict(self.core.visit_quotas),
            visit_count=self.core.visit_count,
            rectify_days=self.core.rectify_days,
            escalate_after_hours=self.core.escalate_after_hours,
            delivery_max_attempts=self.core.delivery_max_attempts,
            county_backlog_pause=self.core.county_backlog_pause,
            media_dir=self.core.media_dir,
            public_url=self.public_url,
            push_channel=self.core.push_channel,
        )

    @property
    def public_url(self) -> str:
        return self.core.public_url.rstrip("/") or f"http://{self.core.host}:{self.core.port}"

    def media_store(self) -> MediaStore:
        """Where media lives (not opened yet: ``async with`` it)."""
        core = self.core
        if not core.media_url:
            return LocalStore(core.media_dir)
        secret = core.s3_secret_access_key
        return S3Store(
            S3Settings(
                S3Location.parse(core.media_url),
                endpoint_url=core.s3_endpoint_url or None,
                access_key_id=core.s3_access_key_id or None,
                secret_access_key=secret.get_secret_value() if secret else None,
                region=core.s3_region or None,
                presign=core.s3_presign,
                presign_seconds=core.s3_presign_seconds,
                addressing_style=core.s3_addressing_style,
            )
        )

    def secret_key(self) -> bytes:
        """The web-session signing key: from the environment, else generated once under var/."""
        if self.core.secret_key is not None and self.core.secret_key.get_secret_value():
            return self.core.secret_key.get_secret_value().encode()
        path = self.core.var_dir / "secret_key"
        if path.exists():
            return path.read_text().strip().encode()
        self.core.var_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key.encode()


class ConfigError(Exception):
    """Bad configuration, with one line that names the setting."""


def load_config(**overrides: object) -> Config:
    try:
        core = CoreSettings(**overrides)  # type: ignore[arg-type]
        channels = {e.name: e.settings() for e in CHANNELS if e.settings is not None}
    except ValidationError as exc:
        err = exc.errors()[0]
        prefix = {e.settings.__name__: e.env_prefix for e in CHANNELS if e.settings}.get(
            exc.title, "CUNBOT_"
        )
        name = prefix + str(err["loc"][0]).upper() if err["loc"] else prefix
        raise ConfigError(f"配置错误 {name}: {err['msg']}") from None
    for settings in channels.values():
        problem = settings.problem()
        if problem:
            raise ConfigError(problem)
    return Config(core=core, channels=channels)
