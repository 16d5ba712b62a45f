"""Household visits by chat: one-message reports, the guided flow, photos, 撤销 and 修改.

Flow ``visit`` (state kept in the database, so a restart resumes at the same step):
    pick -> check (x5, buttons) [-> problem_text] -> note -> photos -> location -> confirm [-> dup]
A one-message report jumps straight to ``confirm``. Progress is in handlers/visit_progress.py,
the problem list and 整改完成 in handlers/rectify.py.
"""

from __future__ import annotations

import logging
from typing import Any

from core.messages import Button, Reply
from core.roles import VILLAGE_ROLES
from core.rules import PHOTO_WINDOW
from handlers import visit_texts as T
from handlers.context import Context, Refused
from handlers.registry import Command, Registry
from handlers.visit_common import (
    PICK_BUTTONS,
    burst_location,
    due_buttons,
    household_in_scope,
    local_str,
    location_flag,
    store_photo,
    village_of,
)
from handlers.visit_parse import CHECK_ZH, CHECKS, CORE_CHECKS, describe, parse_report
from storage import photos as photo_store
from storage import problems as problem_store
from storage import regions
from storage import visits as store
from storage.readmodels import coverage
from storage.visits import HouseholdDTO, VisitDTO

log = logging.getLogger(__name__)

FLOW = "visit"


# --- summaries -----------------------------------------------------------------------------


