"""bot.logs.MaskFilter: no phone or ID number reaches a log line in full."""

from __future__ import annotations

import io
import json
import logging

from bot.logs import JsonFormatter, MaskFilter


def _logger(fmt: logging.Formatter) -> tuple[logging.Logger, io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(fmt)
    handler.addFilter(MaskFilter())
    log = logging.getLogger("test.masking")
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel("INFO")
    return log, out


def test_message_arguments_extras_and_tracebacks_are_masked():
    log, out = _logger(JsonFormatter())
    log.info(
        "statement failed text=%s", "联系电话13812345678", extra={"note": "110101199003071234"}
    )
    try:
        raise ValueError("parameters ('王三', '13987654321')")
    except ValueError:
        log.exception("handler failed msg=%s", "m1")
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["msg"] == "statement failed text=联系电话138****5678"
    assert first["note"] == "1101**********1234"
    assert "139****4321" in second["exc"] and "13987654321" not in second["exc"]


def test_plain_text_format_is_masked_too():
    log, out = _logger(logging.Formatter("%(message)s"))
    log.warning("phone=%s", 13812345678)
    assert out.getvalue().strip() == "phone=138****5678"
