"""FAQ retrieval without a database: normalization, synonyms, the calibrated decision (answer /
suggest / refuse), scope, refusals, and the shipped FAQ's own phrasings mapping back to their
entries."""

from __future__ import annotations

from dataclasses import replace

import pytest

from services.faq_decide import CALIBRATED
from services.faq_file import SHIPPED, read_file
from services.faq_rank import FaqIndex
from services.faq_search import normalize
from storage.faq import FaqDTO
from tests.faqkit import analyzer, embedder, shipped_index


def test_normalize_converts_traditional_to_simplified():
    assert normalize("兩不愁三保障") == "两不愁三保障"
    assert normalize("脫貧戶 貧困戶 衛生室") == "脱贫户 贫困户 卫生室"


def test_normalize_turns_full_width_into_half_width_and_keeps_decimals():
    assert normalize("ＡＢＣ１２３") == "abc123"
    assert normalize("路宽３．５米，发生率２％。") == "路宽3.5米 发生率2%"


def test_normalize_drops_fillers_and_punctuation():
    text = normalize("请问一下，低保渐退多长时间呢？谢谢！")
    assert "请问" not in text and "一下" not in text and "谢谢" not in text
    assert "?" not in text and "？" not in text and "，" not in text
    assert analyzer().words(text) == analyzer().words("低保渐退多长时间")


def test_synonyms_map_to_one_canonical_word():
    words = analyzer().words
    assert words("诊所") == words("卫生室")
    assert words("乡村医生") == words("村医")
    assert words("摘帽") == words("出列") == words("退出")


def test_traditional_question_is_answered_like_the_simplified_one():
    index = shipped_index()
    assert index.search("兩不愁三保障是什麼").best.faq_id == "F001"
    assert index.search("貧困戶脫貧要什麼條件").best.faq_id == "F024"


def test_confident_question_is_answered_outright():
    result = shipped_index().search("请问低保渐退多长时间呢")
    assert result.decision == "answer"
    assert result.best is not None and result.best.faq_id == "F028"


def test_typo_still_matches_through_character_bigrams():
    result = shipped_index().search("低保渐推多长时间")
    assert result.decision == "answer" and result.best.faq_id == "F028"


def test_two_equally_good_entries_give_suggestions_not_an_answer():
    entries = [
        FaqDTO("A", "卫生室面积标准", "60平方米", ("卫生室要多大",), "文件一"),
        FaqDTO("B", "卫生室面积标准", "不少于60平方米", ("卫生室要多大",), "文件二"),
        FaqDTO("C", "低保渐退多长时间", "一年", (), "文件三"),
    ]
    index = FaqIndex.build(entries, analyzer(), embedder())
    result = index.search("卫生室的面积标准")
    assert result.decision == "suggest"
    assert {h.faq_id for h in result.hits} == {"A", "B"}


def test_low_confidence_question_is_not_answered():
    result = shipped_index().search("村里的光伏电站收益怎么分配给村民")
    assert result.decision == "unknown"


def test_thresholds_decide_between_answer_suggest_and_unknown():
    entries = read_file(SHIPPED)
    strict = replace(CALIBRATED, answer=1.01, suggest=0.05)
    result = FaqIndex.build(entries, analyzer(), embedder(), model=strict).search(
        "低保渐退多长时间"
    )
    assert result.decision == "suggest" and result.best.faq_id == "F028"
    nothing = replace(CALIBRATED, answer=1.01, suggest=1.01)
    result = FaqIndex.build(entries, analyzer(), embedder(), model=nothing).search(
        "低保渐退多长时间"
    )
    assert result.decision == "unknown" and result.hits == () and result.score > 0.9


def test_suggestion_menu_lists_only_entries_above_the_floor():
    index = shipped_index()
    for question in ("贫困县全部摘帽是哪个提法", "低保怎么申请", "村里路灯坏了找谁"):
        result = index.search(question)
        assert all(h.score >= CALIBRATED.suggest for h in result.hits), question
        if result.decision == "unknown":
            assert result.hits == ()


def test_colloquial_paraphrase_is_answered():
    result = shipped_index().search("孩子不上学了怎么办")
    assert result.decision == "answer" and result.best.faq_id == "F037"


def test_traditional_transition_period_question_is_not_answered_with_the_allowance_phase_out():
    index = shipped_index()
    for question in ("過渡期什麼時候結束", "过渡期什么时候结束"):
        result = index.search(question)
        assert result.best is None or result.best.faq_id != "F028", question
        assert result.decision == "answer" and result.best.faq_id == "F071", question


def test_county_entry_is_a_candidate_only_for_its_own_county():
    entries = [
        *read_file(SHIPPED),
        FaqDTO(
            "Q9", "本县光伏收益怎么分配", "按本县方案分配。", ("光伏电站收益分配",), county_id=7
        ),
    ]
    index = FaqIndex.build(entries, analyzer(), embedder())
    own = index.search("本县光伏收益怎么分配", county_id=7)
    assert own.decision == "answer" and own.best.faq_id == "Q9"
    for county in (8, None):
        other = index.search("本县光伏收益怎么分配", county_id=county)
        assert all(h.faq_id != "Q9" for h in other.hits)
        assert "Q9" not in index.ranked("本县光伏收益怎么分配", county).ids


@pytest.mark.parametrize(
    "question",
    [
        "明年房价会涨吗",
        "怎么包饺子",
        "A股今天收盘多少点",
        "下周会不会降温",
        "驾照怎么考",
        "红烧排骨的做法",
        "今天天氣怎麼樣",
        "比特币还能买吗",
    ],
)
def test_out_of_domain_chatter_gets_dont_know(question):
    assert shipped_index().search(question).decision == "unknown"


def test_empty_or_filler_only_question_gets_dont_know():
    assert shipped_index().search("请问一下呢？？").decision == "unknown"
    assert shipped_index().search("").hits == ()


def test_every_shipped_phrasing_ranks_its_own_entry_first_and_is_almost_always_answered():
    index = shipped_index()
    entries = read_file(SHIPPED)
    assert len(entries) >= 60
    phrasings = [(e.id, p) for e in entries for p in (e.question, *e.variants)]
    wrong, asked_back = [], []
    for faq_id, phrasing in phrasings:
        result = index.search(phrasing)
        if result.best is None or result.best.faq_id != faq_id:
            wrong.append((faq_id, phrasing, result.decision))
        elif result.decision != "answer":
            asked_back.append(phrasing)  # a sibling entry is plausible too: a menu, not a guess
    assert wrong == []
    assert len(asked_back) <= 0.03 * len(phrasings), asked_back


def test_shipped_entries_have_answers_sources_and_review_dates():
    for entry in read_file(SHIPPED):
        assert len(entry.variants) >= 2, entry.id
        assert entry.source and entry.reviewed_on and entry.tags, entry.id
        assert len(entry.answer) <= 200, entry.id


def test_example_figures_from_one_place_say_so_in_the_answer():
    # DOMAIN.md: one province's paths, one county-level city's student aid, one city's industry
    # standard, one county's visit count are examples, not national policy.
    answers = {e.id: e.answer for e in read_file(SHIPPED)}
    for faq_id in ("F006", "F035", "F036", "F045", "F049", "F067"):
        assert "（以某" in answers[faq_id] and "为例" in answers[faq_id], faq_id


def test_hospital_reimbursement_question_gets_the_locally_set_rule_not_one_stop_settlement():
    result = shipped_index().search("住院报销比例是多少")
    assert result.decision == "answer" and result.best.faq_id == "F075"
    assert "各地" in shipped_index().entries["F075"].answer
