"""Downloads of task attachments (附件).

    GET /attachments/{id}           the file, as a download under the name its sender gave it
    GET /console/attachments/{id}   the same, under the console's path (its session cookie
                                    is scoped to /console): the links of the task page

Who is asking: the person a valid signed link names (services.attachment_links: the links of
a task push), else the person signed in to the console (its session cookie), else the person
the web chat browser is bound to. Then the same check for all (services.attachments
.for_download): the task's sender, or anyone whose region holds a village the task went to.
An unknown file and one outside the scope both answer 404; a bad or expired link 403; no
credential at all 403. Every refusal leaves an audit row.
"""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from bot.appkeys import CLOCK, MEDIA, RULES, SESSIONMAKER
from bot.channels.webchat.channel import HUB
from bot.web import stored
from bot.web.console.render import signed_in
from core.inputs import int_id
from services import attachment_links, attachments, audit_refusals
from services import attachment_texts as T
from services.attachment_links import LinkState


async def _refuse(request: web.Request, person_id: int | None, reason: str, via: str) -> None:
    await audit_refusals.record_apart(
        request.app[SESSIONMAKER],
        reason,
        now=request.app[CLOCK].now(),
        person_id=person_id,
        action="attachment",
        obj=request.path[:120],
        msg="-",
        via=via,
    )


async def _viewer(request: web.Request, file_id: int) -> tuple[int, str]:
    """(person, how they were recognised); 403 when nobody is."""
    key = request.app[RULES].file_link_key
    state, person_id = attachment_links.check(key, file_id, request.query, request.app[CLOCK].now())
    if state == LinkState.OK and person_id is not None:
        return person_id, "link"
    if state != LinkState.UNSIGNED:
        await _refuse(request, person_id, f"link_{state}", "link")
        raise _forbidden(T.DOWNLOAD_LINK_BAD)
    console = await signed_in(request)
    if console is not None:
        return console.person.id, "console"
    hub = request.app.get(HUB)
    external_id = hub.browser_id(request) if hub is not None else None
    bound = await hub.bound(external_id) if hub is not None and external_id else None
    if bound is None:
        await _refuse(request, None, "unknown_person", "web")
        raise _forbidden(T.DOWNLOAD_FORBIDDEN)
    return bound.person_id, "webchat"


def _forbidden(text: str) -> web.HTTPForbidden:
    return web.HTTPForbidden(text=text, content_type="text/plain")


async def download(request: web.Request) -> web.StreamResponse:
    file_id = int_id(request.match_info["id"]) or 0
    person_id, via = await _viewer(request, file_id)
    async with request.app[SESSIONMAKER]() as session:
        row = await attachments.for_download(session, person_id, file_id)
    response = None
    if row is not None:
        disposition = f"attachment; filename*=UTF-8''{quote(row.name)}"
        response = await stored.answer(
            request,
            request.app[MEDIA],
            row.path,
            headers={"Content-Disposition": disposition, "Cache-Control": "private, no-store"},
            content_type=row.mime,
        )
    if response is None:
        await _refuse(request, person_id, "not_found", via)
        raise web.HTTPNotFound(text=T.DOWNLOAD_NOT_FOUND, content_type="text/plain")
    return response


def setup(app: web.Application) -> None:
    app.router.add_get("/attachments/{id}", download)
    app.router.add_get("/console/attachments/{id}", download)
