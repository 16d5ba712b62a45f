"""走访 in the console: the month's visits with filters and pages (each row links to its 户),
the photo gallery (in-scope, non-discarded photos; thumbnails made once by SHA-256; EXIF and
upload times), the map's data (village centres, far flags) and page, the tile-server setting,
the scope matrix of the new routes, and the map and gallery drawn in Chromium at phone size."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from bot.appkeys import MEDIA
from bot.config import ConfigError, load_config
from services import console_visits, media, visit_map, visits_photos
from storage import photos as photo_store
from storage.models import Photo, Problem, Visit
from tests.bot.web.console_data import QUOTAS, populate
from tests.bot.web.console_forms_kit import SHANGHAI
from tests.bot.web.console_kit import Browser, issue
from tests.bot.web.test_browser import CHROMIUM, FLAGS
from tests.factories import photo_bytes
from tests.webclient import webchat_server

EXIF_ORIGINAL = "2026:11:09 08:15:00"


@pytest.fixture
async def site(sessionmaker, clock, rules, database_url, tmp_path, media_backend):
    facts = await populate(sessionmaker, clock, replace(rules, visit_quotas=dict(QUOTAS)))
    async with webchat_server(
        database_url,
        tmp_path,
        clock,
        run_workers=False,
        visit_quotas=QUOTAS,
        **media_backend.core,
    ) as server:
        yield facts, server, tmp_path / "var" / "media"


async def add_visit(sm, facts, key, at, *, lat=None, lon=None, checklist=None, visitor="sec0"):
    """A visit of household ``key`` (console_data's keys) at ``at``; its id."""
    async with sm() as s, s.begin():
        hid = facts.households[key]
        village_id = await s.scalar(
            sa.text("SELECT village_id FROM households WHERE id = :id"), {"id": hid}
        )
        people = facts.away.people if key == "away" else facts.world.people
        visit = Visit(
            household_id=hid,
            village_id=village_id,
            visitor_id=people["sec" if key == "away" else visitor].id,
            visited_at=at,
            month=f"{at.astimezone(SHANGHAI):%Y-%m}",
            day=at.astimezone(SHANGHAI).date(),
            checklist=checklist or {},
            lat=lat,
            lon=lon,
            status="active",
            created_at=at,
            updated_at=at,
        )
        s.add(visit)
        await s.flush()
        return visit.id


def jpeg_with_exif(color, size=(1200, 900), taken=EXIF_ORIGINAL) -> bytes:
    """A JPEG as a phone writes it: DateTime (the file's) and DateTimeOriginal (the shot's)."""
    exif = Image.Exif()
    exif[0x0132] = "2026:11:09 20:00:00"
    exif.get_ifd(0x8769)[36867] = taken
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG", exif=exif.tobytes(), quality=90)
    return buf.getvalue()


async def add_photo(sm, where, facts, visit_id, data, *, rules, now, uploader=None):
    """A photo stored as the channels store it (bytes -> ``where``: a media folder or store ->
    services.visits_photos, which reads the EXIF time) and attached to the visit: (photo id,
    stored image)."""
    if isinstance(where, Path):
        stored = media.save_image_sync(where, data)
    else:
        stored = await media.save_image(where, data)
    person = uploader or facts.world.people["sec0"]
    async with sm() as s, s.begin():
        photo_id, _ = await visits_photos.add_photo(
            s, person, stored.to_dict(), now=now, rules=rules
        )
        await photo_store.move_to_visit(s, photo_id, visit_id)
    return photo_id, stored


async def test_visit_list_filters_and_pages(site, sessionmaker, clock):
    facts, server, media_dir = site
    w, now = facts.world, clock.now()
    for i in range(23):  # with populate's five, 28 visits in November
        await add_visit(sessionmaker, facts, "v1b", now - timedelta(days=5, minutes=i))
    found = await add_visit(
        sessionmaker,
        facts,
        "v0b",
        now - timedelta(hours=2),
        checklist={"water": {"status": "problem", "text": "水管冻裂"}},
    )
    async with sessionmaker() as s, s.begin():
        s.add(
            Problem(
                county_id=w.county.id,
                number=99,
                household_id=facts.households["v0b"],
                village_id=w.villages[0].id,
                visit_id=found,
                kind="饮水安全",
                description="水管冻裂",
                status="open",
                found_at=now - timedelta(hours=2),
            )
        )
    pictured = await add_visit(sessionmaker, facts, "v2a", now - timedelta(hours=3))
    async with sessionmaker() as s, s.begin():
        stored = media.save_image_sync(media_dir, photo_bytes((1, 2, 3)))
        pid, _ = await photo_store.add_photo(
            s, stored.to_dict(), uploaded_by=w.people["sec2"].id, now=now, taken_at=None
        )
        await photo_store.move_to_visit(s, pid, pictured)
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, w.people["county0"], now)
        status, page = await browser.get("/console")
        assert 'href="/console/visits"' in page  # in the navigation
        status, page = await browser.get("/console/visits")
        assert status == 200
        rows = page.split('id="visit-list"', 1)[1]
        assert rows.count('href="/console/households/') == 20
        assert "第 1 / 2 页，共 30 条" in page
        # Newest first: the problem visit (2 h ago) before the photo visit (3 h ago).
        assert rows.index("李二") < rows.index("孙六")
        status, page = await browser.get("/console/visits?page=2")
        assert page.split('id="visit-list"', 1)[1].count('href="/console/households/') == 10
        # Household search, with the checklist's problem text masked.
        status, page = await browser.get("/console/visits?q=%E8%B5%B5%E5%9B%9B")  # 赵四
        assert "共 1 条" in page and f'href="/console/households/{facts.households["v1a"]}"' in page
        assert "屋顶漏雨" in page and "13900001111" not in page and "户主儿子电话" in page
        assert "13700002222" not in page
        status, page = await browser.get("/console/visits?problems=1")
        assert "共 1 条" in page and "李二" in page and "问题 1 个" in page
        status, page = await browser.get("/console/visits?photos=1")
        rows = page.split('id="visit-list"', 1)[1]
        assert "共 1 条" in page and "孙六" in rows and "钱五" not in rows
        status, page = await browser.get(f"/console/visits?region={w.villages[0].id}")
        rows = page.split('id="visit-list"', 1)[1]
        assert "共 4 条" in page and "王大" in rows and "钱五" not in rows
        status, page = await browser.get(f"/console/visits?region={w.townships[1].id}")
        assert "共 2 条" in page  # 杏花村's two visits (populate's and the photo one)
        status, page = await browser.get("/console/visits?month=2026-10")
        rows = page.split('id="visit-list"', 1)[1]
        assert "共 1 条" in page and "张三" in rows
        assert (await browser.get("/console/visits?month=2026-13"))[0] == 400
        assert (await browser.get("/console/visits?page=0"))[0] == 400
    # The other township's officer sees only 西川乡; another township's village is refused.
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, w.people["town1"], now)
        status, page = await browser.get("/console/visits")
        rows = page.split('id="visit-list"', 1)[1]
        assert "共 2 条" in page and "孙六" in rows and "王大" not in rows
        status, page = await browser.get(f"/console/visits?region={w.villages[0].id}")
        assert status == 403 and "王大" not in page and "李二" not in page


