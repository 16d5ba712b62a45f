"""Who may do what where: the one role and region check every entry point goes through.

A person's ``region_id`` is their scope (a village, a township or a county); they may see and
act on everything within it and nothing outside. Use cases call these; chat handlers, the JSON
API, the console and the CLI never decide scope themselves.
"""

from __future__ import annotations

from collections.abc import Collection

from core.errors import Refused
from storage import regions as region_store
from storage.people import PersonDTO
from storage.session import AsyncSession

ROLE_REFUSED = "您的身份（{role}）不能进行{what}。"
SCOPE_REFUSED = "您只能查看和处理本辖区（{region}）的事务，无权访问{what}。"


def has_role(person: PersonDTO, roles: Collection[str]) -> bool:
    return person.role in roles


def require_role(person: PersonDTO, roles: Collection[str], what: str = "这个操作") -> None:
    if person.role not in roles:
        raise Refused(ROLE_REFUSED.format(role=person.role_zh, what=what))


async def can_see(session: AsyncSession, person: PersonDTO, region_id: int) -> bool:
    """Whether ``region_id`` lies within the person's own region (their region included)."""
    return await region_store.contains(session, person.region_id, region_id)


async def require_scope(
    session: AsyncSession, person: PersonDTO, region_id: int, what: str = "这个村的数据"
) -> None:
    if not await can_see(session, person, region_id):
        raise Refused(SCOPE_REFUSED.format(region=person.region_name, what=what))


async def village_ids(session: AsyncSession, person: PersonDTO) -> list[int]:
    """The villages within the person's scope (their own, for a village cadre)."""
    return await region_store.village_ids_under(session, person.region_id)
