"""cunbot faq import FILE | faq export FILE | faq ask [--json] [QUESTION]."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from bot.commands import open_db
from bot.config import Config
from core.clock import SystemClock
from services import faq_file
from services.faq_embed import Embedder
from services.faq_index import FaqService
from services.faq_rank import FaqIndex
from services.faq_search import Analyzer
from storage import faq as faq_store


def add_parsers(sub: argparse._SubParsersAction) -> None:
    faq = sub.add_parser("faq", help="policy FAQ: import, export, ask")
    fsub = faq.add_subparsers(dest="faq_command", required=True)
    imp = fsub.add_parser("import", help="add or update entries from a YAML file (all or nothing)")
    imp.add_argument("file", type=Path)
    imp.set_defaults(func=cmd_import)
    exp = fsub.add_parser("export", help="write every entry to a YAML file")
    exp.add_argument("file", type=Path)
    exp.set_defaults(func=cmd_export)
    ask = fsub.add_parser(
        "ask", help="ask a question (without one: one question per line on stdin)"
    )
    ask.add_argument("question", nargs="?")
    ask.add_argument("--json", action="store_true", help="one JSON object per question")
    ask.add_argument("--file", type=Path, help="ask against this FAQ file instead of the database")
    ask.set_defaults(func=cmd_ask)


async def cmd_import(config: Config, args: argparse.Namespace) -> int:
    try:
        entries = await asyncio.to_thread(faq_file.read_file, args.file)
    except FileNotFoundError:
        print(f"找不到文件: {args.file}", file=sys.stderr)
        return 1
    except faq_file.FaqFileError as exc:
        print(f"导入失败，没有写入任何条目。{exc}", file=sys.stderr)
        return 1
    async with open_db(config) as sessions, sessions() as session, session.begin():
        added, updated = await faq_store.upsert_many(session, entries, SystemClock().now())
    print(f"已导入 {len(entries)} 条：新增 {added} 条，更新 {updated} 条。")
    return 0


async def cmd_export(config: Config, args: argparse.Namespace) -> int:
    async with open_db(config) as sessions, sessions() as session:
        entries = await faq_store.all_entries(session)
    text = faq_file.dump_entries(entries)
    await asyncio.to_thread(args.file.write_text, text, encoding="utf-8")
    print(f"已导出 {len(entries)} 条到 {args.file}")
    return 0


async def _index(config: Config, file: Path | None) -> FaqIndex:
    """The FAQ to ask against: a file, else the database (with its stored phrasing vectors),
    else (empty table) the shipped one."""
    analyzer = await asyncio.to_thread(Analyzer.shared)
    embedder = await asyncio.to_thread(Embedder.shared)
    if file is None:
        async with open_db(config) as sessions, sessions() as session, session.begin():
            if await faq_store.count(session):
                return await FaqService(analyzer, embedder).current(session)
    entries = await asyncio.to_thread(faq_file.read_file, file or faq_file.SHIPPED)
    return await asyncio.to_thread(FaqIndex.build, entries, analyzer, embedder)


def answer_json(index: FaqIndex, question: str) -> dict[str, Any]:
    result = index.search(question)
    best = result.best
    matched = result.decision == "answer" and best is not None
    entry = index.entries[best.faq_id] if matched and best else None
    return {
        "question": question,
        "matched": matched,
        "answer": entry.answer if entry else None,
        "faq_id": entry.id if entry else None,
        "score": best.score if best else 0.0,
        "source": entry.source if entry else None,
        "suggestions": (
            [{"faq_id": h.faq_id, "question": h.question, "score": h.score} for h in result.hits]
            if result.decision == "suggest"
            else []
        ),
    }


def _plain(out: dict[str, Any]) -> str:
    if out["matched"]:
        return f"{out['answer']}\n来源：{out['source']}（{out['faq_id']}，{out['score']:.3f}）"
    if out["suggestions"]:
        return "您想问的是：\n" + "\n".join(
            f"  {s['faq_id']} {s['question']}" for s in out["suggestions"]
        )
    return "答不准，会转给县里工作人员。"


async def cmd_ask(config: Config, args: argparse.Namespace) -> int:
    try:
        index = await _index(config, args.file)
    except faq_file.FaqFileError as exc:
        print(exc, file=sys.stderr)
        return 1
    questions = [args.question] if args.question is not None else sys.stdin
    for line in questions:
        question = line.strip()
        if not question:
            continue
        out = await asyncio.to_thread(answer_json, index, question)
        print(json.dumps(out, ensure_ascii=False) if args.json else _plain(out), flush=True)
    return 0
