"""Invite QR codes, drawn on the server as inline SVG (segno, pure Python; no script, no image
request, nothing fetched). The code encodes the web chat's address with the invite in its
fragment (``/chat#bind=CODE``): any phone camera or chat-app scanner opens an address, and the
chat page puts ``绑定 CODE`` in the box ready to send, whereas a QR of plain text only shows the
text. The fragment is not sent to the server, so the code stays out of access logs."""

from __future__ import annotations

import asyncio

import segno
from markupsafe import Markup


def bind_url(public_url: str, code: str) -> str:
    return f"{public_url.rstrip('/')}/chat#bind={code}"


def _svg(data: str) -> str:
    qr = segno.make(data, error="m", micro=False)
    return str(qr.svg_inline(scale=1, border=4, omitsize=True, dark="#000", light="#fff"))


async def svg(data: str) -> Markup:
    """The QR code of ``data`` as an ``<svg>`` element sized by CSS (drawn in a thread)."""
    return Markup(await asyncio.to_thread(_svg, data))
