"""Shared helpers for the FAQ tests: jieba's dictionary and the sentence model are loaded once
per test process, and so is every phrasing's vector (the embedder remembers them)."""

from __future__ import annotations

import functools

from services.faq_embed import Embedder
from services.faq_file import SHIPPED, read_file
from services.faq_rank import FaqIndex
from services.faq_search import Analyzer


def analyzer() -> Analyzer:
    return Analyzer.shared()


def embedder() -> Embedder:
    return Embedder.shared()


@functools.cache
def shipped_index() -> FaqIndex:
    return FaqIndex.build(read_file(SHIPPED), analyzer(), embedder())
