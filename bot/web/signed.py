"""Signed, short-lived links to stored photos: the photo cells of the 走访台账.

A ledger is opened in a spreadsheet, outside any chat session, so its photo links carry their
own credential: ``/media/<path>?u=<person>&e=<expiry>&s=<mac>``, where the MAC is
HMAC-SHA256 (truncated to 128 bits) over the path, the person and the expiry, keyed by a key
derived from the service secret (``CUNBOT_SECRET_KEY``) for this one purpose. The media route
(bot.channels.webchat.channel) checks the MAC and the expiry, then applies the same scope check
as for a signed-in browser to the person named in the link: a link gives nothing beyond what
the person who exported the ledger may see, and only until it expires
(``CUNBOT_PHOTO_LINK_HOURS``). A changed path, person or expiry breaks the MAC.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import quote

from aiohttp import web

from core.inputs import int_id

MEDIA_KEY = web.AppKey("media_link_key", bytes)
PURPOSE = b"cunbot media link v1"
FIELDS = ("u", "e", "s")
MAC_HEX = 32
MAX_EXPIRY_DIGITS = 12


class LinkState(StrEnum):
    OK = "ok"
    UNSIGNED = "unsigned"  # no signature fields at all: the browser session decides
    TAMPERED = "tampered"  # malformed, or the MAC does not match
    EXPIRED = "expired"


def media_key(secret: bytes) -> bytes:
    """The key of photo links, derived so that no other signature can be replayed as one."""
    return hmac.new(secret, PURPOSE, hashlib.sha256).digest()


def _mac(key: bytes, path: str, person_id: int, exp: int) -> str:
    message = f"{path}\n{person_id}\n{exp}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:MAC_HEX]


def photo_signer(
    key: bytes, base_url: str, person_id: int, now: datetime, ttl: timedelta
) -> Callable[[str], str]:
    """Signed links for one person, all expiring ``ttl`` after ``now``: path -> URL. A ledger
    signs tens of thousands, so the keyed hash is set up once and copied per link."""
    exp = int((now + ttl).timestamp())
    keyed = hmac.new(key, digestmod=hashlib.sha256)
    tail = f"\n{person_id}\n{exp}".encode()
    query = f"u={person_id}&e={exp}&s="

    def link(path: str) -> str:
        mac = keyed.copy()
        mac.update(path.encode())
        mac.update(tail)
        return f"{base_url}/media/{quote(path)}?{query}{mac.hexdigest()[:MAC_HEX]}"

    return link


def photo_url(
    key: bytes, base_url: str, path: str, person_id: int, now: datetime, ttl: timedelta
) -> str:
    """The signed link of one stored photo (``path`` relative to the media folder)."""
    return photo_signer(key, base_url, person_id, now, ttl)(path)


def check(
    key: bytes, path: str, query: Mapping[str, str], now: datetime
) -> tuple[LinkState, int | None]:
    """Whether a request for ``path`` carries a valid, unexpired signature, and for whom."""
    if not any(name in query for name in FIELDS):
        return LinkState.UNSIGNED, None
    person_id = int_id(query.get("u", ""))
    raw_exp, mac = query.get("e", ""), query.get("s", "")
    if (
        person_id is None
        or not (raw_exp.isascii() and raw_exp.isdigit())
        or len(raw_exp) > MAX_EXPIRY_DIGITS
        or len(mac) != MAC_HEX
    ):
        return LinkState.TAMPERED, None
    exp = int(raw_exp)
    if not hmac.compare_digest(mac.encode(), _mac(key, path, person_id, exp).encode()):
        return LinkState.TAMPERED, None
    if exp < now.timestamp():
        return LinkState.EXPIRED, person_id
    return LinkState.OK, person_id
