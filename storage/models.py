"""The ledger's tables (SQLAlchemy 2 declarative). One record of each fact.

Times are stored as UTC (naive in the column, aware in Python; see :class:`UTCDateTime`).
Schema changes go through Alembic (storage/migrations); ``tests/test_migrations.py`` checks
that the migrations and these models agree.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; stored naive UTC on every backend."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONType, list[Any]: JSONType}


class Region(Base):
    """County > township > village (县 > 乡镇 > 村)."""

    __tablename__ = "regions"
    __table_args__ = (sa.UniqueConstraint("parent_id", "name", name="parent_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("regions.id"), index=True)
    level: Mapped[str] = mapped_column(sa.String(16))  # county | township | village
    name: Mapped[str] = mapped_column(sa.String(64))
    code: Mapped[str | None] = mapped_column(sa.String(32), unique=True)


# "Not looked at yet": a new person's digests are due for a look at once.
DIGEST_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Who gets each digest (tasks.digest), as the predicate of its partial index: the morning
# rush rewrites a million rows' morning time, and then touches only this index of the two.
DIGEST_WHO = {
    "morning": "role IN ('secretary', 'team_member') AND active",
    "evening": "role IN ('county_staff') AND active",
    "nudge": "role IN ('secretary', 'team_member') AND active",  # the month-end visit nudge
}


class Person(Base):
    __tablename__ = "people"
    # The digest catch-up reads only people whose next digest time has come (tasks.digest),
    # through these indexes, instead of every person's preferences each minute.
    __table_args__ = (
        *(
            sa.Index(
                f"ix_people_{kind}_due",
                f"{kind}_next_at",
                postgresql_where=sa.text(who),
                sqlite_where=sa.text(who),
            )
            for kind, who in DIGEST_WHO.items()
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64))
    role: Mapped[str] = mapped_column(sa.String(32))
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"), index=True)
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    active: Mapped[bool] = mapped_column(default=True)
    # Personal preferences set in chat, e.g. {"morning_digest": "08:00"} or {"digest_off": true}.
    prefs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_channel: Mapped[str | None] = mapped_column(sa.String(16))
    created_at: Mapped[datetime]
    # When the digest job next needs to look at this person (UTC): their digest time on the
    # day after the last one was queued, today's time when it has not come yet, tomorrow's
    # start when it is off. Reset to DIGEST_EPOCH when their digest preferences change.
    morning_next_at: Mapped[datetime] = mapped_column(
        default=DIGEST_EPOCH, server_default="1970-01-01 00:00:00"
    )
    evening_next_at: Mapped[datetime] = mapped_column(
        default=DIGEST_EPOCH, server_default="1970-01-01 00:00:00"
    )
    # the month-end visit nudge's: the next month's 25th once queued, an hour on when the
    # person's village has nobody short (tasks.nudges)
    nudge_next_at: Mapped[datetime] = mapped_column(
        default=DIGEST_EPOCH, server_default="1970-01-01 00:00:00"
    )


class Identity(Base):
    """A person's account on one channel (web chat browser, WeCom user id, Telegram chat id)."""

    __tablename__ = "identities"
    __table_args__ = (sa.UniqueConstraint("channel", "external_id", name="channel_external"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(16))
    external_id: Mapped[str] = mapped_column(sa.String(128))
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="ok")  # ok | blocked | invalid
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime | None]


