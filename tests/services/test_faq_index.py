"""The FAQ index's lifecycle: built after app start-up (shipped FAQ loaded into an empty table),
rebuilt when the table changes, kept when it does not."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from aiohttp import web

from bot.app import SERVICES, create_app
from bot.appkeys import INBOUND
from bot.config import load_config
from services import faq_file
from services.faq_embed import Embedder
from services.faq_index import FaqService
from storage import faq as faq_store
from storage.faq import FaqDTO
from storage.models import FaqVector
from tests.faqkit import analyzer, embedder


async def test_app_start_up_builds_the_index_from_the_shipped_faq(
    engine, database_url, backend, tmp_path
):
    # PostgreSQL: the engine fixture made the schema; SQLite: the app migrates a fresh file.
    url = database_url if backend == "postgresql" else f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"
    app = create_app(load_config(database_url=url), run_workers=False)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        await app[INBOUND].ready.wait()  # loaded in the background: messages wait for it
        service = app[SERVICES].faq
        assert isinstance(service, FaqService)
        shipped = faq_file.read_file(faq_file.SHIPPED)
        assert service.index is not None and len(service.index) == len(shipped)
        assert service.index.search("低保渐退多长时间").best.faq_id == "F028"
    finally:
        await runner.cleanup()


async def test_existing_faq_is_kept_and_not_reseeded(sessionmaker, clock):
    async with sessionmaker() as s, s.begin():
        await faq_store.upsert_many(s, [FaqDTO("OWN1", "自己的问题", "自己的答案")], clock.now())
    service = await FaqService.start(sessionmaker, clock.now(), analyzer=analyzer())
    assert list(service.index.entries) == ["OWN1"]


async def test_index_is_rebuilt_only_when_the_table_changes(sessionmaker, clock):
    service = await FaqService.start(sessionmaker, clock.now(), analyzer=analyzer())
    first = service.index
    async with sessionmaker() as s:
        assert await service.current(s) is first
    async with sessionmaker() as s, s.begin():
        assert await faq_store.delete(s, "F001")
    async with sessionmaker() as s:
        rebuilt = await service.current(s)
    assert rebuilt is not first and "F001" not in rebuilt.entries


async def test_seed_skips_ids_already_present_so_a_second_process_starts_cleanly(
    sessionmaker, clock
):
    entries = faq_file.read_file(faq_file.SHIPPED)
    async with sessionmaker() as first, first.begin():
        assert await faq_store.seed(first, entries, clock.now()) == len(entries)
    async with sessionmaker() as second, second.begin():
        assert await faq_store.seed(second, entries, clock.now()) == 0
    async with sessionmaker() as s:
        assert await faq_store.count(s) == len(entries)


class _Counting:
    """The real model, counting the phrasings it is asked to embed in batches."""

    def __init__(self, model) -> None:
        self.model = model
        self.embedded = 0

    def query(self, texts):
        if not isinstance(texts, str):
            self.embedded += len(texts)
        return self.model.query(texts)

    def token_count(self, text, is_query=False):
        return self.model.token_count(text, is_query)


async def test_a_restart_embeds_no_phrasing_whose_vector_is_stored(sessionmaker, clock):
    first = await FaqService.start(sessionmaker, clock.now(), analyzer=analyzer())
    async with sessionmaker() as s:
        stored = await s.scalar(sa.select(sa.func.count()).select_from(FaqVector))
    assert stored == len(first.index.texts())

    counting = _Counting(embedder()._model)
    restarted = await FaqService.start(
        sessionmaker, clock.now(), analyzer=analyzer(), embedder=Embedder(counting)
    )
    assert counting.embedded == 0
    assert restarted.index.search("低保渐退多长时间").best.faq_id == "F028"

    async with sessionmaker() as s, s.begin():
        await faq_store.upsert_many(
            s,
            [FaqDTO("X1", "村级光伏电站收益怎么分配", "公示后发放。", ("光伏收益",))],
            clock.now(),
        )
    async with sessionmaker() as s, s.begin():
        await restarted.current(s)
    assert counting.embedded == 3  # only the new entry's two phrasings and its answer


def test_the_shipped_vector_file_covers_the_shipped_faq_and_matches_the_model():
    """data/faq/vectors.f16 holds a vector for every text of the shipped FAQ (regenerate it
    with ``python bench/faq_vectors.py`` after editing policy.yaml), each the model's own."""
    from services import faq_embed
    from services.faq_rank import embedded

    shipped = faq_embed.read_vectors(faq_embed.SHIPPED_VECTORS)
    texts = [t for e in faq_file.read_file(faq_file.SHIPPED) for t in embedded(e)]
    missing = [t for t in texts if faq_embed.key(t) not in shipped]
    assert missing == [], "run: python bench/faq_vectors.py"
    fresh = Embedder(embedder()._model)
    sample = texts[:: max(1, len(texts) // 8)]
    for text, vector in zip(sample, fresh.phrasings(sample), strict=True):
        assert float(shipped[faq_embed.key(text)] @ vector) > 0.999


def test_a_vector_file_reads_back_what_was_written(tmp_path):
    import numpy as np

    from services import faq_embed

    rng = np.random.default_rng(7)
    vectors = {faq_embed.key(t): rng.standard_normal(faq_embed.DIM) for t in ("甲", "乙")}
    path = tmp_path / "v.f16"
    faq_embed.write_vectors(path, vectors)
    back = faq_embed.read_vectors(path)
    assert set(back) == set(vectors)
    for k, v in vectors.items():
        assert np.allclose(back[k], v, atol=2e-2)
    assert faq_embed.read_vectors(tmp_path / "none.f16") == {}
    (tmp_path / "bad.f16").write_bytes(b"x" * 10)
    with pytest.raises(ValueError, match="not a vector file"):
        faq_embed.read_vectors(tmp_path / "bad.f16")


async def test_a_first_start_embeds_nothing_of_the_shipped_faq(sessionmaker, clock):
    from services import faq_embed

    counting = _Counting(embedder()._model)
    fresh = Embedder(counting)
    fresh.remember(faq_embed.read_vectors(faq_embed.SHIPPED_VECTORS))
    service = await FaqService.start(sessionmaker, clock.now(), analyzer=analyzer(), embedder=fresh)
    assert counting.embedded == 0
    assert service.index.search("低保渐退多长时间").best.faq_id == "F028"
