"""Personal data masking: the one implementation every way out of the system uses.

Chat replies and outbox pushes (``core.messages.Reply``), the free-text cells of the xlsx
ledger, and every log line (``bot.logs``) pass through :func:`mask_pii`, so a phone or ID
number a cadre typed into a note is never shown, exported or logged in full. What it masks:

- mainland mobile numbers ``1[3-9]`` + 9 digits (also written ``138-1234-5678`` /
  ``138 1234 5678``, with or without ``+86``): ``138****5678``;
- 18-character resident ID numbers (17 digits and a digit or ``X``): ``1101**********1234``;
- landlines with an area code (``0571-8888 1234``): ``0571-****1234``.

Numbers that are neither (amounts, dates, ids, household codes, 10-digit codes) are kept: a
match needs the exact length with no digit on either side.
"""

from __future__ import annotations

import re

_MOBILE = re.compile(r"(?<![\d])(?:\+?86[- ]?)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?![\d])")
_ID = re.compile(r"(?<![\d])(\d{4})\d{10}(\d{3}[\dXx])(?![\dXx])")
_LANDLINE = re.compile(r"(?<![\d])(0\d{2,3})[- ](\d{3,4})[- ]?(\d{4})(?![\d])")
# What each of the three needs: ten digits or more, at most one "-" or " " between two. Most
# texts (every log line) have no such run and skip the three substitutions.
_CANDIDATE = re.compile(r"\d(?:[- ]?\d){9}")


def mask_pii(text: str) -> str:
    """``text`` with phone and ID numbers masked (see the module docstring)."""
    if not text or _CANDIDATE.search(text) is None:
        return text
    text = _ID.sub(lambda m: m[1] + "*" * 10 + m[2], text)
    text = _MOBILE.sub(lambda m: m[1] + "****" + m[3], text)
    return _LANDLINE.sub(lambda m: m[1] + "-****" + m[3], text)


def mask_phone(phone: str | None) -> str:
    """A phone column's value for display: ``138****5678`` (too short: all stars)."""
    if not phone:
        return ""
    digits = phone.strip()
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "****" + digits[-4:]
