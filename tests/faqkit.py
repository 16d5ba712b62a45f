"""Shared helpers for the FAQ tests: jieba's dictionary is loaded once per test process."""

from __future__ import annotations

import functools

from services.faq_file import SHIPPED, read_file
from services.faq_search import Analyzer, FaqIndex


def analyzer() -> Analyzer:
    return Analyzer.shared()


@functools.cache
def shipped_index() -> FaqIndex:
    return FaqIndex.build(read_file(SHIPPED), analyzer())
