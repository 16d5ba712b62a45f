"""The web chat as an installable app (PWA): the manifest and the service worker.

    GET /chat/manifest.webmanifest   application/manifest+json
    GET /chat/sw.js                  text/javascript, ``Service-Worker-Allowed: /chat`` so the
                                     worker (registered with scope ``/chat``) serves the page
                                     at /chat itself, not only what lies below /chat/

The worker keeps the page's shell (the HTML, chat.js, chat.css, the icons) so the chat opens
without signal; the page keeps its history and what is waiting to be sent in IndexedDB.
Both files are answered with ``no-cache`` so a new release reaches phones at the next start.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from aiohttp import web

SCOPE = "/chat"
MANIFEST = {
    "name": "村务助手",
    "short_name": "村务助手",
    "lang": "zh-CN",
    "start_url": "/chat",
    "scope": SCOPE,
    "display": "standalone",
    "background_color": "#ededed",
    "theme_color": "#ededed",
    "icons": [
        {"src": "/chat/static/icon-192.png", "sizes": "192x192", "type": "image/png"},
        {"src": "/chat/static/icon-512.png", "sizes": "512x512", "type": "image/png"},
        {"src": "/chat/static/icon.svg", "sizes": "any", "type": "image/svg+xml"},
    ],
}
NO_CACHE = {"Cache-Control": "no-cache"}


def setup(app: web.Application, static_dir: Path) -> None:
    manifest = json.dumps(MANIFEST, ensure_ascii=False)
    worker = static_dir / "sw.js"

    async def serve_manifest(_request: web.Request) -> web.Response:
        return web.Response(
            text=manifest,
            content_type="application/manifest+json",
            charset="utf-8",
            headers=NO_CACHE,
        )

    async def serve_worker(_request: web.Request) -> web.Response:
        body = await asyncio.to_thread(worker.read_text, "utf-8")
        return web.Response(
            text=body,
            content_type="text/javascript",
            charset="utf-8",
            headers={**NO_CACHE, "Service-Worker-Allowed": SCOPE},
        )

    app.router.add_get("/chat/manifest.webmanifest", serve_manifest)
    app.router.add_get("/chat/sw.js", serve_worker)
