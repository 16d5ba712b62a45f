"""The FAQ entries (问答条目) for staff: browse, view, add, edit, retire, restore, and merge a
queued question into an entry (合并到已有问答).

Who may do what (checked here, whatever the page shows):
- reading: staff (township, county, admin) read the shared entries (``county_id`` NULL: the
  national and provincial FAQ, from the shipped file or ``cunbot faq import``) and their own
  county's, which is what the chat answers their villages; another county's entry is answered
  like an unknown one (404).
- writing: county staff and admins, on their own county's entries. Shared entries are written
  only by the operator's ``cunbot faq import`` (they answer every county), so they are
  read-only here.

Every write is audited and moves the FAQ's write counter on (storage.faq), which every
process's index checks before answering; the caller refreshes its own index after commit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from core.errors import Conflict, Invalid, NotFound, Refused
from core.numbers import Series
from core.privacy import mask_pii
from core.roles import COUNTY_ROLES, STAFF_ROLES
from core.rules import Rules
from services import faq, faq_file, scope
from services.console import Paged, check_page
from storage import audit, counters, questions
from storage import faq as faq_store
from storage import regions as region_store
from storage.faq import MAX_ANSWER, MAX_QUESTION, FaqDTO
from storage.people import PersonDTO
from storage.questions import QuestionDTO
from storage.session import AsyncSession

PAGE_SIZE = 20
MAX_SEARCH = 50
MAX_SOURCE = faq_file.MAX_SOURCE
MAX_VARIANTS = faq_file.MAX_VARIANTS
SCOPES = ("all", "own", "shared")
STATES = ("active", "retired")
ADDED_TAG = "县级问答"

# --- what the person sees when a use case refuses ----------------------------------------------
READING = "查看问答"
EDITING = "修改问答"
NO_SUCH_ENTRY = "没有这条问答，请从问答列表里打开。"
SHARED_READ_ONLY = (
    "这是上级共享的问答，各县共用，只能由系统管理员用导入文件修改，工作台里只能查看。"
)
BAD_FILTER = "筛选条件不对，请从页面上的选项里选。"
SEARCH_TOO_LONG = f"搜索的字太多了（最多 {MAX_SEARCH} 字）。"
QUESTION_NEEDED = f"请填写问题（最多 {MAX_QUESTION} 字）。"
ANSWER_NEEDED = f"请填写答案（最多 {MAX_ANSWER} 字）。"
SOURCE_NEEDED = f"请填写来源，如政策文件名称（最多 {MAX_SOURCE} 字）。"
REVIEWED_BAD = "核对日期请写成 2026-11-01 这样的格式，且不能晚于今天。"
VARIANTS_BAD = f"例句最多 {MAX_VARIANTS} 条，每行一条，每条最多 {MAX_QUESTION} 字。"
RETIRED_ALREADY = "这条问答已经停用了。"
ACTIVE_ALREADY = "这条问答没有停用，不用恢复。"
RETIRED_NO_MERGE = "这条问答已经停用，不能用它答复，请选别的问答或直接答复。"
NO_COUNTY = "您的账号不属于任何县，不能添加问答。"


@dataclass(frozen=True)
class EntryFields:
    """An entry's form as typed (all text); :func:`check_fields` turns it into clean values."""

    question: str = ""
    answer: str = ""
    source: str = ""
    reviewed: str = ""
    variants: str = ""  # one example question a line


@dataclass(frozen=True)
class Clean:
    question: str
    answer: str
    source: str
    reviewed_on: date
    variants: tuple[str, ...]


@dataclass(frozen=True)
class Listed:
    entry: FaqDTO
    editable: bool


@dataclass(frozen=True)
class EntryPage:
    items: tuple[Listed, ...]
    paged: Paged
    can_write: bool


@dataclass(frozen=True)
class Merged:
    question: QuestionDTO
    entry: FaqDTO
    alias_added: bool


def _text(raw: str, limit: int, message: str, field: str) -> str:
    value = raw.strip()
    if not value or len(value) > limit:
        raise Invalid(message, field=field)
    return value


def _reviewed(raw: str, today: date) -> date:
    try:
        day = date.fromisoformat(raw.strip())
    except ValueError:
        raise Invalid(REVIEWED_BAD, field="reviewed") from None
    if day > today or day.year < 2000:
        raise Invalid(REVIEWED_BAD, field="reviewed")
    return day


def _variants(raw: str, question: str) -> tuple[str, ...]:
    lines = [line.strip() for line in raw.splitlines()]
    kept = tuple(dict.fromkeys(line for line in lines if line and line != question))
    if len(kept) > MAX_VARIANTS or any(len(v) > MAX_QUESTION for v in kept):
        raise Invalid(VARIANTS_BAD, field="variants")
    return kept