async def test_gallery_shows_in_scope_photos_not_discarded_ones_with_exif_time(
    site, sessionmaker, clock, rules
):
    facts, server, media_dir = site
    w, now = facts.world, clock.now()
    home = await add_visit(sessionmaker, facts, "v0a", now - timedelta(hours=1))
    west = await add_visit(sessionmaker, facts, "v2a", now - timedelta(hours=2))
    away = await add_visit(sessionmaker, facts, "away", now - timedelta(hours=1))
    shown, stored = await add_photo(
        sessionmaker, media_dir, facts, home, jpeg_with_exif((200, 80, 40)), rules=rules, now=now
    )
    thrown, _ = await add_photo(
        sessionmaker, media_dir, facts, home, photo_bytes((9, 9, 9)), rules=rules, now=now
    )
    async with sessionmaker() as s, s.begin():  # set aside, yet still pointing at its visit
        await s.execute(sa.update(Photo).where(Photo.id == thrown).values(discarded_at=now))
    western, _ = await add_photo(
        sessionmaker,
        media_dir,
        facts,
        west,
        photo_bytes((10, 200, 10)),
        rules=rules,
        now=now,
        uploader=w.people["sec2"],
    )
    foreign, _ = await add_photo(
        sessionmaker,
        media_dir,
        facts,
        away,
        photo_bytes((7, 7, 200)),
        rules=rules,
        now=now,
        uploader=facts.away.people["sec"],
    )

    def thumbs(page: str) -> set[int]:
        gallery = page.split('id="gallery"', 1)[1] if 'id="gallery"' in page else ""
        found = set()
        for pid in (shown, thrown, western, foreign):
            if f'src="/console/visits/photos/{pid}/thumb"' in gallery:
                found.add(pid)
        return found

    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, w.people["county0"], now)
        status, page = await browser.get("/console/visits/photos")
        assert status == 200 and thumbs(page) == {shown, western}
        assert "共 2 条" in page
        # The EXIF DateTimeOriginal (not DateTime) and the upload time.
        card = page.split(f"/console/visits/photos/{shown}/thumb", 1)[1].split("</figure>", 1)[0]
        assert "拍摄 11-09 08:15" in card and "上传 11-10 10:00" in card and "王大" in card
        assert f'href="/console/media/{stored.path}"' in page  # full size on click
        async with browser.http.get(server.url(f"/console/media/{stored.path}")) as resp:
            assert resp.status == 200 and await resp.read() == jpeg_with_exif((200, 80, 40))
        for pid, expected in ((shown, 200), (western, 200), (thrown, 404), (foreign, 404)):
            async with browser.http.get(server.url(f"/console/visits/photos/{pid}/thumb")) as r:
                assert r.status == expected, pid
        status, page = await browser.get(f"/console/visits/photos?region={w.villages[2].id}")
        assert thumbs(page) == {western}
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, w.people["town0"], now)
        status, page = await browser.get("/console/visits/photos")
        assert thumbs(page) == {shown}
        for pid, expected in ((shown, 200), (western, 404), (foreign, 404), (0, 404)):
            async with browser.http.get(server.url(f"/console/visits/photos/{pid}/thumb")) as r:
                body = await r.text(errors="replace")
                assert r.status == expected, pid
                if expected == 404:
                    assert "杏花村" not in body and "孙六" not in body
        status, page = await browser.get(f"/console/visits/photos?region={w.villages[2].id}")
        assert status == 403 and f"/console/visits/photos/{western}/thumb" not in page


