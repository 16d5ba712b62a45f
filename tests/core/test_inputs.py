"""Properties of the edge's cleaning and bounded parsing (hypothesis, with shrinking), and the
deadline phrases of issue 11 that used to block the loop or overflow."""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.deadlines import MAX_AHEAD, DeadlineError, parse_deadline
from core.inputs import BadInput, int_id, load_json, nesting_depth
from core.text import clean_text, is_clean
from tests.fuzzkit import DEADLINE_BOMB, DEEP_LIST, DEEP_OBJECT, HOSTILE_TEXT, JSON_ANY, dumps

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 10, 10, 0, tzinfo=ZONE)


@given(HOSTILE_TEXT, st.integers(1, 200))
def test_clean_text_leaves_only_storable_normalised_text_within_the_limit(text, limit):
    out = clean_text(text, limit)
    assert len(out) <= limit
    out.encode("utf-8")  # no lone surrogate left
    assert "\x00" not in out
    assert all(c in "\n\t" or unicodedata.category(c) != "Cc" for c in out)
    assert unicodedata.is_normalized("NFC", out)
    assert is_clean(out)


def test_clean_text_keeps_chinese_newlines_and_tabs():
    assert clean_text("上报\t危房\r\n改造") == "上报\t危房\n改造"


@given(JSON_ANY)
def test_load_json_reads_back_what_it_accepts_or_refuses_with_bad_input(value):
    try:
        loaded = load_json(dumps(value))
    except BadInput:
        return  # NaN, infinity or an over-long integer: refused by design
    assert dumps(loaded) == dumps(value)


@given(st.text(max_size=300))
def test_load_json_raises_nothing_but_bad_input(raw):
    try:
        load_json(raw)
    except BadInput:
        pass


@pytest.mark.parametrize(
    "raw", [DEEP_LIST, DEEP_OBJECT, "[1e400]", "NaN", "[-Infinity]", "1" * 5000, b"\xff"]
)
def test_load_json_refuses_deep_huge_and_non_finite_input(raw):
    with pytest.raises(BadInput):
        load_json(raw)


def test_nesting_depth_ignores_brackets_inside_strings():
    assert nesting_depth('{"a": "[[[[{{{{", "b": ["\\"]"]}') == 2


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", 1), ("2147483647", 2**31 - 1), ("2147483648", None), ("123456789012", None),
     ("0", None), ("-1", None), ("٣", None), ("", None)],
)  # fmt: skip
def test_int_id_is_a_positive_32_bit_ascii_number(raw, expected):
    assert int_id(raw) == expected


@given(st.text(max_size=60))
def test_any_deadline_phrase_is_a_time_within_a_year_or_a_deadline_error(text):
    try:
        at = parse_deadline(text, NOW, ZONE)
    except DeadlineError as err:
        assert err.message
        return
    assert NOW < at <= NOW + MAX_AHEAD


@pytest.mark.parametrize(
    "phrase",
    [DEADLINE_BOMB, "3000000天", "九九九九九九九九九九九九九九九九九九个工作日", "99999999999周",
     "9999999个月", "400天", "300个工作日", "54周"],
)  # fmt: skip
def test_a_huge_count_is_refused_as_too_far_before_any_date_arithmetic(phrase):
    # The count is checked first: no loop over it (3,000,000 working days took ~3 s), no
    # OverflowError from timedelta.
    with pytest.raises(DeadlineError, match="太远"):
        parse_deadline(phrase, NOW, ZONE)


@pytest.mark.parametrize(("n", "days"), [(1, 1), (5, 7), (10, 14), (250, 350)])
def test_working_days_still_count_monday_to_friday(n, days):
    at = parse_deadline(f"{n}个工作日", NOW, ZONE)  # NOW is a Tuesday
    assert at.astimezone(ZONE).date() == (NOW + timedelta(days=days)).date()
