"""Does a change to the FAQ search leave its decisions on the dev split as they were?

    python bench/faq_same.py save /tmp/before.json     # on the code before the change
    python bench/faq_same.py check /tmp/before.json    # on the code after it: exit 1 if any differ

A speed change to services.faq_rank / faq_search / faq_embed must not change what a cadre gets.
This records, for every dev question (bench/faq_calibrate.py's ``load_sets("dev")``), what
``FaqIndex.search`` decides (answer / suggest / refuse, the entries shown and their P), and for
every dev scenario (the same questions, plus each in-domain question with its entry held out
of the index) the decision of the shipped model; ``check`` compares decision by decision and
prints the largest change of any P. Only the dev split is read (never ``test``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.faq_calibrate import decide, load_sets, probe, scenarios  # noqa: E402
from services.faq_decide import CALIBRATED  # noqa: E402
from services.faq_embed import Embedder  # noqa: E402
from services.faq_file import SHIPPED, read_file  # noqa: E402
from services.faq_rank import FaqIndex  # noqa: E402
from services.faq_search import Analyzer  # noqa: E402


def decisions() -> dict[str, list]:
    index = FaqIndex.build(read_file(SHIPPED), Analyzer.load(), Embedder.shared())
    items = load_sets("dev")
    searched = []
    for item in items:
        result = index.search(item.text)
        searched.append(
            [item.text, result.decision, [[h.faq_id, h.score] for h in result.hits], result.score]
        )
    order = list(index.entries)
    judged = []
    m = CALIBRATED
    for s in scenarios(index, probe(index, items)):
        p = m.probability(s.rows)
        out = decide(s, p, m.answer, m.suggest, m.margin)
        ranked = sorted(zip(p.tolist(), s.ids.tolist(), strict=True), key=lambda t: -t[0])
        judged.append([s.kind, s.group, out.decision, [[order[i], v] for v, i in ranked[:3]]])
    return {"search": searched, "scenarios": judged}


def compare(before: dict[str, list], after: dict[str, list]) -> int:
    """Print the differences; the number of changed decisions."""
    changed = 0
    worst = 0.0
    for name in ("search", "scenarios"):
        old, new = before[name], after[name]
        if len(old) != len(new):
            print(f"{name}: {len(old)} before, {len(new)} after: not the same questions")
            return max(1, abs(len(old) - len(new)))
        for a, b in zip(old, new, strict=True):
            if name == "search":
                key_a, key_b = (a[1], [h[0] for h in a[2]]), (b[1], [h[0] for h in b[2]])
                probs = [(x[1], y[1]) for x, y in zip(a[2], b[2], strict=False)] + [(a[3], b[3])]
            else:
                key_a, key_b = (a[2], [h[0] for h in a[3]]), (b[2], [h[0] for h in b[3]])
                probs = [(x[1], y[1]) for x, y in zip(a[3], b[3], strict=False)]
            worst = max([worst, *(abs(x - y) for x, y in probs)])
            if key_a != key_b:
                changed += 1
                print(f"{name} changed: {a[:2]}: {key_a} -> {key_b}")
        print(f"{name}: {len(old)} compared")
    print(f"decisions changed: {changed}; largest change of a P: {worst:.2e}")
    return changed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("action", choices=("save", "check"))
    ap.add_argument("path", type=Path)
    args = ap.parse_args()
    now = decisions()
    if args.action == "save":
        args.path.write_text(json.dumps(now, ensure_ascii=False), encoding="utf-8")
        print(f"saved {len(now['search'])} searches, {len(now['scenarios'])} scenarios")
        return
    before = json.loads(args.path.read_text(encoding="utf-8"))
    sys.exit(1 if compare(before, now) else 0)


if __name__ == "__main__":
    main()
