"""Validate the visit-report and free-text intent evaluation data and print its counts.

    python3 scripts/check_visit_eval_data.py [DATA_DIR]

DATA_DIR defaults to data/eval next to this script's repository. Reads visit_households.yaml,
visit_reports.yaml and intents.yaml; exits 1 with one line per problem found. Needs only the
standard library and PyYAML, so it runs without the project's virtualenv.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import yaml

CHECKS = (
    "water",
    "education",
    "medical",
    "housing",
    "income",
    "employment",
    "industry",
    "credit",
    "security",
)
STATUSES = ("ok", "problem")
STYLES = (
    "colloquial",
    "terse",
    "long",
    "structured",
    "glued",
    "traditional",
    "typo",
    "voice",
    "negation_resolution",
    "mixed",
)
INTENTS = ("visit_report", "ack", "submission_text", "policy_question", "not_understood")
SPLITS = ("dev", "test")
PUSH_KINDS = ("task", "notice")
VISIT_FIELDS = {"text", "household", "checks", "unclear", "numbers", "style", "split", "batch"}
INTENT_FIELDS = {"text", "context", "intent", "household", "split"}
MIN_VISITS, MIN_INTENTS = 360, 260
# Traditional forms of registry surnames, so a report typed in traditional characters still
# names its household.
TRAD_SURNAME = {
    "陈": "陳",
    "刘": "劉",
    "张": "張",
    "杨": "楊",
    "赵": "趙",
    "吴": "吳",
    "孙": "孫",
    "马": "馬",
    "郑": "鄭",
    "谢": "謝",
    "韩": "韓",
    "冯": "馮",
    "邓": "鄧",
    "肖": "蕭",
    "蒋": "蔣",
    "叶": "葉",
    "苏": "蘇",
    "吕": "呂",
    "卢": "盧",
    "韦": "韋",
    "龙": "龍",
    "罗": "羅",
    "黄": "黃",
    "郭": "郭",
    "潘": "潘",
}


class Report:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def err(self, where: str, msg: str) -> None:
        self.errors.append(f"{where}: {msg}")


def out(line: str = "") -> None:
    sys.stdout.write(line + "\n")


def load(path: Path) -> object:
    with path.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def names_household(text: str, name: str, code: str) -> bool:
    """Whether the text names the household: its head's name, its code or its surname."""
    surname = name[0]
    return any(s in text for s in (name, code, surname, TRAD_SURNAME.get(surname, surname)))


def check_split(rep: Report, where: str, split: object) -> None:
    if split not in SPLITS:
        rep.err(where, f"split {split!r} not in {SPLITS}")


def check_labels(rep: Report, where: str, item: dict) -> None:
    """checks: key -> ok|problem; unclear: keys; not both for one key; at least one label."""
    checks = item["checks"] or {}
    if not isinstance(checks, dict):
        rep.err(where, "checks must be a map")
        checks = {}
    for key, status in checks.items():
        if key not in CHECKS:
            rep.err(where, f"unknown check key {key!r}")
        if status not in STATUSES:
            rep.err(where, f"{key}: status {status!r} not in {STATUSES}")
    unclear = item.get("unclear") or []
    if not isinstance(unclear, list) or any(k not in CHECKS for k in unclear):
        rep.err(where, f"unclear must be a list of check keys, got {unclear!r}")
        unclear = []
    if set(unclear) & set(checks):
        rep.err(where, f"{sorted(set(unclear) & set(checks))} both decided and unclear")
    if not checks and not unclear:
        rep.err(where, "a report says something about at least one check")


def check_numbers(rep: Report, where: str, text: str, numbers: object) -> None:
    if not isinstance(numbers, list):
        rep.err(where, "numbers must be a list")
        return
    for n in numbers:
        if not isinstance(n, str) or n not in text:
            rep.err(where, f"number {n!r} is not verbatim in the text")


def check_visit(rep: Report, where: str, item: dict, registry: dict[str, str]) -> None:
    extra = set(item) - VISIT_FIELDS
    missing = {"text", "household", "checks", "numbers", "style", "split"} - set(item)
    if extra or missing:
        rep.err(where, f"fields: unknown {sorted(extra)}, missing {sorted(missing)}")
        return
    text = item["text"]
    if not isinstance(text, str) or not text.strip():
        rep.err(where, "text must be a non-empty string")
        return
    household = item["household"]
    if household not in registry:
        rep.err(where, f"household {household!r} is not in the registry")
    elif not names_household(text, household, registry[household]):
        rep.err(where, f"text does not name {household} ({registry[household]})")
    check_labels(rep, where, item)
    check_numbers(rep, where, text, item["numbers"])
    if item["style"] not in STYLES:
        rep.err(where, f"style {item['style']!r} not in {STYLES}")
    check_split(rep, where, item["split"])


def check_context(rep: Report, where: str, ctx: object) -> tuple[bool, bool]:
    """(has a recent push, has an open submission)."""
    if not isinstance(ctx, dict) or set(ctx) != {"recent_push", "open_submission"}:
        rep.err(where, "context must be {recent_push, open_submission}")
        return False, False
    push = ctx["recent_push"]
    if push is not None:
        ok = isinstance(push, dict) and set(push) == {"kind", "title"}
        if not ok or push["kind"] not in PUSH_KINDS or not str(push["title"]).strip():
            rep.err(where, f"recent_push must be null or {{kind: task|notice, title}}: {push!r}")
    if not isinstance(ctx["open_submission"], bool):
        rep.err(where, "open_submission must be true or false")
    return push is not None, ctx["open_submission"] is True