class Invite(Base):
    __tablename__ = "invites"

    code: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    role: Mapped[str] = mapped_column(sa.String(32))
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"))
    name: Mapped[str | None] = mapped_column(sa.String(64))
    # An invite made for an existing person binds another channel to that same person.
    person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("people.id"))
    expires_at: Mapped[datetime]
    used_by: Mapped[int | None] = mapped_column(sa.ForeignKey("people.id"))
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class Household(Base):
    """A registered household (户), with its category and paired helper (帮扶责任人)."""

    __tablename__ = "households"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    village_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"), index=True)
    head_name: Mapped[str] = mapped_column(sa.String(64))
    category: Mapped[str] = mapped_column(sa.String(16))
    members: Mapped[int] = mapped_column(default=1)
    helper_name: Mapped[str | None] = mapped_column(sa.String(64))
    helper_id: Mapped[int | None] = mapped_column(sa.ForeignKey("people.id"))
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    active: Mapped[bool] = mapped_column(default=True)
    # Kept by storage.visit_summary in the transaction that writes a visit (None: no active
    # visit): the latest active visit (the console's "not visited for 30 days"), and the
    # latest month with one, with its household_months figures (this month's coverage reads
    # them from here instead of joining household_months).
    last_visited_at: Mapped[datetime | None]
    last_month: Mapped[str | None] = mapped_column(sa.String(7), index=True)
    last_month_visits: Mapped[int | None]
    last_month_days: Mapped[int | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class HouseholdMonth(Base):
    """A household's active visits in one local month (``visits``) and the days with one
    (``days``), kept by storage.visit_summary in the transaction that writes a visit; visit
    coverage (storage.readmodels.coverage) counts from here. No row: no active visit."""

    __tablename__ = "household_months"
    __table_args__ = (
        # A month of every household (county coverage) read from the index alone.
        sa.Index("ix_household_months_month", "month", "household_id", "days", "visits"),
    )

    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id"), primary_key=True)
    month: Mapped[str] = mapped_column(sa.String(7), primary_key=True)
    visits: Mapped[int]
    days: Mapped[int]


class VillageHouseholds(Base):
    """A village's active households of one category, kept by storage.village_tallies with
    every household written; coverage counts the households without a visit from here."""

    __tablename__ = "village_households"

    village_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"), primary_key=True)
    category: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    households: Mapped[int]


class VillageMonthTally(Base):
    """How many active households of a village and category had ``visits`` active visits on
    ``days`` days in ``month`` (households without a visit have no row): the village's
    household_months pre-counted, kept by storage.village_tallies in the transaction that
    writes a visit or a household. County coverage reads these instead of every household."""

    __tablename__ = "village_month_tallies"

    village_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"), primary_key=True)
    month: Mapped[str] = mapped_column(sa.String(7), primary_key=True)
    category: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    visits: Mapped[int] = mapped_column(primary_key=True)
    days: Mapped[int] = mapped_column(primary_key=True)
    households: Mapped[int]


class Visit(Base):
    """One household visit (入户走访). ``month`` and ``day`` are local, e.g. ``2026-11``."""

    __tablename__ = "visits"
    __table_args__ = (
        sa.Index("ix_visits_household_month", "household_id", "month"),
        # Covering indexes for monthly progress: 本月走访 reads one village's month, county
        # coverage one month of every village; neither needs to touch the table rows (``day``
        # is there for the once-a-day quota count).
        sa.Index("ix_visits_village_month", "village_id", "month", "status", "household_id", "day"),
        sa.Index("ix_visits_month_status", "month", "status", "household_id", "village_id", "day"),
        # Households not visited for 30 days (the console): recent visits of the villages,
        # read from the index alone.
        sa.Index("ix_visits_village_visited", "village_id", "visited_at", "household_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id"))
    village_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"))
    visitor_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id"), index=True)
    visited_at: Mapped[datetime]
    month: Mapped[str] = mapped_column(sa.String(7), index=True)
    day: Mapped[date]  # the local date of ``visited_at``
    checklist: Mapped[dict[str, Any]] = mapped_column(default=dict)
    note: Mapped[str | None] = mapped_column(sa.Text)
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    location_flag: Mapped[str | None] = mapped_column(sa.String(32))
    status: Mapped[str] = mapped_column(sa.String(16), default="active")  # active | revoked
    source_message_id: Mapped[str | None] = mapped_column(sa.String(128))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class VisitQuota(Base):
    """A county's, township's or village's own monthly visit quota for one household category,
    overriding the configured default (``CUNBOT_VISIT_QUOTAS``); the nearest region wins."""

    __tablename__ = "visit_quotas"
    __table_args__ = (sa.UniqueConstraint("region_id", "category", name="region_category"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"))
    category: Mapped[str] = mapped_column(sa.String(16))
    per_month: Mapped[int]
    updated_at: Mapped[datetime]


class Photo(Base):
    __tablename__ = "photos"
    # "This person's loose photos of the last ten minutes" (the attachment window).
    __table_args__ = (sa.Index("ix_photos_uploader_created", "uploaded_by", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    path: Mapped[str] = mapped_column(sa.String(255))
    thumb_path: Mapped[str | None] = mapped_column(sa.String(255))
    mime: Mapped[str] = mapped_column(sa.String(32))
    # photo | voice (a voice note: no thumbnail, width and height 0)
    kind: Mapped[str] = mapped_column(sa.String(8), default="photo", server_default="photo")
    size: Mapped[int]
    width: Mapped[int]
    height: Mapped[int]
    taken_at: Mapped[datetime | None]
    uploaded_by: Mapped[int | None] = mapped_column(sa.ForeignKey("people.id"))
    visit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("visits.id"), index=True)
    assignment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("assignments.id"), index=True)
    # A voice note sent during 整改完成 (handlers/rectify.py): the problem it speaks about.
    problem_id: Mapped[int | None] = mapped_column(sa.ForeignKey("problems.id"), index=True)
    # Set when the sender said the photo belongs to nothing (不用了) or removed it from a visit:
    # it is then never attached by itself again.
    discarded_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class Problem(Base):
    """An entry on a village's problem list (问题清单), found on a visit. ``number`` is its
    public number in the county (``问题 5``), which its rectification item carries too."""

    __tablename__ = "problems"
    __table_args__ = (sa.UniqueConstraint("county_id", "number", name="problem_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"))
    number: Mapped[int]
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id"), index=True)
    village_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"), index=True)
    visit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("visits.id"))
    kind: Mapped[str] = mapped_column(sa.String(32))
    description: Mapped[str] = mapped_column(sa.Text)
    # open | review (fixed, waiting for 复核) | closed (reviewed) | void
    status: Mapped[str] = mapped_column(sa.String(16), default="open")
    assignment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("assignments.id"))
    found_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]


