"""Which console pages a person may open, for the layout's navigation.

Every page shows the person's own region (services.console.scoped_region), which a signed-in
person always may; a page with a role check of its own lists that check here, the same
function the page's use case calls, so the navigation never offers a page that answers 403.
"""

from __future__ import annotations

from collections.abc import Callable

from core.errors import DomainError
from services import faq
from storage.people import PersonDTO

# The navigation's pages (keys of bot.web.console.texts.NAV) with a role check of their own.
ROLE_CHECKS: dict[str, Callable[[PersonDTO], None]] = {
    "faq": faq.require_answerer,  # 问答: services.faq.unanswered
}


def may_open(me: PersonDTO, page: str) -> bool:
    check = ROLE_CHECKS.get(page)
    if check is None:
        return True
    try:
        check(me)
    except DomainError:
        return False
    return True


def visible(me: PersonDTO, pages: tuple[str, ...]) -> frozenset[str]:
    """The keys of ``pages`` that ``me`` may open."""
    return frozenset(p for p in pages if may_open(me, p))
