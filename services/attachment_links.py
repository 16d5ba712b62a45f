"""Signed download links of task attachments, one per person: a village's secretary opens the
link from the task push in whatever chat app pushed it, without a session of ours.

``/attachments/<id>?u=<person>&e=<expiry>&s=<mac>``: the MAC is HMAC-SHA256 (128 bits) over
the file id, the person and the expiry, keyed by ``Rules.file_link_key`` (derived from the
service secret for this one purpose). The download route checks the MAC and the expiry, then
the same scope as for anyone else (services.attachments.for_download) for the person named:
a forwarded link gives nothing to someone outside the task's villages beyond what the person
it names may see, and only until it expires.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import StrEnum

from core.inputs import int_id

PURPOSE = b"cunbot attachment link v1"
FIELDS = ("u", "e", "s")
MAC_HEX = 32
MAX_EXPIRY_DIGITS = 12
AFTER_DEADLINE = timedelta(days=30)  # how long a link outlives the task's deadline
WITHOUT_DEADLINE = timedelta(days=60)  # a notice's links, from when it was sent


class LinkState(StrEnum):
    OK = "ok"
    UNSIGNED = "unsigned"
    TAMPERED = "tampered"
    EXPIRED = "expired"


def link_key(secret: bytes) -> bytes:
    """The key of attachment links, derived so that no other signature replays as one."""
    return hmac.new(secret, PURPOSE, hashlib.sha256).digest()


def expiry(now: datetime, deadline: datetime | None) -> datetime:
    return max(deadline, now) + AFTER_DEADLINE if deadline else now + WITHOUT_DEADLINE


def _mac(key: bytes, file_id: int, person_id: int, exp: int) -> str:
    message = f"attachment\n{file_id}\n{person_id}\n{exp}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:MAC_HEX]


def url(base_url: str, key: bytes, file_id: int, person_id: int, until: datetime) -> str:
    """The download link of one attachment for one person (unsigned without a key)."""
    path = f"{base_url}/attachments/{file_id}"
    if not key:
        return path
    exp = int(until.timestamp())
    return f"{path}?u={person_id}&e={exp}&s={_mac(key, file_id, person_id, exp)}"


def check(
    key: bytes, file_id: int, query: Mapping[str, str], now: datetime
) -> tuple[LinkState, int | None]:
    """Whether a download carries a valid, unexpired signature, and for whom."""
    if not any(name in query for name in FIELDS):
        return LinkState.UNSIGNED, None
    fields = _fields(query) if key else None
    if fields is None:
        return LinkState.TAMPERED, None
    person_id, exp, mac = fields
    if not hmac.compare_digest(mac.encode(), _mac(key, file_id, person_id, exp).encode()):
        return LinkState.TAMPERED, None
    return (LinkState.EXPIRED if exp < now.timestamp() else LinkState.OK), person_id


def _fields(query: Mapping[str, str]) -> tuple[int, int, str] | None:
    """(person, expiry, MAC) from a link's query, or None when any is malformed."""
    person_id = int_id(query.get("u", ""))
    raw_exp, mac = query.get("e", ""), query.get("s", "")
    digits = raw_exp.isascii() and raw_exp.isdigit() and len(raw_exp) <= MAX_EXPIRY_DIGITS
    if person_id is None or not digits or len(mac) != MAC_HEX:
        return None
    return person_id, int(raw_exp), mac