class Task(Base):
    """Work sent down from the county (任务/通知), or a rectification item (整改).

    ``number`` is the public number (core.numbers): tasks and notices share the county's
    ``task`` series; a rectification item carries its problem's number."""

    __tablename__ = "tasks"
    __table_args__ = (sa.UniqueConstraint("county_id", "kind", "number", name="task_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16), default="task")  # task | notice | rectify
    number: Mapped[int]
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    created_by: Mapped[int] = mapped_column(sa.ForeignKey("people.id"))
    county_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"), index=True)
    deadline: Mapped[datetime | None]
    reminder_offsets: Mapped[list[Any]] = mapped_column(default=list)
    evidence_required: Mapped[bool] = mapped_column(default=False)
    scope: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(
        sa.String(16), default="active"
    )  # active | cancelled | closed
    created_at: Mapped[datetime]


class TaskFile(Base):
    """A file sent down with a task (附件: a PDF, DOCX or XLSX template the villages download).
    The bytes are stored once per SHA-256 under the media directory (services.media); each
    task that carries them has its own row, with the name the sender gave it."""

    __tablename__ = "task_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(sa.ForeignKey("tasks.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    size: Mapped[int]
    mime: Mapped[str] = mapped_column(sa.String(100))
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    path: Mapped[str] = mapped_column(sa.String(255))  # relative to the media directory
    uploaded_by: Mapped[int] = mapped_column(sa.ForeignKey("people.id"))
    created_at: Mapped[datetime]


UNSCHEDULED = (
    "remind_at IS NULL AND deadline IS NOT NULL AND status IN ('pending', 'acked', 'returned')"
)


class Assignment(Base):
    """One village's (or one person's) share of a task, with its own status and evidence."""

    __tablename__ = "assignments"
    __table_args__ = (
        sa.UniqueConstraint("task_id", "village_id", name="task_village"),
        sa.Index("ix_assignments_status_deadline", "status", "deadline"),
        # Open assignments with a deadline that the reminder scan has not scheduled yet (new
        # rows, returned rows); partial, so closed rows never make this lookup slower.
        sa.Index(
            "ix_assignments_unscheduled",
            "id",
            postgresql_where=sa.text(UNSCHEDULED),
            sqlite_where=sa.text(UNSCHEDULED),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(sa.ForeignKey("tasks.id"))
    village_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("people.id"), index=True)
    # pending | acked | submitted | approved | returned | cancelled (core.statuses)
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    deadline: Mapped[datetime | None]
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    return_reason: Mapped[str | None] = mapped_column(sa.Text)
    acked_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # When the reminder scan next needs to look at this row (None: not yet scheduled); the
    # scan reads only rows whose time has come, instead of every open assignment.
    remind_at: Mapped[datetime | None] = mapped_column(index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Faq(Base):
    __tablename__ = "faqs"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    question: Mapped[str] = mapped_column(sa.Text)
    variants: Mapped[list[Any]] = mapped_column(default=list)
    answer: Mapped[str] = mapped_column(sa.Text)
    source: Mapped[str] = mapped_column(sa.Text, default="")
    tags: Mapped[list[Any]] = mapped_column(default=list)
    reviewed_on: Mapped[date | None]
    updated_at: Mapped[datetime]
    # None: national or provincial, answers everyone; a county's id: that county's own answer
    # (存为问答), given to askers of that county only.
    county_id: Mapped[int | None] = mapped_column(sa.ForeignKey("regions.id"), index=True)
    # Set when the entry is retired (停用): kept for the record, never answered from.
    retired_at: Mapped[datetime | None]


class FaqState(Base):
    """One row: a counter every FAQ write moves on, so each process's index notices a change
    made elsewhere with one cheap read, whatever the clocks say (services.faq_index)."""

    __tablename__ = "faq_state"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class FaqVector(Base):
    """The sentence vector of one FAQ phrasing, by a hash of the model and the text
    (services.faq_embed.key), so a restart or another process embeds only new phrasings."""

    __tablename__ = "faq_vectors"

    key: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    vector: Mapped[bytes] = mapped_column(sa.LargeBinary)


class Question(Base):
    """A policy question asked in chat, and what became of it (answered / handed to staff)."""

    __tablename__ = "questions"
    __table_args__ = (sa.UniqueConstraint("county_id", "number", name="question_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    asked_by: Mapped[int] = mapped_column(sa.ForeignKey("people.id"), index=True)
    county_id: Mapped[int | None] = mapped_column(sa.ForeignKey("regions.id"), index=True)
    # The public number (``提问 7``), given when the question enters the county's queue.
    number: Mapped[int | None]
    text: Mapped[str] = mapped_column(sa.Text)
    faq_id: Mapped[str | None] = mapped_column(sa.String(32))
    score: Mapped[float | None]
    # answered | suggested | pending (queued for staff) | staff_answered | ignored
    status: Mapped[str] = mapped_column(sa.String(16))
    feedback: Mapped[str | None] = mapped_column(sa.String(16))  # useful | useless
    answer: Mapped[str | None] = mapped_column(sa.Text)
    answered_by: Mapped[int | None] = mapped_column(sa.ForeignKey("people.id"))
    answered_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class Counter(Base):
    """The last public number a county gave out in one series (core.numbers.Series), moved
    on in the transaction that writes the numbered row, so numbers have no gaps."""

    __tablename__ = "counters"

    county_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)


class Conversation(Base):
    """Where a person is in a multi-step flow; kept in the database so it survives restarts."""

    __tablename__ = "conversations"

    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id"), primary_key=True)
    flow: Mapped[str] = mapped_column(sa.String(32))
    step: Mapped[str] = mapped_column(sa.String(32))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime]


class InboxMessage(Base):
    __tablename__ = "inbox"
    __table_args__ = (sa.UniqueConstraint("channel", "message_id", name="channel_message"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(16))
    message_id: Mapped[str] = mapped_column(sa.String(128))
    sender_id: Mapped[str] = mapped_column(sa.String(128))
    payload: Mapped[dict[str, Any]]
    received_at: Mapped[datetime]
    handled_at: Mapped[datetime | None] = mapped_column(index=True)
    error: Mapped[str | None] = mapped_column(sa.Text)


# The rows a delivery worker may claim, in the order it claims them (storage.outbox.claim_due).
_OUTBOX_LIVE = "status IN ('pending', 'sending')"


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        sa.Index("ix_outbox_due", "status", "priority", "not_before"),
        sa.Index(
            "ix_outbox_ready",
            "priority",
            "rank",
            "id",
            postgresql_where=sa.text(_OUTBOX_LIVE),
            sqlite_where=sa.text(_OUTBOX_LIVE),
        ),
        sa.Index(
            "ix_outbox_lane_tail",
            "lane",
            "rank",
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id"), index=True)
    channel: Mapped[str | None] = mapped_column(sa.String(16))
    body: Mapped[dict[str, Any]]
    idempotency_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    priority: Mapped[int] = mapped_column(default=1)  # 0 = reply to a person, 1 = bulk
    not_before: Mapped[datetime]
    # pending | sending | sent | dead | undeliverable | cancelled
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    claimed_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(sa.String(64))
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    acked_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    # Fair sharing of bulk rows (storage.outbox): whose queue a row is in (e.g. "county:12";
    # "" for rows nobody named) and its place in that queue's turn order.
    lane: Mapped[str] = mapped_column(sa.String(32), default="", server_default="")
    rank: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")


# PostgreSQL: every insert into the outbox wakes the delivery workers that LISTEN (one
# notification a statement, sent at commit; storage.outbox_listen). Migration 0020 makes the
# same trigger on a migrated database.
OUTBOX_CHANNEL = "cunbot_outbox"
OUTBOX_NOTIFY_DDL = (
    "CREATE OR REPLACE FUNCTION cunbot_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS "
    f"$$ BEGIN PERFORM pg_notify('{OUTBOX_CHANNEL}', ''); RETURN NULL; END $$",
    "CREATE TRIGGER outbox_notify AFTER INSERT ON outbox "
    "FOR EACH STATEMENT EXECUTE FUNCTION cunbot_outbox_notify()",
)
for _ddl in OUTBOX_NOTIFY_DDL:
    sa.event.listen(
        OutboxMessage.__table__,
        "after_create",
        sa.DDL(_ddl).execute_if(dialect="postgresql"),  # type: ignore[no-untyped-call]
    )


class WebChatMessage(Base):
    """Web chat history, so a reopened page shows what was said and pushed."""

    __tablename__ = "webchat_messages"
    __table_args__ = (sa.Index("ix_webchat_identity_id", "identity_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    identity_id: Mapped[int] = mapped_column(sa.ForeignKey("identities.id"))
    direction: Mapped[str] = mapped_column(sa.String(3))  # in | out
    body: Mapped[dict[str, Any]]
    outbox_id: Mapped[int | None] = mapped_column(sa.ForeignKey("outbox.id"))
    created_at: Mapped[datetime]


class ApiToken(Base):
    """Bearer tokens for the county staff JSON API; only a hash is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class Audit(Base):
    __tablename__ = "audit"
    # One object's history (a household's changes on its console page), newest first.
    __table_args__ = (sa.Index("ix_audit_object_id", "object", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("people.id"))
    action: Mapped[str] = mapped_column(sa.String(64))
    object: Mapped[str] = mapped_column(sa.String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class RateWindow(Base):
    """A sliding-window log of send times (epoch seconds) for one rate-limit key, shared by
    every process (``channel`` for a channel's overall limit, ``channel:recipient`` per person).
    Updated under a row lock by :mod:`storage.rate_windows`."""

    __tablename__ = "rate_windows"

    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    times: Mapped[list[Any]] = mapped_column(default=list)
    updated_at: Mapped[datetime] = mapped_column(index=True)


class ConsoleLink(Base):
    """A one-time sign-in link to the county console (后台); only a hash of its token."""

    __tablename__ = "console_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class ConsoleSession(Base):
    """A signed-in console browser: a hash of its cookie, its CSRF token, until when."""

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class Job(Base):
    """A background job (an export, a registry import) started from the console: who started
    it and for which region, how far it got (written by the process running it, readable by
    any), and where its result file is. ``heartbeat_at`` is renewed while it runs, so a job
    whose process died is found and marked failed."""

    __tablename__ = "jobs"
    __table_args__ = (sa.Index("ix_jobs_status_heartbeat", "status", "heartbeat_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id"), index=True)
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(sa.String(16))
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(sa.Text)
    result_path: Mapped[str | None] = mapped_column(sa.String(255))
    result_name: Mapped[str | None] = mapped_column(sa.String(255))
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(index=True)
    heartbeat_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class ChannelCard(Base):
    """A message sent with clickable buttons (a WeCom template card, 模板卡片): to whom, which
    buttons (label, payload), and the one response code spent updating it after a press."""

    __tablename__ = "channel_cards"
    __table_args__ = (
        sa.UniqueConstraint("channel", "card_id", name="channel_card"),
        sa.Index("ix_channel_cards_recipient", "channel", "external_id", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(16))
    card_id: Mapped[str] = mapped_column(sa.String(128))
    external_id: Mapped[str] = mapped_column(sa.String(128))
    buttons: Mapped[list[Any]]
    sent_at: Mapped[datetime]
    response_code: Mapped[str | None] = mapped_column(sa.String(512), unique=True)
    answered_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(sa.String(200))
