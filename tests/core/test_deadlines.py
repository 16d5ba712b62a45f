"""Chinese deadline phrases, relative to Tuesday 10 November 2026 10:00 Shanghai."""

from __future__ import annotations

from datetime import datetime

import pytest

from core.deadlines import DeadlineError, cn_number, parse_deadline
from tests.conftest import SHANGHAI

NOW = datetime(2026, 11, 10, 10, 0, tzinfo=SHANGHAI)  # a Tuesday


def local(text: str, now: datetime = NOW) -> str:
    return parse_deadline(text, now, SHANGHAI).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12月5日前", "2026-12-05 18:00"),
        ("12月5号之前", "2026-12-05 18:00"),
        ("十二月五日", "2026-12-05 18:00"),
        ("2026年12月5日", "2026-12-05 18:00"),
        ("截止12月5日17点", "2026-12-05 17:00"),
        ("12月5日下午5点半", "2026-12-05 17:30"),
        ("12月5日 09:15", "2026-12-05 09:15"),
        ("本周五", "2026-11-13 18:00"),
        ("这周五前", "2026-11-13 18:00"),
        ("星期五", "2026-11-13 18:00"),
        ("下周一", "2026-11-16 18:00"),
        ("周日", "2026-11-15 18:00"),
        ("3天内", "2026-11-13 18:00"),
        ("三天内", "2026-11-13 18:00"),
        ("两周内", "2026-11-24 18:00"),
        ("5个工作日内", "2026-11-17 18:00"),
        ("1个月内", "2026-12-10 18:00"),
        ("今天", "2026-11-10 18:00"),
        ("明天", "2026-11-11 18:00"),
        ("明天下午5点", "2026-11-11 17:00"),
        ("明天上午十点", "2026-11-11 10:00"),
        ("后天晚上8点", "2026-11-12 20:00"),
        ("今天下午3点", "2026-11-10 15:00"),
        ("月底", "2026-11-30 18:00"),
        ("下月底", "2026-12-31 18:00"),
        ("2026-12-05", "2026-12-05 18:00"),
        ("2026/12/5", "2026-12-05 18:00"),
        ("2026-12-05 17:00", "2026-12-05 17:00"),
        ("2026-12-05T09:30", "2026-12-05 09:30"),
        ("１２月５日", "2026-12-05 18:00"),
        ("1月5日", "2027-01-05 18:00"),
        ("25日前", "2026-11-25 18:00"),
        ("5日前", "2026-12-05 18:00"),
    ],
)
def test_phrase_is_understood(text, expected):
    assert local(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "尽快", "abc", "13月5日", "2月30日", "12月5日25点", "x" * 80, "2026-13-01"],
)
def test_unclear_phrase_is_refused_with_how_to(text):
    with pytest.raises(DeadlineError) as err:
        parse_deadline(text, NOW, SHANGHAI)
    assert "12月5日前" in err.value.message


@pytest.mark.parametrize("text", ["11月9日", "今天上午9点", "2026-11-01", "上周一"])
def test_past_deadline_is_refused(text):
    with pytest.raises(DeadlineError) as err:
        parse_deadline(text, NOW, SHANGHAI)
    assert "过了" in err.value.message or "没看懂" in err.value.message


def test_this_friday_on_saturday_is_past():
    saturday = datetime(2026, 11, 14, 9, 0, tzinfo=SHANGHAI)
    with pytest.raises(DeadlineError, match="过了"):
        parse_deadline("本周五", saturday, SHANGHAI)
    assert local("周五", saturday) == "2026-11-20 18:00"


def test_month_end_in_december_rolls_the_year():
    dec = datetime(2026, 12, 20, 9, 0, tzinfo=SHANGHAI)
    assert local("下月底", dec) == "2027-01-31 18:00"
    assert local("1个月内", datetime(2027, 1, 31, 9, 0, tzinfo=SHANGHAI)) == "2027-02-28 18:00"


def test_more_than_a_year_ahead_is_refused():
    with pytest.raises(DeadlineError, match="太远"):
        parse_deadline("2028-01-01", NOW, SHANGHAI)


def test_result_is_utc():
    at = parse_deadline("明天下午5点", NOW, SHANGHAI)
    assert at.utcoffset().total_seconds() == 0 and at.hour == 9


@pytest.mark.parametrize(
    ("text", "n"), [("十", 10), ("十二", 12), ("二十五", 25), ("三", 3), ("31", 31)]
)
def test_chinese_numbers(text, n):
    assert cn_number(text) == n
