"""Chinese text folding shared by every parser: traditional -> simplified characters.

OpenCC loads its conversion dictionaries when the converter is built (tens of milliseconds and
a few MB), so nothing is built at import: :func:`simplified` builds the one converter of the
process on first use, under a lock, and reuses it afterwards (OpenCC's ``convert`` keeps no
state between calls).
"""

from __future__ import annotations

import re
import threading
import unicodedata
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


# C0 and C1 control characters except tab and newline; DEL too. Format characters (zero-width
# joiners in emoji) are kept: they are text, and harmless to every store.
_CONTROLS: dict[int, str | None] = dict.fromkeys(
    [c for c in range(0x20) if c not in (0x09, 0x0A)] + list(range(0x7F, 0xA0)), None
)
_CONTROLS[0x0D] = "\n"  # a carriage return is a line break, not noise
_SURROGATE = re.compile("[\ud800-\udfff]")  # lone surrogates: json.loads("\"\\ud800\"") makes them


def clean_text(text: str, max_len: int | None = None) -> str:
    """``text`` made safe for every store and every reader: control characters (NUL first of
    all, which PostgreSQL refuses) removed except newline and tab, lone surrogates replaced
    by U+FFFD (they cannot be encoded as UTF-8), NFC-normalised, and cut at ``max_len``.

    Every channel and the API call this on what a person typed, before anything else."""
    if not text:
        return ""
    if max_len is not None and len(text) > 4 * max_len:
        text = text[: 4 * max_len]  # bound the work before normalising
    text = text.replace("\r\n", "\n").translate(_CONTROLS)
    text = _SURROGATE.sub("\ufffd", text)
    text = unicodedata.normalize("NFC", text)
    return text if max_len is None else text[:max_len]


def is_clean(text: str) -> bool:
    """True when ``text`` has nothing :func:`clean_text` would change (length aside)."""
    return clean_text(text) == text
