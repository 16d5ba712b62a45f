"""What a handler gets: the unit of work for one message, the person, the clock and the rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock
from core.errors import Refused
from core.messages import Incoming, Reply
from core.rules import Rules
from storage import audit, conversations, outbox
from storage import regions as region_store
from storage.people import PersonDTO


@dataclass
class Context:
    session: AsyncSession
    clock: Clock
    rules: Rules
    incoming: Incoming
    person: PersonDTO | None
    services: dict[str, Any] = field(default_factory=dict)
    state: conversations.State | None = None

    def now(self) -> datetime:
        return self.clock.now()

    @property
    def me(self) -> PersonDTO:
        if self.person is None:
            raise Refused("请先绑定：发送「绑定 邀请码」。")
        return self.person

    # --- roles and scope -------------------------------------------------------------
    def require_role(self, roles: frozenset[str] | set[str], what: str = "这个操作") -> PersonDTO:
        me = self.me
        if me.role not in roles:
            raise Refused(f"您的身份（{me.role_zh}）不能进行{what}。")
        return me

    async def require_scope(self, region_id: int, what: str = "这个村的数据") -> None:
        """Refuse unless ``region_id`` lies within the person's own region."""
        me = self.me
        if not await region_store.contains(self.session, me.region_id, region_id):
            raise Refused(f"您只能查看和处理本辖区（{me.region_name}）的事务，无权访问{what}。")

    async def my_village_ids(self) -> list[int]:
        return await region_store.village_ids_under(self.session, self.me.region_id)

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
        at = not_before or self.now()
        if respect_quiet_hours:
            at = self.rules.after_quiet_hours(at)
        return await outbox.enqueue(
            self.session,
            recipient_id=person_id,
            body=reply.to_dict(),
            key=key,
            now=self.now(),
            not_before=at,
            priority=outbox.PRIORITY_REPLY if urgent else outbox.PRIORITY_BULK,
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
