"""How fast the service is back after a kill: spawn a real ``cunbot run`` on a SQLite file,
time until ``/healthz`` first answers 200 (the port is open and the database reachable) and
until the first web chat message is answered (the FAQ index and the other background loads
are done: messages wait for them), then ``kill -9`` it and start it again on the same file.

    python bench/restart_bench.py            # 5 restarts
    python bench/restart_bench.py --small    # CI size: 2 restarts

The first start also creates the schema; the restarts are what a crash costs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def service_env(workdir: Path, port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        CUNBOT_DATABASE_URL=f"sqlite+aiosqlite:///{workdir / 'cunbot.sqlite3'}",
        CUNBOT_PORT=str(port),
        CUNBOT_HOST="127.0.0.1",
        CUNBOT_VAR_DIR=str(workdir / "var"),
        CUNBOT_MEDIA_DIR=str(workdir / "media"),
        CUNBOT_SECRET_KEY="bench-secret",
        CUNBOT_LOG_LEVEL="WARNING",
        CUNBOT_RUN_SCHEDULER="false",
        PYTHONPATH=str(ROOT),
    )
    return env


async def first_reply(http: aiohttp.ClientSession, base: str) -> None:
    """One web chat message, answered (the handling path is ready)."""
    async with http.get(base + "/chat") as resp:
        await resp.read()
    async with http.ws_connect(base + "/chat/ws") as ws:
        await ws.send_str(json.dumps({"type": "text", "text": "帮助", "id": "bench-1"}))
        async for msg in ws:
            data = json.loads(msg.data)
            if data.get("reply_to") == "bench-1" and data.get("final"):
                return


async def one_start(
    workdir: Path, port: int, log: Path
) -> tuple[float, float, asyncio.subprocess.Process]:
    """(seconds to the first 200 from /healthz, seconds to the first answered message, the
    process)."""
    base = f"http://127.0.0.1:{port}"
    with log.open("ab") as out:
        start = time.perf_counter()
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            env=service_env(workdir, port),
            stdout=out,
            stderr=out,
            cwd=workdir,
        )
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        port_open = None
        while port_open is None:
            if child.returncode is not None:
                raise SystemExit(f"service exited: see {log}")
            try:
                async with http.get(base + "/healthz") as resp:
                    if resp.status == 200:
                        port_open = time.perf_counter() - start
            except aiohttp.ClientError:
                await asyncio.sleep(0.01)
        await first_reply(http, base)
        answered = time.perf_counter() - start
    return port_open, answered, child


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="cunbot-restart-") as tmp:
        workdir = Path(tmp)
        log = workdir / "service.log"
        port = free_port()
        runs: list[tuple[float, float]] = []
        for n in range(args.restarts + 1):
            port_open, answered, child = await one_start(workdir, port, log)
            label = "first start (schema created)" if n == 0 else f"restart {n} after kill -9"
            print(f"{label}: port answers after {port_open:.2f} s, first reply {answered:.2f} s")
            if n:
                runs.append((port_open, answered))
            child.send_signal(signal.SIGKILL)
            await child.wait()
        ports = [r[0] for r in runs]
        replies = [r[1] for r in runs]
        print(
            f"restarts={len(runs)} port open: median {statistics.median(ports):.2f} s, "
            f"max {max(ports):.2f} s; first reply: median {statistics.median(replies):.2f} s, "
            f"max {max(replies):.2f} s; load average {os.getloadavg()[0]:.1f}"
        )


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--restarts", type=int, default=5)
    p.add_argument("--small", action="store_true", help="CI size: 2 restarts")
    args = p.parse_args()
    if args.small:
        args.restarts = 2
    return args


if __name__ == "__main__":
    asyncio.run(main(parse()))
