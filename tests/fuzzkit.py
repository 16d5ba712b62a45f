"""Shared pieces of the fuzz tests: hostile strategies, the regression corpus, and checks.

The network fuzz tests are async and talk to a real server, which hypothesis cannot drive
directly: :func:`draw` runs a strategy under the active settings profile (tests/conftest.py:
derandomized, ``max_examples`` 60 in CI) and returns the examples; the test then sends each
one. Pure parsers are fuzzed with ``@given`` directly (with shrinking).
"""

from __future__ import annotations

import io
import json
import logging
import struct
import zlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

# Every code point, lone surrogates and C0/C1 controls included.
ANY_CHAR = st.one_of(
    st.characters(),
    st.characters(max_codepoint=0x9F),
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
)
SPECIALS = ["\x00", "\ud800", "\udfff", "\x1b", "\x85", "\u202e", "\ufeff", "\r", "\x7f"]
HOSTILE_TEXT = st.one_of(
    st.text(ANY_CHAR, max_size=120),
    st.builds(
        lambda a, bad, b: a + bad + b,
        st.text(max_size=40),
        st.sampled_from(SPECIALS),
        st.text(ANY_CHAR, max_size=40),
    ),
)
NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.sampled_from([1e308, -1e308, 0, 90.0000001, -180.5]),
)
JSON_ANY = st.recursive(
    st.one_of(st.none(), st.booleans(), NUMBERS, HOSTILE_TEXT),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(HOSTILE_TEXT, inner, max_size=4),
    max_leaves=12,
)

DEEP_LIST = "[" * 10_000 + "]" * 10_000
DEEP_OBJECT = '{"a":' * 5_000 + "1" + "}" * 5_000
HUGE_NUMBER = "1e400"
LONG_INT = "9" * 5_000
# The regression corpus: every hostile input the probe of issue 11 found.
CORPUS_TEXT = ["\x00", "帮助\x00", "\ud800", "a\udfffb", "\x1b[2J\x07", "截止 3000000个工作日"]
TWELVE_DIGIT_ID = "123456789012"
DEADLINE_BOMB = "截止 3000000个工作日"


def dumps(value: Any) -> str:
    """JSON with ``\\uXXXX`` escapes (a lone surrogate survives the wire; NaN stays NaN)."""
    return json.dumps(value, ensure_ascii=True)


def draw(strategy: st.SearchStrategy[Any], n: int | None = None) -> list[Any]:
    """``n`` (default: the profile's ``max_examples``) examples of ``strategy``."""
    out: list[Any] = []
    limit = n or settings.default.max_examples

    @settings(max_examples=limit)
    @given(strategy)
    def collect(value: Any) -> None:
        out.append(value)

    collect()
    return out[:limit]


def png_header(width: int, height: int, *, mode_bits: int = 1, color: int = 0) -> bytes:
    """A valid PNG signature + IHDR claiming ``width`` x ``height``, one empty IDAT, IEND: a few
    dozen bytes that a decoder would blow up to width x height pixels."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack("!I", len(body)) + kind + body + struct.pack("!I", crc)

    ihdr = struct.pack("!IIBBBBB", width, height, mode_bits, color, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


def bilevel_png(width: int, height: int) -> bytes:
    """A real, complete 1-bit PNG (all black): ~7 kB on the wire for 60 megapixels."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("1", (width, height)).save(buf, "PNG", optimize=True)
    return buf.getvalue()


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Log records at ERROR or above that carry a traceback (what a crash leaves behind).

    Not counted: asyncio's "Future exception was never retrieved" for an asyncpg connection
    that the server closed (``ConnectionError: unexpected connection_lost() call``). It is
    logged when the garbage collector meets a connection left over from an earlier test's
    engine, at whatever moment that happens, and says nothing about the requests under test."""
    return [
        r
        for r in caplog.records
        if (r.levelno >= logging.ERROR or r.exc_info) and not _stale_connection(r)
    ]


def _stale_connection(record: logging.LogRecord) -> bool:
    message = record.getMessage()
    return (
        record.name == "asyncio"
        and message.startswith("Future exception was never retrieved")
        and "unexpected connection_lost() call" in message
    )
