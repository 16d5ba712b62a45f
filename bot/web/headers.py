"""Web hygiene for every HTTP response: security headers, and the Origin check of browser
requests that change something.

Headers (on every response, pages, JSON, files, the WebSocket handshake, errors):
    Content-Security-Policy  self only; the chat page has no inline script or style, the
                             photo preview is a blob: image (a voice note's a blob: audio),
                             the socket is same-origin
    X-Frame-Options DENY, X-Content-Type-Options nosniff, Referrer-Policy same-origin

Origin (WebSocket handshakes and every POST/PUT/PATCH/DELETE):
    allowed   the origin of CUNBOT_PUBLIC_URL, and the host:port this connection reached (the
              listening socket's address, plus ``localhost`` when that is a loopback address)
    foreign   403 with a short Chinese body, before any handler runs: nothing is stored
    missing   allowed. Browsers always send Origin on WebSocket handshakes and on POSTs (fetch,
              forms), so a request without one is not a page of another site driving a
              visitor's browser; it is a non-browser client (the API with its bearer token,
              the WeCom and Telegram webhooks, tests). ``Origin: null`` (sandboxed frames,
              file: pages) is foreign.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Awaitable, Callable

from aiohttp import hdrs, web
from yarl import URL

from bot.appkeys import CONFIG

log = logging.getLogger(__name__)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "media-src 'self' blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
FOREIGN_ORIGIN = "拒绝访问：请求来自其他网站。请直接打开村务助手的页面。"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _origin(url: URL) -> tuple[str, str, int | None] | None:
    if url.scheme not in ("http", "https", "ws", "wss") or not url.host:
        return None
    secure = url.scheme in ("https", "wss")
    return ("https" if secure else "http", url.host.lower(), url.port)


def allowed_origins(request: web.Request) -> set[tuple[str, str, int | None]]:
    found: set[tuple[str, str, int | None]] = set()
    public = _origin(URL(request.app[CONFIG].public_url))
    if public is not None:
        found.add(public)
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    if isinstance(sockname, tuple) and len(sockname) >= 2:
        host, port = str(sockname[0]), int(sockname[1])
        hosts = {host.lower()}
        try:
            if ipaddress.ip_address(host).is_loopback:
                hosts.add("localhost")
        except ValueError:
            pass
        found.update((scheme, h, port) for scheme in ("http", "https") for h in hosts)
    return found


def origin_allowed(request: web.Request) -> bool:
    raw = request.headers.get(hdrs.ORIGIN)
    if raw is None:
        return True
    try:
        origin = _origin(URL(raw.strip()))
    except ValueError:
        return False
    return origin is not None and origin in allowed_origins(request)


def _checked(request: web.Request) -> bool:
    if request.method not in SAFE_METHODS:
        return True
    return request.headers.get(hdrs.UPGRADE, "").lower() == "websocket"


@web.middleware
async def origin_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    if _checked(request) and not origin_allowed(request):
        log.warning(
            "foreign origin refused path=%s origin=%.80s",
            request.path,
            request.headers.get(hdrs.ORIGIN),
        )
        return web.Response(status=403, text=FOREIGN_ORIGIN, content_type="text/plain")
    return await handler(request)


async def _security_headers(_request: web.Request, response: web.StreamResponse) -> None:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)


def install(app: web.Application) -> None:
    """The Origin check (first middleware) and the headers (on every prepared response)."""
    app.middlewares.insert(0, origin_guard)
    app.on_response_prepare.append(_security_headers)
