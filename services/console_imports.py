"""导入户籍表 in the console: county and township staff upload a roster (CSV or XLSX), which
is imported all-or-nothing as a background job (services.jobs) by the same code as
``cunbot households import`` (bot.household_import), limited to the villages of the person's
scope: a file naming any other village is refused whole.

The upload is checked here before a job exists: its size, and its type by its first bytes
(an XLSX is a ZIP archive; a CSV is text in UTF-8 or GB18030), not by its name.
"""

from __future__ import annotations

import codecs
from datetime import datetime

from core.roles import STAFF_ROLES
from services import job_texts as T
from services import jobs, scope
from storage import regions
from storage.jobs import JobDTO
from storage.people import PersonDTO
from storage.session import AsyncSession

IMPORT_ROLES = STAFF_ROLES  # township staff, county staff, administrators
MAX_BYTES = 10 * 1024 * 1024
MAX_ERRORS_SHOWN = 200  # row errors kept with the job (the count is kept in full)
XLSX_MAGIC = b"PK\x03\x04"
_CONTROL = {chr(c) for c in range(32)} - {"\t", "\n", "\r"}


def may_import(me: PersonDTO) -> bool:
    return scope.has_role(me, IMPORT_ROLES)


def sniff(head: bytes) -> str | None:
    """``.xlsx`` or ``.csv`` from a file's first bytes; ``None`` for anything else."""
    if head.startswith(XLSX_MAGIC):
        return ".xlsx"
    if not head:
        return None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            # Incremental: the sample may end inside a character.
            text = codecs.getincrementaldecoder(encoding)().decode(head, final=False)
        except UnicodeDecodeError:
            continue
        return None if any(ch in _CONTROL for ch in text) else ".csv"
    return None


async def request_import(
    session: AsyncSession,
    me: PersonDTO,
    *,
    file_name: str,
    size: int,
    stored: str,
    now: datetime,
) -> JobDTO:
    """A queued import job for the person's region, audited as ``households.import_request``."""
    scope.require_role(me, IMPORT_ROLES, T.IMPORT_WHAT)
    return await jobs.submit(
        session,
        me,
        kind=T.IMPORT_KIND,
        region_id=me.region_id,
        params={"file": file_name[:64], "bytes": size},
        now=now,
        action="households.import_request",
        file=stored,
    )


async def allowed_villages(session: AsyncSession, me: PersonDTO) -> frozenset[int]:
    """The villages a roster imported by ``me`` may name."""
    return frozenset(await regions.village_ids_under(session, me.region_id))


def error_summary(errors: list[tuple[int, str, str]]) -> dict[str, object]:
    """What a failed import keeps: the first rows' errors (row, column, reason) and the count."""
    return {"errors": [list(e) for e in errors[:MAX_ERRORS_SHOWN]], "error_count": len(errors)}
