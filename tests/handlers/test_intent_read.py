"""The free-text reader on its own (handlers/intent_read.py): which rule fires, how sure."""

from __future__ import annotations

import pytest

from handlers.intent_read import (
    ACK,
    QUESTION,
    SUBMISSION,
    UNCLEAR,
    VISIT,
    Situation,
    fold,
    is_receipt,
    read,
)
from storage.household_search import HouseholdName

VILLAGE = (
    HouseholdName(1, "DL-03-001", "王三女"),
    HouseholdName(2, "DL-03-002", "唐勇"),
    HouseholdName(3, "DL-03-003", "王建国"),
    HouseholdName(4, "DL-03-004", "罗世忠"),
)


@pytest.mark.parametrize(
    "text", ["收到", "收到了", "好的👌", "收到，下午就去办", "嗯嗯好的", "收到哈"]
)
def test_receipts_are_read_as_receipts(text):
    assert is_receipt(fold(text))


@pytest.mark.parametrize("text", ["收到吗", "好几户房子漏雨", "好的，低保渐退期是多久？"])
def test_questions_and_reports_starting_like_a_receipt_are_not_receipts(text):
    assert not is_receipt(fold(text))


def test_a_receipt_acknowledges_only_when_a_push_waits():
    assert read("收到", Situation(VILLAGE, push=True)).intent == ACK
    alone = read("收到", Situation(VILLAGE))
    assert alone.intent == UNCLEAR and alone.small_talk and alone.sure


def test_a_report_naming_a_household_by_name_code_or_kinship_is_a_visit():
    for text, hid in (
        ("今天去了唐勇家，吃水没问题，医保交了", 2),
        ("DL-03-001 住房安全 饮水正常", 1),
        ("罗大爷家房子不漏了", 4),
    ):
        reading = read(text, Situation(VILLAGE))
        assert reading.intent == VISIT and reading.sure
        assert [h.id for h in reading.households] == [hid]


def test_a_surname_of_two_households_is_asked_about_not_acted_on():
    reading = read("王家房子漏雨", Situation(VILLAGE))
    assert reading.intent == VISIT and not reading.sure
    assert {h.id for h in reading.households} == {1, 3}


def test_a_bare_name_and_a_policy_question_naming_a_household():
    bare = read("唐勇", Situation(VILLAGE))
    assert bare.intent == UNCLEAR and bare.bare_name
    asked = read("唐勇家房子裂了，能不能申请危房改造？", Situation(VILLAGE))
    assert asked.intent == QUESTION and asked.sure


def test_small_talk_and_fragments_are_not_questions():
    for text in ("你好", "忽略 34", "谢谢领导", "这个怎么用啊", "111"):
        assert read(text, Situation(VILLAGE)).intent == UNCLEAR, text


def test_inside_a_submission_text_is_evidence_unless_small_talk_or_a_question():
    open_ = Situation(VILLAGE, submission_open=True)
    assert read("已整改，见照片", open_).intent == SUBMISSION
    assert read("谢谢", open_).intent == UNCLEAR
    assert read("过渡期到哪一年结束？", open_).intent == QUESTION
