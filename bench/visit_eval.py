"""Visit-report reading on the hand-written eval set (data/eval/visit_reports.yaml).

    .venv/bin/python bench/visit_eval.py            # every item, figures for dev and test
    .venv/bin/python bench/visit_eval.py --small    # the first 60 of each split (CI)
    .venv/bin/python bench/visit_eval.py --errors   # also list the DEV mistakes (never test's)
    .venv/bin/python bench/visit_eval.py --split dev --batch r3   # dev only, one batch only

Scoring (data/eval/README.md): a check is read right when the reader's status (ok / problem /
not said) equals the label, counted over every labelled check plus the checks the reader marks
that the label leaves out; an ``unclear`` check is right when the reader asks or leaves it not
said. The reader "records" only confident readings (Report.checks); a reading below the
threshold is "asked" (the confirm card asks about it). A false problem is a recorded
``problem`` on a check labelled ok, unclear or absent: it would open a rectification.

Rules and thresholds are tuned on dev only; test figures are reported, never looked into.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.checklist import CHECKS  # noqa: E402
from services.visit_reading import Report, read_report  # noqa: E402

DATA = Path(__file__).resolve().parent.parent / "data" / "eval" / "visit_reports.yaml"
REGISTRY = DATA.parent / "visit_households.yaml"
FIRST_ROUND = 423  # items of the file's first round (188 of them test); later ones were added
# The sender's village (as the service passes it): names are never read as check words.
NAMES: tuple[str, ...] = ()


@dataclass
class Score:
    reports: int = 0
    scored: int = 0  # labelled checks + checks the reader marks that the label leaves out
    right: int = 0
    cells: int = 0  # every check of every report (9 x reports)
    false_problems: int = 0
    reports_with_false_problem: int = 0
    problems: int = 0
    missed_problems: int = 0
    unclear: int = 0
    unclear_handled: int = 0
    unclear_asked: int = 0
    labelled: int = 0  # ok / problem labels
    asked_labelled: int = 0  # ... the reader asked about instead of recording
    numbers: int = 0
    numbers_kept: int = 0
    seconds: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _reader_status(report: Report, key: str) -> str:
    if key in report.checks:
        return report.checks[key].status
    return "asked" if key in report.readings else "none"


def _score_item(item: dict, score: Score) -> None:
    text = item["text"]
    t0 = time.perf_counter()
    report = read_report(text, NAMES)
    score.seconds.append(time.perf_counter() - t0)
    gold: dict[str, str] = dict(item.get("checks") or {})
    for key in item.get("unclear") or ():
        gold[key] = "unclear"
    score.reports += 1
    false_here = False
    wrong: list[str] = []
    for key in CHECKS:
        want, got = gold.get(key, "none"), _reader_status(report, key)
        score.cells += 1
        if want == "none" and got == "none":
            continue
        score.scored += 1
        if want == "unclear":
            score.unclear += 1
            handled = got in ("asked", "none")
            score.unclear_handled += handled
            score.unclear_asked += got == "asked"
            ok = handled
        else:
            ok = want == got
        if want in ("ok", "problem"):
            score.labelled += 1
            score.asked_labelled += got == "asked"
        if want == "problem":
            score.problems += 1
            score.missed_problems += got != "problem"
        if got == "problem" and want != "problem":
            score.false_problems += 1
            false_here = True
        score.right += ok
        if not ok:
            wrong.append(f"{key}: want {want}, got {got}")
    score.reports_with_false_problem += false_here
    kept_in = report.note + " " + " ".join(r.text for r in report.readings.values())
    for number in item.get("numbers") or ():
        score.numbers += 1
        score.numbers_kept += str(number) in kept_in
    if wrong:
        score.errors.append(f"{text}\n    " + "; ".join(wrong))


def _pct(a: int, b: int) -> str:
    return f"{100.0 * a / b:5.1f}%" if b else "  n/a "


def _print(split: str, s: Score) -> None:
    lat = sorted(s.seconds)
    p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))] if lat else 0.0
    print(f"== {split}: {s.reports} reports, {s.scored} scored checks")
    print(f"  checks read right          {_pct(s.right, s.scored)}  ({s.right}/{s.scored})")
    print(
        f"  false problems             {_pct(s.reports_with_false_problem, s.reports)} of reports,"
        f" {_pct(s.false_problems, s.cells)} of all checks ({s.false_problems}),"
        f" {_pct(s.false_problems, s.scored)} of scored checks"
    )
    print(
        f"  missed problems            {_pct(s.missed_problems, s.problems)}  ({s.missed_problems}/{s.problems})"
    )
    print(
        f"  unclear handled            {_pct(s.unclear_handled, s.unclear)}  ({s.unclear_handled}/{s.unclear},"
        f" asked {s.unclear_asked})"
    )
    print(
        f"  clear checks asked instead {_pct(s.asked_labelled, s.labelled)}  ({s.asked_labelled}/{s.labelled})"
    )
    print(
        f"  numbers kept verbatim      {_pct(s.numbers_kept, s.numbers)}  ({s.numbers_kept}/{s.numbers})"
    )
    if lat:
        mean_us = statistics.fmean(lat) * 1e6
        print(f"  latency per report         mean {mean_us:.0f} us, p99 {p99 * 1e6:.0f} us")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="the first 60 items of each split")
    parser.add_argument("--errors", action="store_true", help="list the dev mistakes")
    parser.add_argument("--split", choices=("dev", "test", "all"), default="all")
    parser.add_argument("--batch", help="only the items of this batch (data/eval/README.md)")
    args = parser.parse_args()
    items = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    global NAMES
    registry = yaml.safe_load(REGISTRY.read_text(encoding="utf-8"))
    NAMES = tuple(h["name"] for h in registry["households"])
    read_report("王三女 饮水正常")  # warm the converter (OpenCC builds its tables once)
    for split in ("dev", "test"):
        if args.split not in ("all", split):
            continue
        chosen = [i for i in items if i["split"] == split]
        if args.batch:
            chosen = [i for i in chosen if i.get("batch") == args.batch]
        if args.small:
            chosen = chosen[:60]
        score = Score()
        for item in chosen:
            _score_item(item, score)
        _print(split, score)
        if split == "test" and not args.small and not args.batch:
            # The first round's test items alone (the figure README reported before the
            # second round of items was written), for comparison.
            first = Score()
            for item in items[:FIRST_ROUND]:
                if item["split"] == "test":
                    _score_item(item, first)
            _print("test, first round only", first)
        if args.errors and split == "dev":
            print("\n".join(score.errors))


if __name__ == "__main__":
    main()
