"""The scope matrix: every role x every path that takes a number or an id x every foreign scope.

Roles: secretary, team member, village cadre (of 石门村), township staff (东岭镇), county staff
(示范县). Targets: another village of the same township (柳树村), another township's village
(杏花村, 西川乡), another county's village (外村, 邻县). A target is foreign to an actor when it
lies outside the actor's region. For every foreign attempt the test asserts:

- the reply is the reply to an unknown number or id (digits and the typed name aside): no
  existence oracle;
- one ``refused`` audit row names the actor;
- nothing else in the database changed (every table but the inbox, the audit and delivery).

Paths: the chat commands that take a public number (core.numbers) or a village name, and a
forged payload of every button class that carries a number or an id (plus malformed payloads
of each). The web paths (media, the
ledger link, the JSON API) are in tests/bot/web/test_scope_web.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from core import payloads as P
from core.numbers import Series
from services import tasks as task_service
from storage import counters, people, questions
from storage.models import Audit, Base, Problem, Visit
from tests.chat import ChatDriver
from tests.factories import add_county, add_household, bind, make_world

ROLES = ("secretary", "team_member", "village_cadre", "township_staff", "county_staff")
SCOPES = ("other_village", "other_township", "other_county")
# Tables whose rows a refused attempt must leave as they were.
_VOLATILE = {"inbox", "audit", "outbox", "webchat_messages", "identities", "people"}
UNKNOWN = 999_999


@dataclass
class Place:
    village_id: int
    village: str
    task: int  # public numbers (core.numbers): the notice sent to this village ...
    problem: int  # ... the problem found there (and its rectification item) ...
    question_number: int  # ... and its question in the county's queue
    photo: int
    household: int
    visit: int
    question: int  # the question's row id, which the FAQ buttons carry


@dataclass
class Matrix:
    chat: ChatDriver
    actors: dict[str, int]  # role -> person id
    senders: dict[str, str]  # role -> sender id on the test channel
    places: dict[str, Place]  # "own" and each scope
    own_household: int


def visible(role: str, scope: str) -> bool:
    """Whether the actor of ``role`` may see the target of ``scope`` (then it is not foreign)."""
    if role == "county_staff":
        return scope != "other_county"
    if role == "township_staff":
        return scope == "other_village"
    return False


async def _seed_place(sm, chat, clock, rules, sec, village, county_staff) -> Place:
    now = clock.now()
    async with sm() as s, s.begin():
        hh = await add_household(
            s, village.id, f"HH{village.id:04d}", f"户主{village.id}", "监测户", now
        )
        head = hh.head_name
    key = f"seed-{sec.id}"
    await bind(sm, sec, "test", key, now)
    await chat.send(key, f"走访 {head} 饮水正常 孩子都在上学 医保已交 房子屋顶漏雨")
    await chat.press(key, "visit:confirm")
    from services.media import save_image_sync
    from tests.handlers.test_visits import photo_bytes

    await chat.photo(
        key, save_image_sync(rules.media_dir, photo_bytes((village.id % 250, 1, 2))).to_dict()
    )
    async with sm() as s:  # the photo goes on the visit when its household is chosen
        from storage.models import Photo

        loose = await s.scalar(sa.select(Photo.id).where(Photo.uploaded_by == sec.id))
    await chat.press(key, P.VisitPhoto(loose, hh.id).pack())
    async with sm() as s, s.begin():
        visit = await s.scalar(sa.select(Visit.id).where(Visit.household_id == hh.id))
        problem = await s.scalar(sa.select(Problem.number).where(Problem.visit_id == visit))
        photo = await s.scalar(sa.select(Photo.id).where(Photo.visit_id == visit))
        task = await task_service.create_task(
            s,
            county_staff,
            task_service.TaskDraft(
                kind="notice", title=f"通知{village.id}", scope={"villages": [village.name]}
            ),
            now=now,
            rules=rules,
            via="test",
        )
        q = await questions.record(
            s,
            asked_by=sec.id,
            county_id=county_staff.region_id,
            text="低保怎么申请",
            status=questions.PENDING,
            now=now,
        )
    assert visit and problem and photo, (visit, problem, photo)
    assert q.number is not None
    return Place(
        village.id, village.name, task.task.number, problem, q.number, photo, hh.id, visit, q.id
    )


@pytest.fixture
async def matrix(sessionmaker, clock, rules) -> Matrix:
    home = await make_world(sessionmaker, clock.now())
    away = await add_county(sessionmaker, clock.now())
    chat = ChatDriver(sessionmaker, clock, rules)
    v = home.villages
    async with sessionmaker() as s, s.begin():
        # Numbers are a county's own: the other county's 任务 1 would be this county's 任务 1.
        # Its series start further on, so its numbers name nothing here: typed or forged, they
        # must be answered like an unknown number (which is what a foreign number is).
        for series in Series:
            for _ in range(10):
                await counters.next_number(s, away.county.id, series)
    places = {
        "own": await _seed_place(sessionmaker, chat, clock, rules, home.people["sec0"], v[0], home.people["county0"]),
        "other_village": await _seed_place(sessionmaker, chat, clock, rules, home.people["sec1"], v[1], home.people["county0"]),
        "other_township": await _seed_place(sessionmaker, chat, clock, rules, home.people["sec2"], v[2], home.people["county0"]),
        "other_county": await _seed_place(sessionmaker, chat, clock, rules, away.people["sec"], away.villages[0], away.people["county"]),
    }  # fmt: skip
    actors = {"secretary": home.people["sec0"], "township_staff": home.people["town0"]}
    actors["county_staff"] = home.people["county0"]
    async with sessionmaker() as s, s.begin():
        for role in ("team_member", "village_cadre"):
            actors[role] = await people.add(
                s, name=role, role=role, region_id=v[0].id, now=clock.now()
            )
    for role, person in actors.items():
        if role != "secretary":  # bound while seeding, as seed-<id>
            await bind(sessionmaker, person, "test", role, clock.now())
    senders = {r: r for r in actors} | {"secretary": f"seed-{actors['secretary'].id}"}
    ids = {r: p.id for r, p in actors.items()}
    return Matrix(chat, ids, senders, places, places["own"].household)


# --- the paths --------------------------------------------------------------------------------
Path = Callable[[Place | None, int], str]  # (target, own household) -> text or payload


def _id(place: Place | None, attr: str) -> int:
    return getattr(place, attr) if place else UNKNOWN


def _village(place: Place | None) -> str:
    return place.village if place else "无此村"


COMMANDS: dict[str, Path] = {
    "通过": lambda p, _: f"通过 {_id(p, 'task')} {_village(p)}",
    "退回": lambda p, _: f"退回 {_id(p, 'task')} {_village(p)} 材料不全",
    "进度": lambda p, _: f"进度 {_id(p, 'task')}",
    "撤销任务": lambda p, _: f"撤销任务 {_id(p, 'task')}",
    "任务": lambda p, _: f"任务 {_id(p, 'task')}",
    "提交": lambda p, _: f"提交 {_id(p, 'task')}",
    "整改完成": lambda p, _: f"整改完成 {_id(p, 'problem')}",
    "复核通过": lambda p, _: f"复核通过 {_id(p, 'problem')}",
    "复核退回": lambda p, _: f"复核退回 {_id(p, 'problem')} 照片看不清",
    "未走访": lambda p, _: f"未走访 {_village(p)}",
    "答复": lambda p, _: f"答复 {_id(p, 'question_number')} 到村委会申请",
    "存为问答": lambda p, _: f"存为问答 {_id(p, 'question_number')}",
}

BUTTONS: dict[str, Path] = {
    "item:ack": lambda p, _: P.ItemAck("t", _id(p, "task")).pack(),
    "item:done": lambda p, _: P.ItemDone("t", _id(p, "task")).pack(),
    "item:send": lambda p, _: P.ItemSend("p", _id(p, "problem")).pack(),
    "rv:ok": lambda p, _: P.ReviewPass(_id(p, "task"), _id(p, "village_id")).pack(),
    "rv:back": lambda p, _: P.ReviewBack(_id(p, "task"), _id(p, "village_id")).pack(),
    "visit:hh": lambda p, _: P.VisitHousehold(_id(p, "household")).pack(),
    "visit:ph": lambda p, own: P.VisitPhoto(_id(p, "photo"), own).pack(),
    "visit:revoke": lambda p, _: P.VisitRevoke(_id(p, "visit")).pack(),
    "duev": lambda p, _: P.DueVillagePage(_id(p, "village_id"), 1).pack(),
    "faq:up": lambda p, _: P.FaqUseful(_id(p, "question")).pack(),
    "faq:down": lambda p, _: P.FaqNotUseful(_id(p, "question")).pack(),
    "faq:pick": lambda p, _: P.FaqPick(_id(p, "question"), "F001").pack(),
    "faq:none": lambda p, _: P.FaqNone(_id(p, "question")).pack(),
    "withdraw:yes": lambda p, _: P.WithdrawConfirm(_id(p, "task")).pack(),
    "withdraw:no": lambda p, _: P.WithdrawKeep(_id(p, "task")).pack(),
    "photo:drop": lambda p, _: P.PhotoDrop(_id(p, "photo")).pack(),
    "photo:move": lambda p, _: P.PhotoMove(_id(p, "photo")).pack(),
    "photo:to": lambda p, _: P.PhotoMoveTo(_id(p, "photo"), _id(p, "visit")).pack(),
    "photo:rm": lambda p, _: P.PhotoRemove(_id(p, "photo")).pack(),
    "photo:rmok": lambda p, _: P.PhotoRemoveConfirm(_id(p, "photo")).pack(),
    "photo:keep": lambda p, _: P.PhotoKeep(_id(p, "photo")).pack(),
    "rfix:ok": lambda p, _: P.RectifyApprove(_id(p, "problem")).pack(),
    "rfix:back": lambda p, _: P.RectifyReturn(_id(p, "problem")).pack(),
    "intent:visit": lambda p, _: P.IntentVisit(_id(p, "household")).pack(),
    "intent:pick": lambda p, _: P.IntentPick(7, _id(p, "household")).pack(),
    # The number of a question asked about free text: none is pending, any number is stale.
    "intent:ans": lambda p, _: P.IntentAnswer(_id(p, "question"), "yes").pack(),
}
MALFORMED = (":abc", ":0", ":99999999999", ":1:2:3", "")


def _norm(text: str, place: Place | None) -> str:
    if place is not None:
        text = text.replace(place.village, "<q>")
    return re.sub(r"\d+", "#", text.replace("无此村", "<q>"))


async def _snapshot(sm) -> dict[str, list[tuple]]:
    out = {}
    async with sm() as s:
        for table in Base.metadata.sorted_tables:
            if table.name not in _VOLATILE:
                rows = (await s.execute(sa.select(table))).all()
                out[table.name] = sorted(tuple(map(str, r)) for r in rows)
    return out


async def _refusals(sm) -> list[int | None]:
    async with sm() as s:
        return list(
            await s.scalars(
                sa.select(Audit.person_id).where(Audit.action == "refused").order_by(Audit.id)
            )
        )


# 未走访 <村> from a village role says the name is not theirs and lists their own village:
# nothing foreign is read, so there is nothing to refuse (the reply is still compared with the
# unknown one).
OWN_VILLAGE_ONLY = {("未走访", r) for r in ("secretary", "team_member", "village_cadre")}


async def _attempt(m: Matrix, sm, role: str, kind: str, message: str, refused=True) -> str:
    before = len(await _refusals(sm))
    if kind == "button":
        replies = await m.chat.press(m.senders[role], message)
    else:
        replies = await m.chat.send(m.senders[role], message)
    after = await _refusals(sm)
    expected = [m.actors[role]] if refused else []
    assert after[before:] == expected, (role, message, [r.text for r in replies])
    return "\n".join(r.text for r in replies)


async def _run(m: Matrix, sm, paths: dict[str, Path], kind: str) -> int:
    """Every attempt of the matrix; how many were refused and audited."""
    start = await _snapshot(sm)
    attempts = 0
    for r, role in enumerate(ROLES):
        for p, (name, path) in enumerate(paths.items()):
            refused = (name, role) not in OWN_VILLAGE_ONLY
            first = await _attempt(m, sm, role, kind, path(None, m.own_household), refused)
            unknown = _norm(first, None)
            for scope in SCOPES:
                if visible(role, scope):
                    continue
                place = m.places[scope]
                got = await _attempt(m, sm, role, kind, path(place, m.own_household), refused)
                assert _norm(got, place) == unknown, (role, name, scope, got, unknown)
                attempts += refused
            if kind == "button" and p % len(ROLES) == r:  # each prefix malformed by one role
                for bad in MALFORMED:
                    got = await _attempt(m, sm, role, kind, name + bad)
                    assert _norm(got, None) == unknown, (role, name, bad, got, unknown)
    assert await _snapshot(sm) == start
    return attempts


async def test_chat_commands_on_foreign_ids_are_refused_like_unknown_ones(matrix, sessionmaker):
    n = await _run(matrix, sessionmaker, COMMANDS, "text")
    # 3 village roles x 3 scopes + township x 2 + county x 1, less 未走访 of the village roles
    assert n == len(COMMANDS) * 12 - 9


async def test_forged_buttons_are_refused_like_unknown_and_malformed_ones(matrix, sessionmaker):
    n = await _run(matrix, sessionmaker, BUTTONS, "button")
    assert n == len(BUTTONS) * 12


def test_every_button_class_with_an_id_is_in_the_matrix():
    with_ids = {
        prefix
        for prefix in P.prefixes()
        if any(str(f.type) == "int" for f in P._BY_PREFIX[prefix].__dataclass_fields__.values())
    }
    # a page number and a draft's number in the sender's own conversation, not ids
    drafts = {"bcast:send", "bcast:edit", "bcast:drop", "bcast:field", "bcast:ev", "bcast:skip"}
    assert with_ids - set(BUTTONS) == {"due"} | drafts
