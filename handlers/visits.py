"""Household visits by chat: one-message reports, the guided flow, photos, problems, progress.

Flow ``visit`` (state kept in the database, so a restart resumes at the same step):
    pick -> check (x5, buttons) [-> problem_text] -> note -> photos -> location -> confirm [-> dup]
A one-message report jumps straight to ``confirm``. Flow ``rectify``: 整改完成 N -> photo.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from handlers import visit_texts as T
from handlers.context import Context, Refused
from handlers.messages import Button, Reply, paged
from handlers.registry import Command, Registry
from handlers.visit_parse import CHECK_ZH, CHECKS, CORE_CHECKS, describe, parse_report
from storage import media, regions
from storage import problems as problem_store
from storage import visits as store
from storage.models import InboxMessage, Region
from storage.people import STAFF_ROLES, VILLAGE_ROLES
from storage.visits import HouseholdDTO, VisitDTO

log = logging.getLogger(__name__)

FLOW = "visit"
RECTIFY = "rectify"
DUE_PAGE = 15
PICK_BUTTONS = 8
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")


# --- helpers -----------------------------------------------------------------------------


def _month(ctx: Context, text: str = "") -> str:
    text = text.strip()
    if not text:
        return store.month_of(ctx.now(), ctx.rules.timezone)
    m = _MONTH.match(text)
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise Refused(T.MONTH_BAD)
    return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}"


def _local(ctx: Context, at: datetime) -> str:
    return ctx.rules.local(at).strftime("%m-%d %H:%M")


async def _village_id(ctx: Context) -> int:
    me = ctx.me
    if me.region_level != "village":
        raise Refused(T.NO_VILLAGE)
    return me.region_id


async def _household(ctx: Context, household_id: int) -> HouseholdDTO:
    hh = await store.get_household(ctx.session, household_id)
    if hh is None:
        raise Refused(T.NOT_FOUND_NONE.format(q=household_id))
    await ctx.require_scope(hh.village_id, f"{hh.head_name}户")
    return hh


async def _due_buttons(ctx: Context, village_id: int) -> list[tuple[str, str]]:
    progress = await store.village_progress(
        ctx.session, village_id, _month(ctx), ctx.rules.visit_quotas
    )
    return [
        (p.head_name, f"visit:hh:{p.household_id}")
        for p in store.still_due(progress)[:PICK_BUTTONS]
    ]


async def _store_photo(ctx: Context) -> tuple[int, bool] | None:
    stored = ctx.incoming.photo
    if not stored or not stored.get("sha256"):
        return None
    taken = media.exif_local_to_utc(stored.get("taken_at"), ctx.rules.timezone)
    photo_id, new = await store.add_photo(
        ctx.session, stored, uploaded_by=ctx.me.id, now=ctx.now(), taken_at=taken
    )
    await ctx.audit("photo.add", f"photo:{photo_id}", {"sha256": stored["sha256"], "new": new})
    return photo_id, new


async def _burst_location(ctx: Context) -> tuple[float, float] | None:
    """A location the sender shared in the last few minutes outside any flow (the inbox has it)."""
    inc = ctx.incoming
    payloads = await ctx.session.scalars(
        sa.select(InboxMessage.payload)
        .where(
            InboxMessage.channel == inc.channel,
            InboxMessage.sender_id == inc.sender_id,
            InboxMessage.received_at >= ctx.now() - store.PHOTO_WINDOW,
        )
        .order_by(InboxMessage.id.desc())
        .limit(30)
    )
    for p in payloads:
        if p.get("kind") == "location" and p.get("lat") is not None:
            return float(p["lat"]), float(p["lon"])
    return None


async def _flag(ctx: Context, village_id: int, lat: float, lon: float) -> str | None:
    county = await regions.county_of(ctx.session, village_id)
    villages = await regions.village_ids_under(ctx.session, county.id) if county else [village_id]
    return await store.location_flag(ctx.session, villages, lat, lon)


# --- summaries -----------------------------------------------------------------------------


async def _summary(ctx: Context, data: dict[str, Any]) -> Reply:
    hh = await _household(ctx, data["hh"])
    lines = [T.SUMMARY_HEAD.format(name=hh.head_name, code=hh.code, category=hh.category)]
    lines += describe(data.get("checks", {}))
    if data.get("note"):
        lines.append(T.SUMMARY_NOTE.format(note=data["note"]))
    if data.get("photos"):
        lines.append(T.SUMMARY_PHOTOS.format(n=len(data["photos"])))
    if data.get("lat") is not None:
        flag = T.FLAG_ZH.get(data.get("flag") or "", "")
        lines.append(T.SUMMARY_LOCATION.format(lat=data["lat"], lon=data["lon"], flag=flag))
    lines.append(T.SUMMARY_TAIL)
    return Reply(
        "\n".join(lines),
        (Button(T.BTN_CONFIRM, "visit:confirm"), Button(T.BTN_EDIT, "visit:edit")),
    )


def _check_prompt(i: int) -> Reply:
    key = CORE_CHECKS[i]
    return Reply(
        T.CHECK_ASK.format(i=i + 1, n=len(CORE_CHECKS), name=CHECK_ZH[key]),
        (
            Button(T.BTN_OK, f"visit:chk:{key}:ok"),
            Button(T.BTN_PROBLEM, f"visit:chk:{key}:problem"),
            Button(T.BTN_SKIP_CHECK, f"visit:chk:{key}:skip"),
        ),
    )


def _step_prompt(step: str, data: dict[str, Any]) -> Reply:
    if step == "check":
        return _check_prompt(data.get("i", 0))
    if step == "problem_text":
        return Reply(T.PROBLEM_ASK.format(name=CHECK_ZH[data["key"]]))
    if step == "note":
        return Reply(T.NOTE_ASK.format(limit=store.MAX_NOTE), (Button(T.BTN_SKIP, "visit:skip"),))
    if step == "photos":
        return Reply(T.PHOTOS_ASK, (Button(T.BTN_NEXT, "visit:next"),))
    if step == "location":
        return Reply(T.LOCATION_ASK, (Button(T.BTN_SKIP, "visit:skip"),))
    return Reply(T.PRESS_BUTTON)


async def _go(ctx: Context, step: str, data: dict[str, Any]) -> list[Reply]:
    await ctx.set_state(FLOW, step, data)
    if step == "confirm":
        return [await _summary(ctx, data)]
    return [_step_prompt(step, data)]


# --- 走访 ----------------------------------------------------------------------------------


async def _resolve(ctx: Context, query: str, data: dict[str, Any]) -> list[Reply]:
    """Find the household; on success move to the next step, else offer choices."""
    village_id = await _village_id(ctx)
    found = await store.search_households(ctx.session, village_id, query)
    if len(found.matches) == 1:
        return await _picked(ctx, found.matches[0], data)
    if found.matches:
        await ctx.set_state(FLOW, "pick", data)
        return [
            Reply(
                T.PICK_ONE.format(n=len(found.matches)),
                tuple(
                    Button(f"{h.head_name}（{h.code}）", f"visit:hh:{h.id}") for h in found.matches
                ),
            )
        ]
    if await store.households_elsewhere(ctx.session, village_id, query):
        raise Refused(T.OTHER_VILLAGE.format(q=query, village=ctx.me.region_name))
    await ctx.set_state(FLOW, "pick", data)
    if found.nearest:
        return [
            Reply(
                T.NOT_FOUND.format(q=query),
                tuple(Button(h.head_name, f"visit:hh:{h.id}") for h in found.nearest),
            )
        ]
    return [Reply(T.NOT_FOUND_NONE.format(q=query))]


async def _picked(ctx: Context, hh: HouseholdDTO, data: dict[str, Any]) -> list[Reply]:
    await ctx.require_scope(hh.village_id, f"{hh.head_name}户")
    data = {**data, "hh": hh.id}
    if data.get("quick"):
        return await _go(ctx, "confirm", data)
    return await _go(ctx, "check", {**data, "i": 0})


async def cmd_visit(ctx: Context, args: str) -> list[Reply]:
    village_id = await _village_id(ctx)
    data: dict[str, Any] = {
        "mode": "new",
        "checks": {},
        "photos": [],
        "msg": ctx.incoming.message_id,
    }
    if not args:
        await ctx.set_state(FLOW, "pick", data)
        pairs = await _due_buttons(ctx, village_id)
        if not pairs:
            return [Reply(T.ASK_HOUSEHOLD_EMPTY)]
        return [Reply(T.ASK_HOUSEHOLD, tuple(Button(a, b) for a, b in pairs))]
    report = parse_report(args)
    if report.note and len(report.note) > store.MAX_NOTE:
        return [Reply(T.NOTE_TOO_LONG.format(n=len(report.note), limit=store.MAX_NOTE))]
    data.update(checks=report.checklist(), note=report.note, quick=True)
    if not report.query:
        await ctx.set_state(FLOW, "pick", data)
        return [Reply(T.ASK_HOUSEHOLD_EMPTY)]
    return await _resolve(ctx, report.query, data)


async def flow_visit(ctx: Context) -> list[Reply]:
    """Messages (not buttons) while the visit flow is active."""
    assert ctx.state is not None
    step, data = ctx.state.step, dict(ctx.state.data)
    inc = ctx.incoming
    if inc.kind == "photo":
        got = await _store_photo(ctx)
        if got is None:
            return [Reply(T.PHOTO_UNREADABLE)]
        photo_id, new = got
        if photo_id not in data.get("photos", []):
            data["photos"] = [*data.get("photos", []), photo_id]
        await ctx.set_state(FLOW, step, data)
        head = T.PHOTO_GOT.format(n=len(data["photos"])) if new else T.PHOTO_SEEN
        return (
            [Reply(head)] if step == "photos" else [Reply(head), await _reprompt(ctx, step, data)]
        )
    if inc.kind == "location" and inc.lat is not None and inc.lon is not None:
        data.update(lat=inc.lat, lon=inc.lon)
        if data.get("hh"):
            hh = await _household(ctx, data["hh"])
            data["flag"] = await _flag(ctx, hh.village_id, inc.lat, inc.lon)
        nxt = "confirm" if step == "location" else step
        head = Reply(T.LOCATION_FAR if data.get("flag") else T.LOCATION_GOT)
        return [head, *(await _go(ctx, nxt, data))]
    text = inc.text.strip()
    if text.startswith(("走访", "/visit")) and step not in ("problem_text", "note"):
        # A fresh report replaces the unsaved one instead of being read as a name.
        word = "走访" if text.startswith("走访") else "/visit"
        return await cmd_visit(ctx, text[len(word) :].strip())
    if step == "pick" and text:
        return await _resolve(ctx, text, data)
    if step == "problem_text" and text:
        if len(text) > store.MAX_NOTE:
            return [Reply(T.NOTE_TOO_LONG.format(n=len(text), limit=store.MAX_NOTE))]
        data["checks"] = {**data["checks"], data["key"]: {"status": "problem", "text": text}}
        return await _next_check(ctx, data)
    if step == "note" and text:
        if len(text) > store.MAX_NOTE:
            return [Reply(T.NOTE_TOO_LONG.format(n=len(text), limit=store.MAX_NOTE))]
        data["note"] = text
        return await _go(ctx, "photos", data)
    return [Reply(T.PRESS_BUTTON), await _reprompt(ctx, step, data)]


async def _reprompt(ctx: Context, step: str, data: dict[str, Any]) -> Reply:
    if step == "confirm":
        return await _summary(ctx, data)
    if step == "pick":
        return Reply(T.ASK_HOUSEHOLD_EMPTY)
    return _step_prompt(step, data)


async def _next_check(ctx: Context, data: dict[str, Any]) -> list[Reply]:
    i = data.get("i", 0) + 1
    data.pop("key", None)
    if i < len(CORE_CHECKS):
        return await _go(ctx, "check", {**data, "i": i})
    if data.get("mode") == "amend":
        return await _go(ctx, "confirm", data)
    return await _go(ctx, "note", data)


async def on_button(ctx: Context, rest: str) -> list[Reply]:
    action, _, arg = rest.partition(":")
    if action == "due":
        return await _due_page(ctx, int(arg or 1))
    if action == "ph":
        photo_id, _, hh_id = arg.partition(":")
        return await _photo_for(ctx, int(photo_id), int(hh_id))
    if action == "revoke":
        return await _revoke(ctx, int(arg))
    state = ctx.state
    if state is None or state.flow != FLOW:
        return [Reply(T.PRESS_BUTTON if state else "这个按钮已失效，请重新发送「走访」。")]
    step, data = state.step, dict(state.data)
    if action == "hh" and step == "pick":
        return await _picked(ctx, await _household(ctx, int(arg)), data)
    if action == "chk" and step == "check":
        key, _, verdict = arg.partition(":")
        if key != CORE_CHECKS[data.get("i", 0)]:
            return [_check_prompt(data.get("i", 0))]
        checks = dict(data.get("checks", {}))
        if verdict == "problem":
            return await _go(ctx, "problem_text", {**data, "checks": checks, "key": key})
        if verdict == "ok":
            checks[key] = {"status": "ok", "text": T.BTN_OK}
        else:
            checks.pop(key, None)
        return await _next_check(ctx, {**data, "checks": checks})
    if action == "skip" and step == "note":
        return await _go(ctx, "photos", data)
    if action == "next" and step == "photos":
        return await _go(ctx, "location", data)
    if action == "skip" and step == "location":
        return await _go(ctx, "confirm", data)
    if action == "edit" and step == "confirm":
        return await _go(ctx, "check", {**data, "i": 0})
    if action == "confirm" and step == "confirm":
        return await _save(ctx, data)
    if action == "dup" and step == "dup":
        if arg == "same":
            return await _merge(ctx, data)
        return await _save(ctx, {**data, "dup_ok": True})
    return [Reply(T.PRESS_BUTTON), await _reprompt(ctx, step, data)]


# --- saving ----------------------------------------------------------------------------------


async def _open_problems(
    ctx: Context, hh: HouseholdDTO, visit_id: int, checks: dict[str, Any], keys: list[str]
) -> list[int]:
    county = await regions.county_of(ctx.session, hh.village_id)
    assert county is not None
    ids = []
    for key in keys:
        text = checks[key].get("text") or CHECK_ZH[key]
        p = await problem_store.open_problem(
            ctx.session,
            household_id=hh.id,
            village_id=hh.village_id,
            county_id=county.id,
            visit_id=visit_id,
            kind=CHECK_ZH[key],
            title=f"整改：{hh.head_name} {CHECK_ZH[key]}",
            description=text,
            reporter_id=ctx.me.id,
            now=ctx.now(),
            rectify_days=ctx.rules.rectify_days,
        )
        await ctx.audit("problem.open", f"problem:{p.id}", {"visit": visit_id, "kind": key})
        ids.append(p.id)
    return ids


def _problem_keys(checks: dict[str, Any]) -> list[str]:
    return [k for k in CHECKS if checks.get(k, {}).get("status") == "problem"]


async def _save(ctx: Context, data: dict[str, Any]) -> list[Reply]:
    if data.get("mode") == "amend":
        return await _apply_amend(ctx, data)
    hh = await _household(ctx, data["hh"])
    now = ctx.now()
    if not data.get("dup_ok"):
        dup = await store.recent_visit_of(ctx.session, hh.id, now)
        if dup is not None:
            await ctx.set_state(FLOW, "dup", {**data, "dup": dup.id})
            minutes = max(1, int((now - dup.visited_at).total_seconds() // 60))
            return [
                Reply(
                    T.DUPLICATE_ASK.format(
                        name=hh.head_name, minutes=minutes, at=_local(ctx, dup.visited_at)
                    ),
                    (Button(T.BTN_SAME, "visit:dup:same"), Button(T.BTN_NEW, "visit:dup:new")),
                )
            ]
    lat, lon, flag = data.get("lat"), data.get("lon"), data.get("flag")
    if lat is not None and "flag" not in data:  # shared before the household was known
        flag = await _flag(ctx, hh.village_id, lat, data["lon"])
    if lat is None:
        burst = await _burst_location(ctx)
        if burst:
            lat, lon = burst
            flag = await _flag(ctx, hh.village_id, lat, lon)
    checks = data.get("checks", {})
    visit = await store.record_visit(
        ctx.session,
        household=hh,
        visitor_id=ctx.me.id,
        at=now,
        tz=ctx.rules.timezone,
        checklist=checks,
        note=data.get("note") or None,
        lat=lat,
        lon=lon,
        location_flag=flag,
        source_message_id=data.get("msg"),
    )
    photos = list(
        dict.fromkeys(
            [*data.get("photos", []), *await store.loose_photos(ctx.session, ctx.me.id, now)]
        )
    )
    attached = await store.attach_photos(ctx.session, photos, visit.id)
    problem_ids = await _open_problems(ctx, hh, visit.id, checks, _problem_keys(checks))
    await ctx.audit(
        "visit.record",
        f"visit:{visit.id}",
        {"household": hh.id, "checks": checks, "photos": photos, "flag": flag},
    )
    await ctx.clear_state()
    log.info(
        "visit recorded visit=%s person=%s msg=%s", visit.id, ctx.me.id, ctx.incoming.message_id
    )
    return [await _saved_reply(ctx, hh, visit, attached, problem_ids)]


async def _saved_reply(
    ctx: Context, hh: HouseholdDTO, visit: VisitDTO, photos: int, problem_ids: list[int]
) -> Reply:
    progress = await store.village_progress(
        ctx.session, hh.village_id, visit.month, ctx.rules.visit_quotas
    )
    mine = next((p for p in progress if p.household_id == hh.id), None)
    lines = [
        T.SAVED.format(
            name=hh.head_name,
            id=visit.id,
            visited=mine.visited if mine else 1,
            required=mine.required if mine else 0,
        )
    ]
    if photos:
        lines.append(T.SAVED_PHOTOS.format(n=photos))
    if visit.location_flag:
        lines.append(T.LOCATION_FAR)
    if problem_ids:
        lines.append(
            T.SAVED_PROBLEMS.format(
                n=len(problem_ids),
                days=ctx.rules.rectify_days,
                ids="、".join(f"#{i}" for i in problem_ids),
            )
        )
    return Reply("\n".join(lines), meta={"kind": "visit", "visit": visit.id})


async def _merge(ctx: Context, data: dict[str, Any]) -> list[Reply]:
    """The second report was the same visit: fold it into the first."""
    visit = await store.get_visit(ctx.session, data["dup"])
    assert visit is not None
    checks = {**visit.checklist, **data.get("checks", {})}
    notes = [n for n in (visit.note, data.get("note")) if n]
    note = "；".join(dict.fromkeys(notes))[: store.MAX_NOTE] or None
    amend = {"visit_id": visit.id, "checks": checks, "note": note, "photos": data.get("photos", [])}
    for key in ("lat", "lon", "flag"):
        if data.get(key) is not None:
            amend[key] = data[key]
    replies = await _apply_amend(ctx, amend, merged=True)
    return replies


async def _apply_amend(ctx: Context, data: dict[str, Any], merged: bool = False) -> list[Reply]:
    visit = await store.get_visit(ctx.session, data["visit_id"])
    if visit is None or visit.status != "active":
        await ctx.clear_state()
        return [Reply(T.NOTHING_TO_AMEND)]
    hh = await _household(ctx, visit.household_id)
    changes: dict[str, Any] = {
        "checklist": data.get("checks", {}),
        "note": data.get("note") or None,
    }
    if data.get("lat") is not None:
        changes.update(lat=data["lat"], lon=data["lon"], location_flag=data.get("flag"))
    updated, before = await store.amend(ctx.session, visit.id, ctx.now(), **changes)
    # Problems follow the checklist: new problems open, withdrawn ones become void (kept).
    existing = {
        p.kind: p
        for p in await problem_store.for_visit(ctx.session, visit.id)
        if p.status == "open"
    }
    wanted = _problem_keys(updated.checklist)
    wanted_kinds = {CHECK_ZH[k] for k in wanted}
    for kind, p in existing.items():
        if kind not in wanted_kinds:
            await problem_store.void(ctx.session, p.id, ctx.now())
            await ctx.audit("problem.void", f"problem:{p.id}", {"visit": visit.id})
    new_keys = [k for k in wanted if CHECK_ZH[k] not in existing]
    problem_ids = await _open_problems(ctx, hh, visit.id, updated.checklist, new_keys)
    photos = data.get("photos", []) + await store.loose_photos(ctx.session, ctx.me.id, ctx.now())
    await store.attach_photos(ctx.session, photos, visit.id)
    await ctx.audit(
        "visit.merge" if merged else "visit.amend",
        f"visit:{visit.id}",
        {
            "before": {k: v for k, v in before.items()},
            "after": {k: v for k, v in changes.items()},
        },
    )
    await ctx.clear_state()
    text = (
        T.MERGED.format(name=hh.head_name, id=visit.id) if merged else T.AMENDED.format(id=visit.id)
    )
    if problem_ids:
        text += "\n" + T.SAVED_PROBLEMS.format(
            n=len(problem_ids),
            days=ctx.rules.rectify_days,
            ids="、".join(f"#{i}" for i in problem_ids),
        )
    return [Reply(text, meta={"kind": "visit", "visit": visit.id})]


# --- photos and locations outside a flow ------------------------------------------------------


async def on_photo(ctx: Context) -> list[Reply]:
    got = await _store_photo(ctx)
    if got is None:
        return [Reply(T.PHOTO_UNREADABLE)]
    photo_id, new = got
    visit_id, assignment_id = await store.photo_info(ctx.session, photo_id)
    if not new and (visit_id or assignment_id):
        return [Reply(T.PHOTO_SEEN)]
    recent = await store.last_visit_by(ctx.session, ctx.me.id, since=ctx.now() - store.PHOTO_WINDOW)
    if recent is not None:
        await store.attach_photos(ctx.session, [photo_id], recent.id)
        await ctx.audit("photo.attach", f"visit:{recent.id}", {"photo": photo_id})
        hh = await _household(ctx, recent.household_id)
        return [Reply(T.PHOTO_ATTACHED.format(name=hh.head_name, id=recent.id))]
    if ctx.me.region_level != "village":
        return [Reply(T.PHOTO_WHICH_NONE)]
    choices = await store.recent_households_of(ctx.session, ctx.me.id, ctx.me.region_id)
    seen = {h.id for h in choices}
    for _label, payload in await _due_buttons(ctx, ctx.me.region_id):
        hh_id = int(payload.rsplit(":", 1)[1])
        if hh_id not in seen and len(choices) < PICK_BUTTONS:
            found = await store.get_household(ctx.session, hh_id)
            if found:
                choices.append(found)
                seen.add(hh_id)
    if not choices:
        return [Reply(T.PHOTO_WHICH_NONE)]
    return [
        Reply(
            T.PHOTO_WHICH,
            tuple(Button(h.head_name, f"visit:ph:{photo_id}:{h.id}") for h in choices),
        )
    ]


async def _photo_for(ctx: Context, photo_id: int, household_id: int) -> list[Reply]:
    """The answer to "which household is this photo?": its visit today, or a new visit."""
    hh = await _household(ctx, household_id)
    visit_id, assignment_id = await store.photo_info(ctx.session, photo_id)
    if visit_id or assignment_id:
        return [Reply(T.PHOTO_SEEN)]
    recent = await store.recent_visit_of(ctx.session, hh.id, ctx.now(), window=store.REVOKE_WINDOW)
    if recent is not None and recent.visitor_id == ctx.me.id:
        await store.attach_photos(ctx.session, [photo_id], recent.id)
        await ctx.audit("photo.attach", f"visit:{recent.id}", {"photo": photo_id})
        return [Reply(T.PHOTO_ATTACHED.format(name=hh.head_name, id=recent.id))]
    data = {"mode": "new", "checks": {}, "photos": [photo_id], "msg": ctx.incoming.message_id}
    return await _picked(ctx, hh, data)


async def on_location(ctx: Context) -> list[Reply]:
    inc = ctx.incoming
    if inc.lat is None or inc.lon is None:
        return [Reply(T.LOCATION_LATER)]
    recent = await store.last_visit_by(ctx.session, ctx.me.id, since=ctx.now() - store.PHOTO_WINDOW)
    if recent is None or recent.lat is not None:
        return [Reply(T.LOCATION_LATER)]
    flag = await _flag(ctx, recent.village_id, inc.lat, inc.lon)
    await store.amend(
        ctx.session, recent.id, ctx.now(), lat=inc.lat, lon=inc.lon, location_flag=flag
    )
    await ctx.audit(
        "visit.locate", f"visit:{recent.id}", {"lat": inc.lat, "lon": inc.lon, "flag": flag}
    )
    hh = await _household(ctx, recent.household_id)
    text = T.LOCATION_ATTACHED.format(name=hh.head_name, id=recent.id)
    return [Reply(text + ("\n" + T.LOCATION_FAR if flag else ""))]


# --- 撤销 / 修改 ---------------------------------------------------------------------------


async def cmd_revoke(ctx: Context, _args: str) -> list[Reply]:
    visit = await store.last_visit_by(ctx.session, ctx.me.id, since=ctx.now() - store.REVOKE_WINDOW)
    if visit is None:
        return [Reply(T.NOTHING_TO_REVOKE)]
    hh = await _household(ctx, visit.household_id)
    return [
        Reply(
            T.REVOKE_ASK.format(name=hh.head_name, at=_local(ctx, visit.visited_at), id=visit.id),
            (Button(T.BTN_REVOKE, f"visit:revoke:{visit.id}"),),
        )
    ]


async def _revoke(ctx: Context, visit_id: int) -> list[Reply]:
    visit = await store.get_visit(ctx.session, visit_id)
    if (
        visit is None
        or visit.visitor_id != ctx.me.id
        or visit.status != "active"
        or ctx.now() - visit.created_at > store.REVOKE_WINDOW
    ):
        return [Reply(T.NOTHING_TO_REVOKE)]
    await store.revoke(ctx.session, visit.id, ctx.now())
    for p in await problem_store.for_visit(ctx.session, visit.id):
        if p.status == "open":
            await problem_store.void(ctx.session, p.id, ctx.now())
            await ctx.audit("problem.void", f"problem:{p.id}", {"visit": visit.id})
    await ctx.audit("visit.revoke", f"visit:{visit.id}", {"household": visit.household_id})
    return [Reply(T.REVOKED.format(id=visit.id))]


async def cmd_amend(ctx: Context, args: str) -> list[Reply]:
    visit = await store.last_visit_by(ctx.session, ctx.me.id, since=ctx.now() - store.REVOKE_WINDOW)
    if visit is None:
        return [Reply(T.NOTHING_TO_AMEND)]
    data: dict[str, Any] = {
        "mode": "amend",
        "visit_id": visit.id,
        "hh": visit.household_id,
        "checks": dict(visit.checklist),
        "note": visit.note or "",
        "photos": [],
    }
    if not args:
        return await _go(ctx, "check", {**data, "i": 0})
    report = parse_report("_ " + args)
    data["checks"] = {**data["checks"], **report.checklist()}
    if report.note:
        if len(report.note) > store.MAX_NOTE:
            return [Reply(T.NOTE_TOO_LONG.format(n=len(report.note), limit=store.MAX_NOTE))]
        data["note"] = report.note
    return await _go(ctx, "confirm", data)


# --- 整改完成 ------------------------------------------------------------------------------


async def cmd_rectify(ctx: Context, args: str) -> list[Reply]:
    number = args.strip().lstrip("#＃")
    if not number.isdigit():
        return [Reply(T.RECTIFY_HOW)]
    problem = await problem_store.get(ctx.session, int(number))
    if problem is None:
        return [Reply(T.RECTIFY_UNKNOWN.format(id=number))]
    await ctx.require_scope(problem.village_id, f"问题 #{problem.id}")
    if problem.status != "open":
        return [
            Reply(
                T.RECTIFY_NOT_OPEN.format(
                    id=problem.id,
                    status=problem_store.STATUS_ZH.get(problem.status, problem.status),
                )
            )
        ]
    loose = await store.loose_photos(ctx.session, ctx.me.id, ctx.now())
    if loose:
        return await _close(ctx, problem.id, loose[-1])
    await ctx.set_state(RECTIFY, "photo", {"problem": problem.id})
    return [
        Reply(
            T.RECTIFY_PHOTO_ASK.format(
                id=problem.id, name=problem.household_name, kind=problem.kind
            )
        )
    ]


async def flow_rectify(ctx: Context) -> list[Reply]:
    assert ctx.state is not None
    if ctx.incoming.kind != "photo":
        return [Reply(T.RECTIFY_WAITING)]
    got = await _store_photo(ctx)
    if got is None:
        return [Reply(T.PHOTO_UNREADABLE)]
    return await _close(ctx, int(ctx.state.data["problem"]), got[0])


async def _close(ctx: Context, problem_id: int, photo_id: int) -> list[Reply]:
    problem = await problem_store.get(ctx.session, problem_id)
    assert problem is not None
    await problem_store.close(ctx.session, problem_id, photo_id, ctx.now())
    await ctx.audit("problem.close", f"problem:{problem_id}", {"photo": photo_id})
    if ctx.state is not None:
        await ctx.clear_state()
    return [
        Reply(T.RECTIFY_DONE.format(id=problem_id, name=problem.household_name, kind=problem.kind))
    ]


# --- 问题 / 本月走访 / 未走访 / 导出 --------------------------------------------------------


async def cmd_problems(ctx: Context, _args: str) -> list[Reply]:
    me = ctx.me
    if me.is_village:
        rows, total = await problem_store.open_list(
            ctx.session, village_ids=[me.region_id], limit=20
        )
    else:
        rows, total = await problem_store.open_list(
            ctx.session, village_ids=await ctx.my_village_ids(), limit=20
        )
    if not total:
        return [Reply(T.PROBLEMS_NONE)]
    lines = [
        T.PROBLEM_LINE.format(
            id=p.id,
            name=p.household_name,
            kind=p.kind,
            desc=p.description[:40],
            deadline=ctx.rules.local(p.deadline).strftime("%m-%d") if p.deadline else "—",
        )
        for p in rows
    ]
    if total > len(lines):
        lines.append(f"……还有 {total - len(lines)} 条")
    return [Reply("\n".join([T.PROBLEMS_HEAD.format(n=total), *lines]))]


async def cmd_progress(ctx: Context, args: str) -> list[Reply]:
    me = ctx.me
    month = _month(ctx, args)
    quotas = ctx.rules.visit_quotas
    if me.region_level == "village":
        progress = await store.village_progress(ctx.session, me.region_id, month, quotas)
        cov = store.summarize(progress, me.region_id, me.region_name)
        lines = [_cov_line(T.PROGRESS_HEAD, me.region_name, month, cov)]
        due = store.still_due(progress)
        if not due:
            lines.append(T.PROGRESS_DONE)
        else:
            lines.append(T.PROGRESS_DUE)
            lines += [_due_line(p) for p in due[:10]]
            if len(due) > 10:
                lines += [f"……还有 {len(due) - 10} 户", T.PROGRESS_MORE]
        return [Reply("\n".join(lines))]
    rows = await store.coverage_by_village(ctx.session, await ctx.my_village_ids(), month, quotas)
    total = store.roll_up(rows, me.region_id, me.region_name)
    lines = [_cov_line(T.STAFF_HEAD, me.region_name, month, total)]
    if me.region_level == "county":
        groups: dict[int, list[store.Coverage]] = {}
        parents = await _parents(ctx, [r.region_id for r in rows])
        for r in rows:
            groups.setdefault(parents[r.region_id], []).append(r)
        towns = [
            store.roll_up(g, tid, (await regions.get(ctx.session, tid)).name)  # type: ignore[union-attr]
            for tid, g in groups.items()
        ]
        body = [_staff_line(t) for t in sorted(towns, key=lambda c: c.percent)]
    else:
        body = [_staff_line(r) for r in sorted(rows, key=lambda c: c.percent)]
    lines += paged(body, 20)
    lines.append(T.STAFF_DUE_HINT)
    return [Reply("\n".join(lines))]


async def _parents(ctx: Context, village_ids: list[int]) -> dict[int, int]:
    rows = await ctx.session.execute(
        sa.select(Region.id, Region.parent_id).where(Region.id.in_(village_ids))
    )
    return {rid: pid for rid, pid in rows}


def _cov_line(template: str, name: str, month: str, c: store.Coverage) -> str:
    return template.format(
        village=name,
        region=name,
        month=month,
        met=c.households_met,
        due=c.households_due,
        pct=c.percent,
        done=c.visits_done,
        required=c.visits_required,
    )


def _staff_line(c: store.Coverage) -> str:
    return T.STAFF_LINE.format(
        name=c.name, met=c.households_met, due=c.households_due, pct=c.percent
    )


def _due_line(p: store.HouseholdProgress) -> str:
    return T.DUE_LINE.format(
        name=p.head_name, code=p.code, category=p.category, visited=p.visited, required=p.required
    )


async def cmd_due(ctx: Context, args: str) -> list[Reply]:
    me = ctx.me
    if me.region_level == "village":
        return await _due_page(ctx, 1)
    name = args.strip()
    if not name:
        return await cmd_progress(ctx, "")
    for v in await regions.find(ctx.session, name, level="village"):
        if await regions.contains(ctx.session, me.region_id, v.id):
            return await _due_page(ctx, 1, v.id, v.name)
    return [Reply(T.VILLAGE_UNKNOWN.format(q=name[:20]))]


async def _due_page(
    ctx: Context, page: int, village_id: int | None = None, village_name: str = ""
) -> list[Reply]:
    if village_id is None:
        village_id = await _village_id(ctx)
    await ctx.require_scope(village_id)
    month = _month(ctx)
    due = store.still_due(
        await store.village_progress(ctx.session, village_id, month, ctx.rules.visit_quotas)
    )
    if not due:
        return [Reply(T.DUE_NONE.format(month=month))]
    pages = (len(due) + DUE_PAGE - 1) // DUE_PAGE
    page = min(max(page, 1), pages)
    chunk = due[(page - 1) * DUE_PAGE : page * DUE_PAGE]
    head = T.DUE_HEAD.format(month=month, n=len(due), page=page, pages=pages)
    if village_name:
        head = f"{village_name} {head}"
    buttons: tuple[Button, ...] = ()
    if page < pages:
        payload = f"visit:due:{page + 1}"
        if ctx.me.region_level != "village":
            payload = f"duev:{village_id}:{page + 1}"
        buttons = (Button(T.NEXT_PAGE, payload),)
    return [Reply("\n".join([head, *(_due_line(p) for p in chunk)]), buttons)]


async def cmd_export(ctx: Context, args: str) -> list[Reply]:
    me = ctx.me
    month = _month(ctx, args)
    make_link = ctx.services.get("visit_export_link")
    if make_link is None:
        return [Reply(T.EXPORT_OFF)]
    url, hours = make_link(person_id=me.id, region_id=me.region_id, month=month)
    await ctx.audit("report.link", f"region:{me.region_id}", {"month": month})
    return [Reply(T.EXPORT_READY.format(region=me.region_name, month=month, hours=hours), link=url)]


async def on_due_village_button(ctx: Context, rest: str) -> list[Reply]:
    village_id, _, page = rest.partition(":")
    region = await regions.get(ctx.session, int(village_id))
    if region is None:
        return [Reply(T.VILLAGE_UNKNOWN.format(q=village_id))]
    return await _due_page(ctx, int(page or 1), region.id, region.name)


def register(registry: Registry) -> None:
    everyone = VILLAGE_ROLES | STAFF_ROLES
    registry.command(
        Command(("走访", "/visit"), cmd_visit, VILLAGE_ROLES, T.HELP_VISIT, prefix=True, order=10)
    )
    registry.command(
        Command(("本月走访", "/progress"), cmd_progress, everyone, T.HELP_PROGRESS, order=11)
    )
    registry.command(Command(("未走访", "/due"), cmd_due, everyone, T.HELP_DUE, order=12))
    registry.command(
        Command(
            ("问题", "问题清单", "/problems"), cmd_problems, everyone, T.HELP_PROBLEMS, order=13
        )
    )
    registry.command(
        Command(
            ("整改完成", "/rectified"),
            cmd_rectify,
            VILLAGE_ROLES,
            T.HELP_RECTIFY,
            prefix=True,
            order=14,
        )
    )
    registry.command(Command(("撤销", "/undo"), cmd_revoke, VILLAGE_ROLES, T.HELP_REVOKE, order=15))
    registry.command(Command(("修改", "/amend"), cmd_amend, VILLAGE_ROLES, T.HELP_AMEND, order=16))
    registry.command(
        Command(("导出", "台账", "/export"), cmd_export, STAFF_ROLES, T.HELP_EXPORT, order=17)
    )
    registry.flow(FLOW, flow_visit)
    registry.flow(RECTIFY, flow_rectify)
    registry.button("visit", on_button)
    registry.button("duev", on_due_village_button)
    registry.on_photo = on_photo
    registry.on_location = on_location
