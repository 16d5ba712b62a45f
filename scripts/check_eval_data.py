"""Validate data/eval/faq_questions.yaml against data/faq/policy.yaml and print its counts.

Usage: python3 scripts/check_eval_data.py   (exit status 1 on any problem)
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
KINDS = {"in", "unanswerable", "ood"}
STYLES = {"colloquial", "terse", "dialect", "traditional", "typo", "voice", "formal", "long"}
SPLITS = {"dev", "test"}
FIELDS = {"text", "entry", "kind", "style", "split"}
MIN_PER_ENTRY, MIN_UNANSWERABLE, MIN_OOD = 9, 120, 200
# Entries added to policy.yaml after this data was written (from DOMAIN.md's list of facts the
# FAQ lacked). Their questions are the `unanswerable` items of the matching `topic`, which
# bench/faq_calibrate.py (TOPIC_ENTRY) counts as theirs; they have no `in` items of their own.
ADDED_LATER = frozenset({"F071", "F072", "F073", "F074", "F075"})


def _norm(text: str) -> str:
    """Letters and digits only, lower-cased: punctuation and spacing do not make a text new."""
    return "".join(ch for ch in text if ch.isalnum()).lower()


def _item_errors(it: dict[str, Any], ids: set[str]) -> list[str]:
    if missing := FIELDS - it.keys():
        return [f"missing {sorted(missing)}"]
    errors = []
    if it["kind"] not in KINDS or it["style"] not in STYLES or it["split"] not in SPLITS:
        errors.append("bad kind/style/split")
    if (it["kind"] == "in") != (it["entry"] is not None):
        errors.append("entry must be set exactly when kind is 'in'")
    if it["entry"] is not None and it["entry"] not in ids:
        errors.append(f"unknown entry {it['entry']}")
    if not _norm(str(it["text"])):
        errors.append("empty text")
    return errors


def check(entries: list[dict[str, Any]], items: list[dict[str, Any]]) -> list[str]:
    ids = {e["id"] for e in entries}
    known = {_norm(e["question"]) for e in entries}
    for e in entries:
        known.update(_norm(v) for v in e.get("variants") or [])
    errors: list[str] = []
    seen: set[str] = set()
    for n, it in enumerate(items, 1):
        problems = _item_errors(it, ids)
        key = _norm(str(it.get("text", "")))
        if key in seen:
            problems.append("duplicate text")
        if key in known:
            problems.append("same as an entry's question or variant")
        seen.add(key)
        errors += [f"item {n} ({it.get('text')!r}): {p}" for p in problems]
    per_entry = Counter(it.get("entry") for it in items if it.get("kind") == "in")
    errors += [
        f"{i}: only {per_entry[i]} 'in' items"
        for i in sorted(ids - ADDED_LATER)
        if per_entry[i] < MIN_PER_ENTRY
    ]
    kinds = Counter(it.get("kind") for it in items)
    if kinds["unanswerable"] < MIN_UNANSWERABLE or kinds["ood"] < MIN_OOD:
        errors.append(f"too few unanswerable/ood items: {dict(kinds)}")
    return errors


def counts(items: list[dict[str, Any]]) -> str:
    ins = [it for it in items if it.get("kind") == "in"]
    per_entry = Counter(it["entry"] for it in ins)
    test = Counter(it["entry"] for it in ins if it["split"] == "test")
    low = sorted(i for i in per_entry if test[i] * 100 < 40 * per_entry[i])
    lines = [f"items: {len(items)}, entries covered: {len(per_entry)}"]
    for field in ("kind", "style"):
        table = Counter((it.get(field), it.get("split")) for it in items)
        for value in sorted({k for k, _ in table}):
            dev, tst = table[(value, "dev")], table[(value, "test")]
            lines.append(f"  {field:5} {value:13} dev {dev:4}  test {tst:4}  total {dev + tst:4}")
    lines.append(f"'in' per entry: min {min(per_entry.values())}, max {max(per_entry.values())}")
    lines.append(f"entries with under 40% of their items in test: {low or 'none'}")
    return "\n".join(lines)


def main() -> int:
    entries = yaml.safe_load((ROOT / "data/faq/policy.yaml").read_text(encoding="utf-8"))
    items = yaml.safe_load((ROOT / "data/eval/faq_questions.yaml").read_text(encoding="utf-8"))
    errors = check(entries, items)
    sys.stdout.write(counts(items) + "\n")
    sys.stdout.write("".join(f"ERROR {e}\n" for e in errors) or "OK\n")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
