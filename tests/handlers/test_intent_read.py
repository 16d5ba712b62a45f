"""The free-text reader on its own (handlers/intent_read.py): which rule fires, how sure."""

from __future__ import annotations

import dataclasses

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


def test_a_reading_close_to_its_rival_is_not_sure():
    # A household with checks AND a policy question: the question wins, well ahead.
    asked = read("唐勇家房子漏雨，能申请危房改造吗", Situation(VILLAGE))
    assert asked.intent == QUESTION and asked.sure and asked.rival < asked.confidence
    # A strong reading whose rival comes within the margin is asked about, not acted on.
    report = read("唐勇家吃水没问题，医保交了", Situation(VILLAGE))
    assert report.intent == VISIT and report.sure
    assert not dataclasses.replace(report, rival=report.confidence - 0.1).sure


def test_questions_with_only_the_works_own_words_are_asked_first():
    counted = read("这个月走访了多少户", Situation(VILLAGE))
    assert counted.intent == QUESTION and not counted.sure
    assert read("帮扶责任人一个月要走访几次", Situation(VILLAGE)).sure
    news = read("今天下村走访了6户", Situation(VILLAGE))
    assert not news.sure  # news with a work word is no terse policy topic
    assert read("危房改造", Situation(VILLAGE)).sure


def test_a_plan_naming_a_household_gets_its_help_not_a_card():
    plan = read("明天去唐勇家", Situation(VILLAGE))
    assert plan.intent == UNCLEAR and plan.bare_name and plan.households[0].head_name == "唐勇"


def test_a_name_with_a_checks_character_is_not_a_check():
    village = (*VILLAGE, HouseholdName(5, "DL-03-041", "叶水生"))
    reading = read("叶水生家入股的光伏今年分红到了", Situation(village))
    assert reading.intent == VISIT and reading.households[0].id == 5


def test_terse_topics_receipts_and_all_fine_reports():
    assert read("医保缴费标准", Situation(VILLAGE)).intent == QUESTION
    assert read("医保缴费标准", Situation(VILLAGE)).sure
    assert is_receipt(fold("好的我知道了")) and is_receipt(fold("已落实"))
    fine = read("罗大爷家去了，一切正常", Situation(VILLAGE))
    assert fine.intent == VISIT and fine.sure and fine.households[0].id == 4
