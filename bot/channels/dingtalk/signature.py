"""The robot callback's signature: ``sign = base64(HMAC-SHA256(appSecret, f"{timestamp}\\n{appSecret}"))``
over the ``timestamp`` header (milliseconds); a timestamp more than an hour away from our
clock is refused, as DingTalk's "receive message" page asks."""

from __future__ import annotations

import base64
import hashlib
import hmac

MAX_SKEW_MS = 3600 * 1000


class CallbackRejected(Exception):
    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def expected_sign(timestamp: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify(timestamp: str, sign: str, secret: str, now_ms: float) -> None:
    """Raise CallbackRejected unless ``sign`` is DingTalk's for ``timestamp`` and it is fresh:
    missing or malformed headers are 401, a stale time or a wrong signature 403."""
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 15:
        raise CallbackRejected("missing or bad timestamp header", 401)
    if not sign or len(sign) > 128:
        raise CallbackRejected("missing or bad sign header", 401)
    if abs(now_ms - int(timestamp)) > MAX_SKEW_MS:
        raise CallbackRejected("stale timestamp", 403)
    # Constant-time: the signature is the only thing standing between a caller and the bot.
    if not hmac.compare_digest(expected_sign(timestamp, secret).encode(), sign.encode()):
        raise CallbackRejected("bad signature", 403)
