"""Reading a body with a size limit. ``StreamReader.read(n)`` returns whatever is buffered
(possibly less than n), so a bounded read has to loop until EOF."""

from __future__ import annotations

from aiohttp import StreamReader


class TooLarge(Exception):
    pass


async def read_limited(stream: StreamReader, limit: int) -> bytes:
    body = bytearray()
    async for chunk in stream.iter_any():
        body += chunk
        if len(body) > limit:
            raise TooLarge(f"more than {limit} bytes")
    return bytes(body)
