"""One-message visit reports -> household query + checklist (ok / problem / not checked)."""

from __future__ import annotations

import pytest

from handlers.visit_parse import describe, normalize, parse_report

OK, BAD = "ok", "problem"

# (message after 走访, household query, {check: status}); checks not listed must be absent.
CASES = [
    (
        "王三女 饮水正常 孩子都在上学 医保已交 房子屋顶漏雨",
        "王三女",
        {"water": OK, "education": OK, "medical": OK, "housing": BAD},
    ),
    ("王三女饮水正常", "王三女", {"water": OK}),
    (
        "李桂芳，吃水没问题，孩子辍学在家，医保已缴",
        "李桂芳",
        {"water": OK, "education": BAD, "medical": OK},
    ),
    ("張大山 飲水正常 醫保已交 房屋漏雨", "张大山", {"water": OK, "medical": OK, "housing": BAD}),
    ("陳秀英 孩子輟學 住房安全", "陈秀英", {"education": BAD, "housing": OK}),
    ("刘成 引水正常 医宝已交", "刘成", {"water": OK, "medical": OK}),
    ("赵德明 住方安全 低宝已享受", "赵德明", {"housing": OK, "security": OK}),
    ("孙小红 房屋漏语 孩子缀学", "孙小红", {"housing": BAD, "education": BAD}),
    ("HH0012 饮水正常", "HH0012", {"water": OK}),
    ("周建国 自来水停水三天 看病报销到位", "周建国", {"water": BAD, "medical": OK}),
    ("吴玉兰 吃穿不愁 收入稳定", "吴玉兰", {"income": OK}),
    ("郑海 收入不稳定 两人在外务工", "郑海", {"income": BAD, "employment": OK}),
    ("钱多多 贷款逾期 养殖分红已领到", "钱多多", {"credit": BAD, "industry": OK}),
    ("冯大伟 小额信贷未逾期 养老保险已交", "冯大伟", {"credit": OK, "security": OK}),
    ("何丽 墙体有裂缝 危房改造还没做", "何丽", {"housing": BAD}),
    (
        "高山 饮水安全；义务教育无辍学；基本医疗有保障；住房安全",
        "高山",
        {"water": OK, "education": OK, "medical": OK, "housing": OK},
    ),
    ("林木森 饮水水质浑浊", "林木森", {"water": BAD}),
    ("马小兵 慢性病没有签约家庭医生", "马小兵", {"medical": BAD}),
    ("朱老汉 没有参加医保", "朱老汉", {"medical": BAD}),
    ("胡春花 孩子在读书 助学金领到了", "胡春花", {"education": OK}),
    ("罗永 家里有人想找活 公益岗还没安排", "罗永", {"employment": BAD}),
    ("梁红 合作社分红没发", "梁红", {"industry": BAD}),
    ("宋江 低保没有纳入 残疾证已办", "宋江", {"security": BAD}),
    ("唐僧 住房没问题 饮水没问题", "唐僧", {"housing": OK, "water": OK}),
    (
        "韩梅梅、饮水正常、教育正常、医疗正常、住房正常",
        "韩梅梅",
        {"water": OK, "education": OK, "medical": OK, "housing": OK},
    ),
    ("曹操 屋顶漏水需要维修", "曹操", {"housing": BAD}),
    ("许仙 水管断了 吃水难", "许仙", {"water": BAD}),
    ("邓婆婆 一个人住 身体还行", "邓婆婆", {}),
    ("谢广坤 學生上學正常 醫療保險已參保", "谢广坤", {"education": OK, "medical": OK}),
    ("潘金莲 房子是危房", "潘金莲", {"housing": BAD}),
    ("田大壮   饮水正常   住房安全", "田大壮", {"water": OK, "housing": OK}),
    ("薛宝钗 饮水正长 上雪正常", "薛宝钗", {"water": OK, "education": OK}),
    ("欧阳锋 产业没有 种植收入少", "欧阳锋", {"industry": BAD}),
    ("石头 住房安全 住房屋顶漏雨", "石头", {"housing": BAD}),
]


@pytest.mark.parametrize(("text", "query", "checks"), CASES, ids=[c[1] for c in CASES])
def test_one_message_report_is_parsed_into_household_and_checks(text, query, checks):
    report = parse_report(text)
    assert report.query == query
    assert {k: v.status for k, v in report.checks.items()} == checks


def test_at_least_thirty_realistic_reports_are_covered():
    assert len(CASES) >= 30


def test_clause_that_names_no_check_is_kept_in_the_note():
    report = parse_report("邓婆婆 一个人住 身体还行")
    assert report.note == "一个人住 身体还行"
    assert report.unread == ("一个人住", "身体还行")


def test_problem_text_keeps_the_words_the_reporter_used():
    report = parse_report("王三女 房子屋顶漏雨")
    assert report.checks["housing"].text == "房子屋顶漏雨"


def test_two_clauses_on_one_check_keep_both_texts_as_written_and_problem_wins():
    report = parse_report("石头 住房安全 住房屋顶漏雨")
    assert report.checks["housing"].text == "住房安全 住房屋顶漏雨"


def test_traditional_characters_are_read_as_simplified():
    assert normalize("兩不愁三保障 脫貧") == "两不愁三保障 脱贫"


def test_empty_report_has_no_query():
    assert parse_report("  ").query == ""


def test_summary_lists_core_checks_not_given_as_not_checked():
    lines = describe({"water": {"status": "ok", "text": "饮水正常"}})
    assert lines[0] == "饮水安全：正常（饮水正常）"
    assert "义务教育：未查看" in lines
    assert len(lines) == 5