@pytest.mark.parametrize("media_backend", ["local", "s3"], indirect=True)
async def test_thumbnail_is_a_smaller_real_jpeg_made_once_by_sha256(
    site, sessionmaker, clock, rules, media_backend
):
    facts, server, media_dir = site
    now = clock.now()
    visit = await add_visit(sessionmaker, facts, "v0a", now - timedelta(hours=1))
    pid, stored = await add_photo(
        sessionmaker,
        server.app[MEDIA],
        facts,
        visit,
        jpeg_with_exif((20, 90, 160)),
        rules=rules,
        now=now,
    )
    kept = f"{stored.sha256[:2]}/{stored.sha256}.thumb.jpg"
    assert await media_backend.keys(media_dir) == sorted([stored.path, kept])
    # As for a photo stored before thumbnails: made on the first request.
    await media_backend.delete(media_dir, kept)
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, facts.world.people["county0"], now)
        async with browser.http.get(server.url(f"/console/visits/photos/{pid}/thumb")) as resp:
            assert resp.status == 200 and resp.content_type == "image/jpeg"
            first = await resp.read()
        assert await media_backend.read(media_dir, kept) == first  # stored back
        with Image.open(io.BytesIO(first)) as img:
            assert img.format == "JPEG"
            assert max(img.size) <= 320 and img.size[0] < 1200 and img.size[1] < 900
            assert img.size == (320, 240)  # the shape kept
            assert img.getpixel((160, 120)) == pytest.approx((20, 90, 160), abs=8)
        assert len(first) < len(jpeg_with_exif((20, 90, 160)))
        stamp = (media_dir / kept).stat().st_mtime_ns if media_backend.name == "local" else 0
        async with browser.http.get(server.url(f"/console/visits/photos/{pid}/thumb")) as resp:
            assert await resp.read() == first
        if media_backend.name == "local":
            assert (media_dir / kept).stat().st_mtime_ns == stamp  # from the cache, not made again
        assert await media_backend.keys(media_dir) == sorted([stored.path, kept])
        # Another county's officer: the same 404 as for a photo that does not exist.
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, facts.away.people["county"], now)
        async with browser.http.get(server.url(f"/console/visits/photos/{pid}/thumb")) as resp:
            assert resp.status == 404


@pytest.mark.parametrize("media_backend", ["local", "s3"], indirect=True)
async def test_a_missing_photo_file_is_404_not_a_server_error(
    site, sessionmaker, clock, rules, media_backend
):
    facts, server, media_dir = site
    now = clock.now()
    visit = await add_visit(sessionmaker, facts, "v0a", now - timedelta(hours=1))
    pid, stored = await add_photo(
        sessionmaker, server.app[MEDIA], facts, visit, photo_bytes((3, 3, 3)), rules=rules, now=now
    )
    await media_backend.delete(media_dir, stored.path)
    await media_backend.delete(media_dir, stored.thumb_path)
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, facts.world.people["county0"], now)
        async with browser.http.get(server.url(f"/console/visits/photos/{pid}/thumb")) as resp:
            assert resp.status == 404


