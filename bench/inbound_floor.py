"""The floor for bench/inbound_bench.py: the least an inbound WebSocket service can do per
message on this machine, measured in the same run as cunbot so that the machine's speed (which
varies 2-3x between runs here) cancels out in the ratio.

A bare aiohttp WebSocket server that, for every JSON text frame ``{"type": "text", "text",
"id"}``, writes one row with asyncpg (``INSERT ... ON CONFLICT (message_id) DO NOTHING``, the
message id unique, autocommit) and answers one frame ``{"type": "reply", "reply_to": id,
"final": true, "text": ...}``. No ORM, no logging per message, no router, no history, no
per-sender lock: what cunbot does on top of this is what the ratio measures.

Run by bench/inbound_bench.py as child processes (``--serve-floor``); each opens its own
asyncpg pool.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import asyncpg
from aiohttp import WSMsgType, web

TABLE = "floor_messages"
CREATE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} (id bigserial PRIMARY KEY, message_id text NOT NULL"
    " UNIQUE, sender_id text NOT NULL, text text NOT NULL, received_at timestamptz NOT NULL"
    " DEFAULT now())"
)
INSERT = (
    f"INSERT INTO {TABLE} (message_id, sender_id, text) VALUES ($1, $2, $3)"
    " ON CONFLICT (message_id) DO NOTHING"
)
POOL_SIZE = 20  # as cunbot's CUNBOT_DB_POOL_SIZE


def connect_args(dsn: str) -> dict[str, Any]:
    return {"dsn": dsn.replace("postgresql+asyncpg://", "postgresql://")}


async def create_table(dsn: str) -> None:
    conn = await asyncpg.connect(**connect_args(dsn))
    try:
        await conn.execute(CREATE)
    finally:
        await conn.close()


def make_app(pool: asyncpg.Pool) -> web.Application:
    async def ws_handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        sender = request.query.get("sender", "anon")
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                break
            data = json.loads(msg.data)
            frame_id = str(data.get("id") or "")
            await pool.execute(INSERT, f"{sender}:{frame_id}", sender, str(data.get("text")))
            await ws.send_str(
                json.dumps(
                    {"type": "reply", "reply_to": frame_id, "final": True, "text": "收到"},
                    ensure_ascii=False,
                )
            )
        return ws

    app = web.Application()
    app.router.add_get("/ws", ws_handler)
    return app


async def serve(dsn: str) -> None:
    """Serve until stdin closes; prints ``PORT n`` once listening."""
    pool = await asyncpg.create_pool(**connect_args(dsn), min_size=POOL_SIZE, max_size=POOL_SIZE)
    runner = web.AppRunner(make_app(pool), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(f"PORT {port}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await runner.cleanup()
    await pool.close()
