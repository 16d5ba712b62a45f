"""Validate data/eval/faq_questions.yaml against data/faq/policy.yaml and print its counts.

Usage: python3 scripts/check_eval_data.py   (exit status 1 on any problem)
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
KINDS = {"in", "unanswerable", "ood"}
STYLES = {"colloquial", "terse", "dialect", "traditional", "typo", "voice", "formal", "long"}
SPLITS = {"dev", "test"}
FIELDS = {"text", "entry", "kind", "style", "split"}
MIN_PER_ENTRY, MIN_UNANSWERABLE, MIN_OOD = 9, 120, 200


def _norm(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum()).lower()


def main() -> int:
    entries = yaml.safe_load((ROOT / "data/faq/policy.yaml").read_text(encoding="utf-8"))
    items = yaml.safe_load((ROOT / "data/eval/faq_questions.yaml").read_text(encoding="utf-8"))
    ids = {e["id"] for e in entries}
    known = {_norm(e["question"]) for e in entries}
    for e in entries:
        known.update(_norm(v) for v in e.get("variants") or [])
    errors: list[str] = []
    seen: set[str] = set()
    for n, it in enumerate(items, 1):
        where = f"item {n} ({it.get('text')!r})"
        if missing := FIELDS - it.keys():
            errors.append(f"{where}: missing {sorted(missing)}")
            continue
        if it["kind"] not in KINDS or it["style"] not in STYLES or it["split"] not in SPLITS:
            errors.append(f"{where}: bad kind/style/split")
        if (it["kind"] == "in") != (it["entry"] is not None):
            errors.append(f"{where}: entry must be set exactly when kind is 'in'")
        if it["entry"] is not None and it["entry"] not in ids:
            errors.append(f"{where}: unknown entry {it['entry']}")
        key = _norm(it["text"])
        if not key:
            errors.append(f"{where}: empty text")
        if key in seen:
            errors.append(f"{where}: duplicate text")
        seen.add(key)
        if key in known:
            errors.append(f"{where}: same as an entry's question or variant")
    ins = [it for it in items if it.get("kind") == "in"]
    per_entry = Counter(it["entry"] for it in ins)
    for i in sorted(ids):
        if per_entry[i] < MIN_PER_ENTRY:
            errors.append(f"{i}: only {per_entry[i]} 'in' items")
    kinds = Counter(it.get("kind") for it in items)
    if kinds["unanswerable"] < MIN_UNANSWERABLE or kinds["ood"] < MIN_OOD:
        errors.append(f"too few unanswerable/ood items: {dict(kinds)}")
    print(f"items: {len(items)}  entries covered: {len(per_entry)}/{len(ids)}")
    print("kind x split:", dict(Counter((it.get("kind"), it.get("split")) for it in items)))
    print("style x split:", dict(sorted(Counter((it.get("style"), it.get("split")) for it in items).items())))
    print("in per entry: min", min(per_entry.values(), default=0), "max", max(per_entry.values(), default=0))
    test_share = Counter(it["entry"] for it in ins if it["split"] == "test")
    low = [i for i in per_entry if test_share[i] * 100 < 40 * per_entry[i]]
    print("entries with < 40% test:", low or "none")
    for e in errors:
        print("ERROR", e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
