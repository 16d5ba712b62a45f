"""Households changed by hand (the console's 户 page): add one, edit its category and helper
(帮扶责任人), retire it and restore it. Each change is audited on ``household:<id>`` with the
values before and after, which is the household's change history.

Who: township staff within their township, county staff and admins within their county
(services.scope); village cadres read only. A household outside the person's scope is answered
like an unknown one (NotFound). Retired is the roster's ``active`` flag: a retired household
leaves quotas, coverage and search, and keeps its visits and problems; importing the roster
again with its code brings it back, as before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.errors import Conflict, Invalid, NotFound
from core.privacy import mask_phone
from core.roles import STAFF_ROLES, Level
from core.rules import HOUSEHOLD_CATEGORIES
from core.text import clean_text
from services import household_texts as T
from services import scope
from storage import audit, household_edits, people, regions
from storage.household_edits import NewHousehold
from storage.households import MAX_MEMBERS, HouseholdDTO, normalize_category, phone_ok
from storage.people import PersonDTO
from storage.readmodels.household_history import object_of
from storage.session import AsyncSession

MAX_CODE = 32
MAX_NAME = 64
MAX_PHONE = 20
MAX_REASON = 100
_CODE = re.compile(r"[0-9A-Za-z_-]+")


@dataclass(frozen=True)
class Draft:
    """A new household as typed (text, unchecked)."""

    village_id: int
    code: str
    head_name: str
    category: str
    members: str
    helper: str = ""
    phone: str = ""


@dataclass(frozen=True)
class Edited:
    household: HouseholdDTO
    changed: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # field -> (before, after)


def may_edit(me: PersonDTO) -> bool:
    """Whether the person's role edits households (scope is checked per household)."""
    return scope.has_role(me, STAFF_ROLES)


async def editable(session: AsyncSession, me: PersonDTO, household_id: int) -> HouseholdDTO:
    """The household, locked for the change: NotFound outside the person's scope (like an
    unknown id), Refused for a role that only reads."""
    found = await household_edits.locked(session, household_id) if household_id > 0 else None
    if found is None or not await scope.can_see(session, me, found.village_id):
        raise NotFound(T.NO_SUCH_HOUSEHOLD.format(id=household_id))
    scope.require_role(me, STAFF_ROLES, T.WHAT_EDIT)
    return found


def _one_line(raw: str, name: str, limit: int) -> str:
    text = clean_text(raw, limit * 4).strip()
    if "\n" in text or "\t" in text:
        raise Invalid(T.NAME_LINES.format(field=name), field=name)
    if len(text) > limit:
        raise Invalid(T.NAME_TOO_LONG.format(field=name, n=limit), field=name)
    return text


def check_category(raw: str) -> str:
    category = normalize_category(raw.strip())
    if category is None:
        known = "、".join(HOUSEHOLD_CATEGORIES)
        message = T.CATEGORY_BAD.format(category=raw.strip()[:16], known=known)
        raise Invalid(message, field="category")
    return category


def _code(raw: str) -> str:
    code = raw.strip()
    if not code:
        raise Invalid(T.CODE_NEEDED, field="code")
    if len(code) > MAX_CODE:
        raise Invalid(T.CODE_TOO_LONG.format(n=MAX_CODE), field="code")
    if not _CODE.fullmatch(code):
        raise Invalid(T.CODE_CHARS, field="code")
    return code


def _members(raw: str) -> int:
    text = raw.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 3 and 1 <= int(text) <= MAX_MEMBERS):
        raise Invalid(T.MEMBERS_BAD.format(n=MAX_MEMBERS), field="members")
    return int(text)


def _phone(raw: str) -> str | None:
    text = raw.strip()
    if not text:
        return None
    if len(text) > MAX_PHONE or not phone_ok(text):
        raise Invalid(T.PHONE_BAD, field="phone")
    return text


async def _village(session: AsyncSession, me: PersonDTO, village_id: int) -> int:
    region = await regions.get(session, village_id) if village_id > 0 else None
    if (
        region is None
        or region.level != Level.VILLAGE
        or not await scope.can_see(session, me, region.id)
    ):
        raise Invalid(T.VILLAGE_BAD, field="village")
    return region.id


async def _helper(
    session: AsyncSession, village_id: int, raw: str
) -> tuple[str | None, int | None]:
    name = _one_line(raw, "帮扶责任人", MAX_NAME)
    if not name:
        return None, None
    return name, await household_edits.helper_id(session, village_id, name)


async def _log(
    session: AsyncSession,
    me: PersonDTO,
    action: str,
    household_id: int,
    now: datetime,
    **detail: Any,
) -> None:
    await audit.log(
        session,
        at=now,
        person_id=me.id,
        action=action,
        obj=object_of(household_id),
        detail={**detail, "via": "console"},
    )