# 石门村: three visits close together and one 5.4 km north; 柳树村: two at one place.
SHIMEN = ((30.0, 120.0), (30.001, 120.001), (30.002, 119.999), (30.05, 120.0))
LIUSHU = ((30.1, 120.1), (30.1, 120.1))


async def located(sm, facts, clock) -> dict[tuple[float, float], int]:
    now, ids = clock.now(), {}
    for i, (lat, lon) in enumerate(SHIMEN):
        ids[lat, lon] = await add_visit(
            sm, facts, "v0a", now - timedelta(hours=10 - i), lat=lat, lon=lon
        )
    for i, (lat, lon) in enumerate(LIUSHU):
        await add_visit(sm, facts, "v1a", now - timedelta(hours=20 + i), lat=lat, lon=lon)
    await add_visit(sm, facts, "away", now - timedelta(hours=1), lat=25.0, lon=110.0)
    await add_visit(
        sm, facts, "v0b", now - timedelta(days=40), lat=30.0, lon=120.0
    )  # October: not this month's map
    return ids


async def test_map_data_places_villages_at_the_median_and_flags_far_points(
    site, sessionmaker, clock
):
    facts, server, _media = site
    w, now = facts.world, clock.now()
    ids = await located(sessionmaker, facts, clock)
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, w.people["county0"], now)
        async with browser.http.get(server.url("/console/visits/map.json")) as resp:
            assert resp.status == 200
            data = await resp.json()
        status, page = await browser.get("/console/visits/map")
    assert data["month"] == "2026-11" and data["total"] == 6 and data["limit"] == 500
    assert data["far_km"] == 3.0 and data["tile_url"] == ""
    villages = {v["name"]: v for v in data["villages"]}
    assert set(villages) == {"石门村", "柳树村"}
    assert (villages["石门村"]["lat"], villages["石门村"]["lon"]) == (30.0015, 120.0)
    assert villages["石门村"]["town"] == "东岭镇" and villages["石门村"]["visits"] == 4
    assert (villages["柳树村"]["lat"], villages["柳树村"]["lon"]) == (30.1, 120.1)
    points = {p["visit"]: p for p in data["points"]}
    assert len(points) == 6  # not the other county's, not October's
    far = points[ids[30.05, 120.0]]
    expected = visit_map.distance_km(30.05, 120.0, 30.0015, 120.0)
    assert far["far"] is True and far["km"] == round(expected, 2) and 5.3 < far["km"] < 5.5
    assert far["name"] == "王大" and far["household"] == facts.households["v0a"]
    assert [p["visit"] for p in data["points"] if p["far"]] == [ids[30.05, 120.0]]
    assert all(p["km"] < 0.3 for p in data["points"] if not p["far"])
    # The page says how many points it shows and lists the far one with its distance.
    assert status == 200 and "最近 6 次带位置的走访（共 6 次" in page
    far_rows = page.split('id="far-list"', 1)[1]
    assert "王大" in far_rows and f"{expected:.1f} 公里" in far_rows
    assert 'src="/console/static/visits_map.js"' in page
    # A township officer's map holds only their township's villages.
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, w.people["town1"], now)
        async with browser.http.get(server.url("/console/visits/map.json")) as resp:
            data = await resp.json()
        assert data["points"] == [] and data["villages"] == []
        async with browser.http.get(
            server.url(f"/console/visits/map.json?region={w.villages[0].id}")
        ) as resp:
            assert resp.status == 403 and "王大" not in await resp.text()


async def test_map_sends_only_the_latest_points(sessionmaker, clock, rules):
    facts = await populate(sessionmaker, clock, replace(rules, visit_quotas=dict(QUOTAS)))
    ids = await located(sessionmaker, facts, clock)
    async with sessionmaker() as s:
        data = await console_visits.visit_map_data(
            s,
            facts.world.people["county0"],
            region_id=None,
            month=None,
            now=clock.now(),
            tz=SHANGHAI,
            limit=3,
        )
    assert data.total == 6 and data.limit == 3
    # SHIMEN's last three are the newest (10 h, 9 h, 8 h, 7 h ago: the last three).
    assert [p.point.visit_id for p in data.points] == [ids[k] for k in reversed(SHIMEN[1:])]