def check_intent(rep: Report, where: str, item: dict, registry: dict[str, str]) -> None:
    extra = set(item) - INTENT_FIELDS
    missing = {"text", "context", "intent", "split"} - set(item)
    if extra or missing:
        rep.err(where, f"fields: unknown {sorted(extra)}, missing {sorted(missing)}")
        return
    if not isinstance(item["text"], str) or not item["text"].strip():
        rep.err(where, "text must be a non-empty string")
        return
    intent = item["intent"]
    if intent not in INTENTS:
        rep.err(where, f"intent {intent!r} not in {INTENTS}")
    has_push, has_sub = check_context(rep, where, item["context"])
    household = item.get("household")
    if intent == "visit_report":
        if household not in registry:
            rep.err(where, f"a visit_report names a registry household, got {household!r}")
        elif not names_household(item["text"], household, registry[household]):
            rep.err(where, f"text does not name {household}")
    elif household is not None:
        rep.err(where, "household is given only for visit_report")
    if intent == "ack" and not has_push:
        rep.err(where, "ack needs a recent push")
    if intent == "submission_text" and not has_sub:
        rep.err(where, "submission_text needs an open submission")
    check_split(rep, where, item["split"])


def duplicates(rep: Report, name: str, items: list) -> None:
    """No text twice; in intents.yaml the same short text (收到) may recur in another context."""
    seen: Counter[str] = Counter()
    for i in items:
        if isinstance(i, dict):
            ctx = i.get("context")
            seen[repr((i.get("text"), ctx)) if ctx is not None else repr(i.get("text"))] += 1
    for key, n in seen.items():
        if n > 1:
            rep.err(name, f"occurs {n} times: {key}")


def same_split(rep: Report, visits: list, intents: list) -> None:
    """A text used in both files sits on the same side of the split in both."""
    split_of = {v.get("text"): v.get("split") for v in visits if isinstance(v, dict)}
    for n, item in enumerate(intents, 1):
        if isinstance(item, dict) and split_of.get(item.get("text"), item.get("split")) != item.get(
            "split"
        ):
            rep.err(f"intents.yaml#{n}", "text is in visit_reports.yaml on the other split")


def table(title: str, rows: Counter, splits: Counter) -> None:
    out(f"\n{title}")
    for key in sorted({k for k, _ in rows}):
        dev, test = rows[(key, "dev")], rows[(key, "test")]
        out(f"  {key:<22} {dev + test:>4}  dev {dev:>4}  test {test:>4}")
    total = sum(splits.values())
    share = splits["test"] / total if total else 0.0
    out(
        f"  {'total':<22} {total:>4}  dev {splits['dev']:>4}  test {splits['test']:>4}"
        f"  ({share:.0%} test)"
    )


def summarize_visits(visits: list[dict]) -> None:
    by_style = Counter((v["style"], v["split"]) for v in visits)
    table("visit_reports.yaml by style", by_style, Counter(v["split"] for v in visits))
    status: Counter[tuple[str, str]] = Counter()
    for v in visits:
        for k, s in v["checks"].items():
            status[(k, s)] += 1
        for k in v.get("unclear") or []:
            status[(k, "unclear")] += 1
    out("\n  check        ok  problem  unclear")
    for k in CHECKS:
        out(
            f"  {k:<11} {status[(k, 'ok')]:>4} {status[(k, 'problem')]:>8} "
            f"{status[(k, 'unclear')]:>8}"
        )
    with_problem = sum(1 for v in visits if "problem" in v["checks"].values())
    with_unclear = sum(1 for v in visits if v.get("unclear"))
    with_numbers = sum(1 for v in visits if v["numbers"])
    n = len(visits)
    out(
        f"  reports with a problem: {with_problem} ({with_problem / n:.0%}); with an unclear "
        f"clause: {with_unclear}; with numbers: {with_numbers}; check labels: "
        f"{sum(status.values())}"
    )


def summarize_intents(intents: list[dict]) -> None:
    by_intent = Counter((i["intent"], i["split"]) for i in intents)
    table("intents.yaml by intent", by_intent, Counter(i["split"] for i in intents))
    no_push_ack_words = sum(
        1
        for i in intents
        if i["intent"] == "not_understood"
        and i["context"]["recent_push"] is None
        and i["text"].strip() in {"收到", "好的", "已阅", "收到了", "👌", "明白", "好嘞", "知道了"}
    )
    out(f"  ack words with no recent push (not_understood): {no_push_ack_words}")


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent / "data/eval"
    rep = Report()
    reg = load(root / "visit_households.yaml")
    registry = {h["name"]: h["code"] for h in reg["households"]}  # type: ignore[index]
    if len(registry) != len(reg["households"]):  # type: ignore[index]
        rep.err("visit_households.yaml", "duplicate household names")
    visits = load(root / "visit_reports.yaml")
    intents = load(root / "intents.yaml")
    for name, items, minimum, fn in (
        ("visit_reports.yaml", visits, MIN_VISITS, check_visit),
        ("intents.yaml", intents, MIN_INTENTS, check_intent),
    ):
        if not isinstance(items, list):
            rep.err(name, "must be a YAML list")
            continue
        if len(items) < minimum:
            rep.err(name, f"{len(items)} items, at least {minimum} expected")
        for n, item in enumerate(items, 1):
            if isinstance(item, dict):
                fn(rep, f"{name}#{n}", item, registry)
            else:
                rep.err(f"{name}#{n}", "item must be a map")
        duplicates(rep, name, items)
    if isinstance(visits, list) and isinstance(intents, list):
        same_split(rep, visits, intents)
    if rep.errors:
        out("\n".join(rep.errors))
        out(f"{len(rep.errors)} problem(s)")
        return 1
    summarize_visits(visits)  # type: ignore[arg-type]
    summarize_intents(intents)  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