def check_fields(fields: EntryFields, today: date) -> Clean:
    """The form's values, each within its limit, or :class:`Invalid` naming the first field
    at fault."""
    question = _text(fields.question, MAX_QUESTION, QUESTION_NEEDED, "question")
    return Clean(
        question=question,
        answer=_text(fields.answer, MAX_ANSWER, ANSWER_NEEDED, "answer"),
        source=_text(fields.source, MAX_SOURCE, SOURCE_NEEDED, "source"),
        reviewed_on=_reviewed(fields.reviewed, today),
        variants=_variants(fields.variants, question),
    )


async def _county_id(session: AsyncSession, person: PersonDTO) -> int | None:
    county = await region_store.county_of(session, person.region_id)
    return county.id if county else None


def _may_write(person: PersonDTO, entry: FaqDTO, county_id: int | None) -> bool:
    return (
        person.role in COUNTY_ROLES and entry.county_id is not None and entry.county_id == county_id
    )


async def _readable(session: AsyncSession, person: PersonDTO, faq_id: str) -> FaqDTO:
    """Entry ``faq_id`` if the person may read it; unknown, malformed and another county's
    ids get the same :class:`NotFound`."""
    scope.require_role(person, STAFF_ROLES, READING)
    entry = await faq_store.get(session, faq_id) if faq_file.valid_id(faq_id) else None
    if entry is None or entry.county_id not in (None, await _county_id(session, person)):
        raise NotFound(NO_SUCH_ENTRY)
    return entry


async def _writable(session: AsyncSession, person: PersonDTO, faq_id: str) -> FaqDTO:
    scope.require_role(person, COUNTY_ROLES, EDITING)
    entry = await _readable(session, person, faq_id)
    if entry.county_id is None:
        raise Refused(SHARED_READ_ONLY)
    return entry


async def browse(
    session: AsyncSession,
    person: PersonDTO,
    *,
    whose: str = "all",
    state: str = "active",
    text: str = "",
    page: int = 1,
) -> EntryPage:
    """One page of the entries the person may read, filtered (whose: all | own | shared;
    state: active | retired; text: in the id, question, answer or source)."""
    scope.require_role(person, STAFF_ROLES, READING)
    if whose not in SCOPES or state not in STATES:
        raise Invalid(BAD_FILTER, field="scope")
    text = text.strip()
    if len(text) > MAX_SEARCH:
        raise Invalid(SEARCH_TOO_LONG, field="q")
    paged = Paged(check_page(page), 0, PAGE_SIZE)
    county_id = await _county_id(session, person)
    wanted = faq_store.Browse(
        county_id=county_id,
        own=whose != "shared",
        shared=whose != "own",
        retired=state == "retired",
        text=text,
    )
    rows, total = await faq_store.browse(session, wanted, limit=PAGE_SIZE, offset=paged.offset)
    items = tuple(Listed(e, _may_write(person, e, county_id)) for e in rows)
    can_write = person.role in COUNTY_ROLES and county_id is not None
    return EntryPage(items, Paged(paged.page, total, PAGE_SIZE), can_write)


async def view(session: AsyncSession, person: PersonDTO, faq_id: str) -> Listed:
    entry = await _readable(session, person, faq_id)
    return Listed(entry, _may_write(person, entry, await _county_id(session, person)))


async def editable(session: AsyncSession, person: PersonDTO, faq_id: str) -> FaqDTO:
    """The entry, if the person may change it (the edit and retire forms)."""
    return await _writable(session, person, faq_id)


async def retirable(session: AsyncSession, person: PersonDTO, faq_id: str) -> FaqDTO:
    """The entry, if the person may retire it now (the confirmation page)."""
    entry = await _writable(session, person, faq_id)
    if entry.retired_at is not None:
        raise Conflict(RETIRED_ALREADY)
    return entry


def fields_of(entry: FaqDTO) -> EntryFields:
    """An entry as its edit form shows it."""
    return EntryFields(
        question=entry.question,
        answer=entry.answer,
        source=entry.source,
        reviewed=entry.reviewed_on.isoformat() if entry.reviewed_on else "",
        variants="\n".join(entry.variants),
    )


async def blank(
    session: AsyncSession, person: PersonDTO, *, now: datetime, rules: Rules
) -> EntryFields:
    """The add form (reviewed: today), if the person may add entries."""
    scope.require_role(person, COUNTY_ROLES, EDITING)
    if await _county_id(session, person) is None:
        raise Refused(NO_COUNTY)
    return EntryFields(reviewed=rules.local(now).date().isoformat())


async def _new_id(session: AsyncSession, county_id: int) -> str:
    while True:
        faq_id = f"C{county_id}-{await counters.next_number(session, county_id, Series.FAQ)}"
        if await faq_store.get(session, faq_id) is None:
            return faq_id