async def test_tile_server_setting_reaches_the_map_and_its_csp(
    sessionmaker, clock, rules, database_url, tmp_path
):
    facts = await populate(sessionmaker, clock, replace(rules, visit_quotas=dict(QUOTAS)))
    tiles = "https://tiles.example.org:8443/osm/{z}/{x}/{y}.png"
    async with webchat_server(
        database_url, tmp_path, clock, run_workers=False, map_tile_url=tiles
    ) as server:
        async with Browser(server.base_url) as browser:
            await browser.sign_in(sessionmaker, facts.world.people["county0"], clock.now())
            async with browser.http.get(server.url("/console/visits/map.json")) as resp:
                assert (await resp.json())["tile_url"] == tiles
            async with browser.http.get(server.url("/console/visits/map")) as resp:
                csp = resp.headers["Content-Security-Policy"]
            async with browser.http.get(server.url("/console/visits")) as resp:
                plain = resp.headers["Content-Security-Policy"]
    assert "img-src 'self' https://tiles.example.org:8443 blob: data:" in csp
    assert "script-src 'self';" in csp and "tiles.example" not in plain
    for bad in (
        "ftp://x/{z}/{x}/{y}",
        "https://x/{z}/{x}.png",
        "javascript:{z}{x}{y}",
        "https:///{z}/{x}/{y}",
        "https://{s}.tile.example/{z}/{x}/{y}.png",
    ):
        with pytest.raises(ConfigError, match="CUNBOT_MAP_TILE_URL"):
            load_config(map_tile_url=bad)
    assert load_config(map_tile_url="").core.map_tile_url == ""


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium")
async def test_map_and_gallery_are_drawn_in_chromium_at_phone_size(
    site, sessionmaker, clock, rules, artifacts_dir
):
    from playwright.async_api import async_playwright, expect

    facts, server, media_dir = site
    now = clock.now()
    await located(sessionmaker, facts, clock)
    for i in range(3):
        visit = await add_visit(sessionmaker, facts, "v0b", now - timedelta(hours=1, minutes=i))
        await add_photo(
            sessionmaker,
            media_dir,
            facts,
            visit,
            jpeg_with_exif((40 + 60 * i, 120, 200 - 50 * i)),
            rules=rules,
            now=now,
        )
    link = await issue(sessionmaker, facts.world.people["county0"], now, server.base_url)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            context = await browser.new_context(
                viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True
            )
            page = await context.new_page()
            errors: list[str] = []
            page.on("console", lambda msg: errors.append(msg.text))
            await page.goto(link)
            await page.click("#enter")
            await page.locator("header nav a", has_text="走访").click()
            await expect(page.locator("h1")).to_contain_text("走访")
            await page.locator("#visit-tabs a", has_text="地图").click()
            await expect(page.locator("#map svg")).to_be_visible()
            await expect(page.locator("#map")).to_have_attribute("data-drawn", "6")
            # Three close visits merge into a cluster or stay points; the far one is apart.
            singles = await page.locator("#map circle.pt:not(.far)").count()
            merged = await page.locator("#map g.cluster text").all_text_contents()
            assert singles + len(merged) >= 2  # two villages 12 km apart never merge
            assert singles + sum(int(n) for n in merged) == 5  # every near visit is drawn
            await expect(page.locator("#map circle.far")).to_have_count(1)
            await expect(page.locator("#map .far text.km")).to_have_text("5.4 km")
            await expect(page.locator("#map .village text")).to_have_count(2)
            await expect(page.locator("#map .village text").first).to_be_visible()
            await expect(page.locator("#far-list")).to_contain_text("王大")
            await page.screenshot(path=str(artifacts_dir / "console-visit-map-phone.png"))
            width = await page.evaluate(
                "() => [document.documentElement.scrollWidth, window.innerWidth]"
            )
            assert width[0] <= width[1], width

            await page.locator("#visit-tabs a", has_text="照片").click()
            await expect(page.locator("#gallery img")).to_have_count(3)
            await page.wait_for_function(
                "() => [...document.querySelectorAll('#gallery img')]"
                ".every(i => i.complete && i.naturalWidth > 0)"
            )
            natural = await page.evaluate(
                "() => [...document.querySelectorAll('#gallery img')].map(i => i.naturalWidth)"
            )
            assert natural == [320, 320, 320]  # the thumbnails, not the 1200-pixel photos
            await expect(page.locator("#gallery")).to_contain_text("拍摄 11-09 08:15")
            await page.screenshot(
                path=str(artifacts_dir / "console-visit-photos-phone.png"), full_page=True
            )
            assert not [m for m in errors if "Content Security Policy" in m], errors
            await context.close()
        finally:
            await browser.close()