async def create(session: AsyncSession, me: PersonDTO, draft: Draft, *, now: datetime) -> int:
    """Add a household to a village within the person's scope; its id."""
    scope.require_role(me, STAFF_ROLES, T.WHAT_EDIT)
    village_id = await _village(session, me, draft.village_id)
    code = _code(draft.code)
    head = _one_line(draft.head_name, "户主姓名", MAX_NAME)
    if not head:
        raise Invalid(T.HEAD_NEEDED, field="head_name")
    category = check_category(draft.category)
    members = _members(draft.members)
    phone = _phone(draft.phone)
    helper_name, helper_id = await _helper(session, village_id, draft.helper)
    new = NewHousehold(code, village_id, head, category, members, helper_name, helper_id, phone)
    taken = Invalid(T.CODE_TAKEN.format(code=code), field="code")
    if await household_edits.code_taken(session, code):
        raise taken
    household_id = await household_edits.add(session, new, now)
    if household_id is None:
        raise taken
    after = {
        "code": code,
        "village": village_id,
        "head_name": head,
        "category": category,
        "members": members,
        "helper": helper_name,
        "phone": mask_phone(phone) or None,  # the audit keeps no phone in full
    }
    await _log(session, me, "household.create", household_id, now, before={}, after=after)
    return household_id


async def edit(
    session: AsyncSession,
    me: PersonDTO,
    household_id: int,
    *,
    category: str,
    helper: str,
    now: datetime,
) -> Edited:
    """Change a household's category and helper; audited only when something changed."""
    found = await editable(session, me, household_id)
    if not found.active:
        raise Conflict(T.RETIRED_NO_EDIT)
    new_category = check_category(category)
    helper_name, helper_id = await _helper(session, found.village_id, helper)
    values: dict[str, Any] = {}
    changed: dict[str, tuple[Any, Any]] = {}
    if new_category != found.category:
        values["category"] = new_category
        changed["category"] = (found.category, new_category)
    shown = await _helper_shown(session, found)
    if helper_name != shown:
        values.update(helper_name=helper_name, helper_id=helper_id)
        changed["helper"] = (shown, helper_name)
    if values:
        await household_edits.change(session, found.id, now, **values)
    if changed:
        before = {k: b for k, (b, _) in changed.items()}
        after = {k: a for k, (_, a) in changed.items()}
        await _log(session, me, "household.edit", found.id, now, before=before, after=after)
    return Edited(found, changed)


async def _helper_shown(session: AsyncSession, h: HouseholdDTO) -> str | None:
    """The helper's name as the page shows it: the roster's name, else the linked person's."""
    if h.helper_name or h.helper_id is None:
        return h.helper_name
    person = await people.get(session, h.helper_id)
    return person.name if person else None


def check_reason(raw: str, *, required: bool) -> str:
    reason = clean_text(raw, MAX_REASON * 4).strip()
    if required and not reason:
        raise Invalid(T.REASON_NEEDED, field="reason")
    if len(reason) > MAX_REASON:
        raise Invalid(T.REASON_TOO_LONG.format(n=MAX_REASON), field="reason")
    return reason


async def retirable(session: AsyncSession, me: PersonDTO, household_id: int) -> HouseholdDTO:
    """The household, when the person may retire it now (for the 确认注销? page)."""
    found = await editable(session, me, household_id)
    if not found.active:
        raise Conflict(T.ALREADY_RETIRED)
    return found


async def retire(
    session: AsyncSession, me: PersonDTO, household_id: int, *, reason: str, now: datetime
) -> HouseholdDTO:
    """Retire a household (注销): out of quotas, coverage and search; visits and problems
    stay. ``reason`` is required and kept in the audit row."""
    found = await retirable(session, me, household_id)
    why = check_reason(reason, required=True)
    await household_edits.change(session, found.id, now, active=False)
    await _log(
        session,
        me,
        "household.retire",
        found.id,
        now,
        before={"active": True},
        after={"active": False},
        reason=why,
    )
    return found


async def restore(
    session: AsyncSession, me: PersonDTO, household_id: int, *, reason: str, now: datetime
) -> HouseholdDTO:
    """Bring a retired household back (恢复); the reason is optional."""
    found = await editable(session, me, household_id)
    why = check_reason(reason, required=False)
    if found.active:
        raise Conflict(T.NOT_RETIRED)
    await household_edits.change(session, found.id, now, active=True)
    detail: dict[str, Any] = {"before": {"active": False}, "after": {"active": True}}
    if why:
        detail["reason"] = why
    await _log(session, me, "household.restore", found.id, now, **detail)
    return found