async def add(
    session: AsyncSession, person: PersonDTO, fields: EntryFields, *, now: datetime, rules: Rules
) -> FaqDTO:
    """A new entry of the person's county (answers askers of that county only)."""
    scope.require_role(person, COUNTY_ROLES, EDITING)
    county_id = await _county_id(session, person)
    if county_id is None:
        raise Refused(NO_COUNTY)
    clean = check_fields(fields, rules.local(now).date())
    entry = FaqDTO(
        id=await _new_id(session, county_id),
        question=clean.question,
        answer=clean.answer,
        variants=clean.variants,
        source=clean.source,
        tags=(ADDED_TAG,),
        reviewed_on=clean.reviewed_on,
        county_id=county_id,
    )
    saved = await faq_store.add(session, entry, now)
    await audit.log(session, at=now, person_id=person.id, action="faq.add", obj=f"faq:{saved.id}")
    return saved


def _changes(before: FaqDTO, after: FaqDTO) -> dict[str, object]:
    """The fields an edit changed, with their old values (for the audit row)."""
    names = ("question", "answer", "source", "reviewed_on", "variants")
    return {
        name: str(old) if isinstance(old, date) else old
        for name in names
        if (old := getattr(before, name)) != getattr(after, name)
    }


async def edit(
    session: AsyncSession,
    person: PersonDTO,
    faq_id: str,
    fields: EntryFields,
    *,
    now: datetime,
    rules: Rules,
) -> FaqDTO:
    """Change an entry of the person's county (question, answer, source, reviewed date,
    example questions); a retired entry may be corrected too (it stays retired)."""
    before = await _writable(session, person, faq_id)
    clean = check_fields(fields, rules.local(now).date())
    after = replace(
        before,
        question=clean.question,
        answer=clean.answer,
        source=clean.source,
        reviewed_on=clean.reviewed_on,
        variants=clean.variants,
    )
    changed = _changes(before, after)
    if changed:
        await faq_store.upsert_many(session, [after], now)
        await audit.log(
            session,
            at=now,
            person_id=person.id,
            action="faq.edit",
            obj=f"faq:{faq_id}",
            detail={"before": changed},
        )
    return after


async def retire(session: AsyncSession, person: PersonDTO, faq_id: str, *, now: datetime) -> FaqDTO:
    """停用: the chat stops answering from the entry; it is kept and can be restored."""
    entry = await retirable(session, person, faq_id)
    return await _set_retired(session, person, entry, now, now, "faq.retire")


async def restore(
    session: AsyncSession, person: PersonDTO, faq_id: str, *, now: datetime
) -> FaqDTO:
    entry = await _writable(session, person, faq_id)
    if entry.retired_at is None:
        raise Conflict(ACTIVE_ALREADY)
    return await _set_retired(session, person, entry, None, now, "faq.restore")


async def _set_retired(
    session: AsyncSession,
    person: PersonDTO,
    entry: FaqDTO,
    retired_at: datetime | None,
    now: datetime,
    action: str,
) -> FaqDTO:
    changed = await faq_store.set_retired(session, entry.id, retired_at, now)
    assert changed is not None
    await audit.log(session, at=now, person_id=person.id, action=action, obj=f"faq:{entry.id}")
    return changed


def _alias(entry: FaqDTO, text: str) -> tuple[str, ...] | None:
    """The entry's example questions with ``text`` added, or None when it cannot or need not
    be added (already there, too long, the list full)."""
    alias = mask_pii(text.strip())
    if alias == entry.question or alias in entry.variants or len(alias) > MAX_QUESTION:
        return None
    if len(entry.variants) >= MAX_VARIANTS:
        return None
    return (*entry.variants, alias)


async def merge(
    session: AsyncSession,
    person: PersonDTO,
    number: int,
    faq_id: str,
    *,
    now: datetime,
    rules: Rules,
) -> Merged:
    """合并到已有问答: answer queued question ``number`` with the entry's answer (the same use
    case, push and audit as 答复), link the question to the entry, and, when the entry is the
    county's own, add the question to its example questions so the chat answers it next time.
    """
    scope.require_role(person, COUNTY_ROLES, faq.ANSWERING)
    entry = await _readable(session, person, faq_id)
    if entry.retired_at is not None:
        raise Conflict(RETIRED_NO_MERGE)
    answered = await faq.answer(session, person, number, entry.answer, now=now, rules=rules)
    linked = await questions.update(session, answered.question.id, faq_id=entry.id)
    assert linked is not None
    variants = None
    if _may_write(person, entry, await _county_id(session, person)):
        variants = _alias(entry, answered.question.text)
    if variants is not None:
        await faq_store.upsert_many(session, [replace(entry, variants=variants)], now)
    await audit.log(
        session,
        at=now,
        person_id=person.id,
        action="faq.merge",
        obj=f"question:{linked.id}",
        detail={"number": number, "faq_id": entry.id, "alias_added": variants is not None},
    )
    return Merged(linked, entry, variants is not None)
