"""What a handler gets: the unit of work for one message, the person, the clock, the rules and
the long-lived services of the running app (:class:`Services`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.clock import Clock
from core.errors import Refused
from core.messages import Incoming, Reply
from core.rules import Rules
from services import pushes, scope
from services.faq_index import FaqService
from storage import audit, conversations
from storage.people import PersonDTO
from storage.session import AsyncSession


@dataclass
class Services:
    """What handlers use beyond the database, each ``None`` until the app provides it.

    Filled while the app starts (the FAQ index once the database is up), after the inbound
    pipeline holding it was made: hence a mutable object shared by reference, not a frozen
    one.
    """

    faq: FaqService | None = None


@dataclass
class Context:
    session: AsyncSession
    clock: Clock
    rules: Rules
    incoming: Incoming
    person: PersonDTO | None
    services: Services = field(default_factory=Services)
    state: conversations.State | None = None

    def now(self) -> datetime:
        return self.clock.now()

    @property
    def me(self) -> PersonDTO:
        if self.person is None:
            raise Refused("请先绑定：发送「绑定 邀请码」。")
        return self.person

    # --- roles and scope (services.scope decides; these only bind it to the sender) ------
    def require_role(self, roles: frozenset[str] | set[str], what: str = "这个操作") -> PersonDTO:
        scope.require_role(self.me, roles, what)
        return self.me

    async def require_scope(self, region_id: int, what: str = "这个村的数据") -> None:
        """Refuse unless ``region_id`` lies within the person's own region."""
        await scope.require_scope(self.session, self.me, region_id, what)

    async def my_village_ids(self) -> list[int]:
        return await scope.village_ids(self.session, self.me)

    # --- conversation state ---------------------------------------------------------------
    async def set_state(self, flow: str, step: str, data: dict[str, Any] | None = None) -> None:
        self.state = await conversations.put(
            self.session, self.me.id, flow, step, data or {}, self.now()
        )

    async def clear_state(self) -> None:
        self.state = None
        await conversations.clear(self.session, self.me.id)

    # --- effects -------------------------------------------------------------------------
    async def push(
        self,
        person_id: int,
        reply: Reply,
        key: str,
        *,
        urgent: bool = True,
        not_before: datetime | None = None,
        respect_quiet_hours: bool = False,
    ) -> int | None:
        """Send a message to *another* person through the outbox (idempotent by ``key``)."""
        return await pushes.push(
            self.session,
            to=person_id,
            reply=reply,
            key=key,
            now=self.now(),
            rules=self.rules,
            urgent=urgent,
            not_before=not_before,
            respect_quiet_hours=respect_quiet_hours,
        )

    async def audit(self, action: str, obj: str, detail: dict[str, Any] | None = None) -> None:
        await audit.log(
            self.session,
            at=self.now(),
            person_id=self.person.id if self.person else None,
            action=action,
            obj=obj,
            detail=detail,
        )
