"""Chinese text folding shared by every parser: traditional -> simplified characters.

OpenCC loads its conversion dictionaries when the converter is built (tens of milliseconds and
a few MB), so nothing is built at import: :func:`simplified` builds the one converter of the
process on first use, under a lock, and reuses it afterwards (OpenCC's ``convert`` keeps no
state between calls).
"""

from __future__ import annotations

import threading
from typing import Protocol

_lock = threading.Lock()
_converter: _Converter | None = None


class _Converter(Protocol):
    def convert(self, text: str) -> str: ...


def _t2s() -> _Converter:
    global _converter
    if _converter is None:
        with _lock:
            if _converter is None:
                from opencc import OpenCC

                _converter = OpenCC("t2s")
    return _converter


def simplified(text: str) -> str:
    """``text`` in simplified characters (traditional ones converted, everything else kept)."""
    return _t2s().convert(text)
