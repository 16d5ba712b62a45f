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


@pytest.mark.parametrize(
    "text",
    [
        "何秀珍家去看了看，没啥变化",  # 没啥: negation, not 啥 the question word
        "王三女家去了，说是没什么困难",
        "村里危房改造的几户都完工了",  # 的几户都: "the few households"
        "这几天都在忙贫困户的慰问",
        "你们能不能别天天让报材料",  # a complaint, not a question
    ],
)
def test_question_words_used_in_statements_are_no_question(text):
    reading = read(text, Situation(households=VILLAGE))
    assert reading.intent != QUESTION or not reading.sure, reading


@pytest.mark.parametrize(
    "text",
    [
        "王三女家老人八十多了，有高龄补贴不",  # a yes/no question ending in 不
        "唐勇家贷款逾期会不会影响征信",  # A-not-A
        "我想问一下残疾人两项补贴的标准",  # a request to know
        "公益岗一年能干几年",  # 几 at the end of the clause
    ],
)
def test_questions_without_ma_are_questions(text):
    reading = read(text, Situation(households=VILLAGE))
    assert reading.intent == QUESTION and reading.sure, reading


def test_policy_words_in_news_are_not_a_question():
    news = read("今天全村低保都发下来了", Situation(households=VILLAGE))
    assert news.intent == UNCLEAR, news
    # Right after a push, a short piece of news may answer it: asked about, never acted on.
    reply = read("低保名单已核实", Situation(households=VILLAGE, push=True))
    assert reply.intent == ACK and not reply.sure, reply
    # A terse topic is still a query.
    assert read("低保渐退", Situation(households=VILLAGE)).intent == QUESTION


@pytest.mark.parametrize("text", ["好，我们村马上落实", "已经转发到村民群里了", "已知晓"])
def test_everyday_receipts_acknowledge_a_push(text):
    reading = read(text, Situation(households=VILLAGE, push=True))
    assert reading.intent == ACK and reading.sure, reading


def test_conflicting_evidence_is_asked_about_not_acted_on():
    situation = Situation(households=VILLAGE)
    # A plan that names checks: a report only if the user says so.
    plan = read("明天去唐勇家看看房子漏雨的事", situation)
    assert plan.intent == VISIT and not plan.sure, plan
    # A family's errand is no plan: 吃水要去半里外挑 stays a report.
    errand = read("唐勇家吃水要去半里外挑，太不方便了", situation)
    assert errand.intent == VISIT and errand.sure, errand
    # Policy words in a question about the app: asked first.
    app = read("低保户的照片怎么上传", situation)
    assert app.intent == QUESTION and not app.sure, app
    # A form's item and its answer is no question.
    form = read("王三女 是否辍学：否 饮水：正常", situation)
    assert form.intent == VISIT and form.sure, form


def test_inside_a_submission_done_words_and_task_questions_are_its_text():
    open_ = Situation(submission_open=True)
    for text in ("已落实，详见照片", "已转发到各组", "走访照片要几张？"):
        assert read(text, open_).intent == SUBMISSION, text
    assert read("过渡期到哪一年结束？", open_).intent == QUESTION
    assert read("收到", open_).intent == UNCLEAR
