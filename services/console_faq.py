"""The console's 问答 page: the unanswered-question queue of the person's county, paged.

The queue, answering and saving as an entry are services.faq's use cases (the chat's 待答问题,
答复 and 存为问答): the same role and county checks, the same push to the asker, the same
audit. This module only pages the queue for the web.
"""

from __future__ import annotations

from dataclasses import dataclass

from services import faq
from services.console import Paged, check_page
from storage.people import PersonDTO
from storage.session import AsyncSession

PAGE_SIZE = 20


@dataclass(frozen=True)
class QuestionQueue:
    items: tuple[faq.Queued, ...]
    paged: Paged


async def queue(session: AsyncSession, me: PersonDTO, *, page: int) -> QuestionQueue:
    """One page of the questions waiting for the person's county, oldest first."""
    paged = Paged(check_page(page), 0, PAGE_SIZE)
    found = await faq.unanswered(session, me, limit=PAGE_SIZE, offset=paged.offset)
    return QuestionQueue(found.items, Paged(paged.page, found.total, PAGE_SIZE))