async def _summary(ctx: Context, data: dict[str, Any]) -> Reply:
    hh = await household_in_scope(ctx, data["hh"])
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
    village_id = await village_of(ctx)
    query = query[:40]  # a name or code; anything longer is not one
    found = await store.search_households(ctx.session, village_id, query)
    if len(found.matches) == 1:
        return await _picked(ctx, found.matches[0], data)
    if found.matches:
        await ctx.set_state(FLOW, "pick", data)
        return [
            Reply(
                T.PICK_ONE.format(n=len(found.matches)),
                tuple(
                    Button(f"{i}. {h.head_name}（{h.code}）", f"visit:hh:{h.id}")
                    for i, h in enumerate(found.matches, start=1)
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
    village_id = await village_of(ctx)
    data: dict[str, Any] = {
        "mode": "new",
        "checks": {},
        "photos": [],
        "msg": ctx.incoming.message_id,
    }
    if not args:
        await ctx.set_state(FLOW, "pick", data)
        pairs = await due_buttons(ctx, village_id)
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
        got = await store_photo(ctx)
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
            hh = await household_in_scope(ctx, data["hh"])
            data["flag"] = await location_flag(ctx, hh.village_id, inc.lat, inc.lon)
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
        return await _picked(ctx, await household_in_scope(ctx, int(arg)), data)
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
            deadline=ctx.rules.rectify_deadline(ctx.now()),
        )
        await ctx.audit("problem.open", f"problem:{p.id}", {"visit": visit_id, "kind": key})
        ids.append(p.id)
    return ids


def _problem_keys(checks: dict[str, Any]) -> list[str]:
    return [k for k in CHECKS if checks.get(k, {}).get("status") == "problem"]


async def _save(ctx: Context, data: dict[str, Any]) -> list[Reply]:
    if data.get("mode") == "amend":
        return await _apply_amend(ctx, data)
    hh = await household_in_scope(ctx, data["hh"])
    now = ctx.now()
    if not data.get("dup_ok"):
        dup = await store.recent_visit_of(ctx.session, hh.id, now)
        if dup is not None:
            await ctx.set_state(FLOW, "dup", {**data, "dup": dup.id})
            minutes = max(1, int((now - dup.visited_at).total_seconds() // 60))
            return [
                Reply(
                    T.DUPLICATE_ASK.format(
                        name=hh.head_name, minutes=minutes, at=local_str(ctx, dup.visited_at)
                    ),
                    (Button(T.BTN_SAME, "visit:dup:same"), Button(T.BTN_NEW, "visit:dup:new")),
                )
            ]
    lat, lon, flag = data.get("lat"), data.get("lon"), data.get("flag")
    if lat is not None and "flag" not in data:  # shared before the household was known
        flag = await location_flag(ctx, hh.village_id, lat, data["lon"])
    if lat is None:
        burst = await burst_location(ctx)
        if burst:
            lat, lon = burst
            flag = await location_flag(ctx, hh.village_id, lat, lon)
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
            [*data.get("photos", []), *await photo_store.loose_photos(ctx.session, ctx.me.id, now)]
        )
    )
    attached = await photo_store.attach_photos(ctx.session, photos, visit.id)
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
    progress = await coverage.village_progress(
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
    hh = await household_in_scope(ctx, visit.household_id)
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
    photos = data.get("photos", []) + await photo_store.loose_photos(
        ctx.session, ctx.me.id, ctx.now()
    )
    await photo_store.attach_photos(ctx.session, photos, visit.id)
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
    got = await store_photo(ctx)
    if got is None:
        return [Reply(T.PHOTO_UNREADABLE)]
    photo_id, new = got
    visit_id, assignment_id = await photo_store.photo_info(ctx.session, photo_id)
    if not new and (visit_id or assignment_id):
        return [Reply(T.PHOTO_SEEN)]
    recent = await store.last_visit_by(ctx.session, ctx.me.id, since=ctx.now() - PHOTO_WINDOW)
    if recent is not None:
        await photo_store.attach_photos(ctx.session, [photo_id], recent.id)
        await ctx.audit("photo.attach", f"visit:{recent.id}", {"photo": photo_id})
        hh = await household_in_scope(ctx, recent.household_id)
        return [Reply(T.PHOTO_ATTACHED.format(name=hh.head_name, id=recent.id))]
    if ctx.me.region_level != "village":
        return [Reply(T.PHOTO_WHICH_NONE)]
    choices = await store.recent_households_of(ctx.session, ctx.me.id, ctx.me.region_id)
    seen = {h.id for h in choices}
    for _label, payload in await due_buttons(ctx, ctx.me.region_id):
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
    hh = await household_in_scope(ctx, household_id)
    visit_id, assignment_id = await photo_store.photo_info(ctx.session, photo_id)
    if visit_id or assignment_id:
        return [Reply(T.PHOTO_SEEN)]
    recent = await store.recent_visit_of(ctx.session, hh.id, ctx.now(), window=store.REVOKE_WINDOW)
    if recent is not None and recent.visitor_id == ctx.me.id:
        await photo_store.attach_photos(ctx.session, [photo_id], recent.id)
        await ctx.audit("photo.attach", f"visit:{recent.id}", {"photo": photo_id})
        return [Reply(T.PHOTO_ATTACHED.format(name=hh.head_name, id=recent.id))]
    data = {"mode": "new", "checks": {}, "photos": [photo_id], "msg": ctx.incoming.message_id}
    return await _picked(ctx, hh, data)


async def on_location(ctx: Context) -> list[Reply]:
    inc = ctx.incoming
    if inc.lat is None or inc.lon is None:
        return [Reply(T.LOCATION_LATER)]
    recent = await store.last_visit_by(ctx.session, ctx.me.id, since=ctx.now() - PHOTO_WINDOW)
    if recent is None or recent.lat is not None:
        return [Reply(T.LOCATION_LATER)]
    flag = await location_flag(ctx, recent.village_id, inc.lat, inc.lon)
    await store.amend(
        ctx.session, recent.id, ctx.now(), lat=inc.lat, lon=inc.lon, location_flag=flag
    )
    await ctx.audit(
        "visit.locate", f"visit:{recent.id}", {"lat": inc.lat, "lon": inc.lon, "flag": flag}
    )
    hh = await household_in_scope(ctx, recent.household_id)
    text = T.LOCATION_ATTACHED.format(name=hh.head_name, id=recent.id)
    return [Reply(text + ("\n" + T.LOCATION_FAR if flag else ""))]


# --- 撤销 / 修改 ---------------------------------------------------------------------------


async def cmd_revoke(ctx: Context, _args: str) -> list[Reply]:
    visit = await store.last_visit_by(ctx.session, ctx.me.id, since=ctx.now() - store.REVOKE_WINDOW)
    if visit is None:
        return [Reply(T.NOTHING_TO_REVOKE)]
    hh = await household_in_scope(ctx, visit.household_id)
    return [
        Reply(
            T.REVOKE_ASK.format(
                name=hh.head_name, at=local_str(ctx, visit.visited_at), id=visit.id
            ),
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


def register(registry: Registry) -> None:
    registry.command(
        Command(("走访", "/visit"), cmd_visit, VILLAGE_ROLES, T.HELP_VISIT, prefix=True, order=10)
    )
    registry.command(Command(("撤销", "/undo"), cmd_revoke, VILLAGE_ROLES, T.HELP_REVOKE, order=15))
    registry.command(Command(("修改", "/amend"), cmd_amend, VILLAGE_ROLES, T.HELP_AMEND, order=16))
    registry.flow(FLOW, flow_visit)
    registry.button("visit", on_button)
    registry.on_photo = on_photo
    registry.on_location = on_location
